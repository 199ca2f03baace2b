// HostArray against element-by-element index arithmetic done here, not by the class.
import { describe, expect, it } from 'vitest';
import { HostArray } from '../src/data/host_array.js';

describe('HostArray', () => {
  const hwc = HostArray.from(Array.from({ length: 2 * 3 * 4 }, (_, i) => i), { shape: [2, 3, 4], dtype: 'uint8' });

  it('transposes HWC to CHW by index arithmetic', () => {
    const chw = hwc.transpose([2, 0, 1]);
    expect(chw.shape).toEqual([4, 2, 3]);
    for (let c = 0; c < 4; c++)
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 3; w++) expect(chw.data[c * 6 + h * 3 + w]).toBe(hwc.data[h * 12 + w * 4 + c]);
    expect(chw.dtype).toBe('uint8');
  });

  it('reverses axes by default and accepts negative axes', () => {
    const m = HostArray.from([[1, 2, 3], [4, 5, 6]]);
    expect(m.transpose().toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(hwc.transpose([-1, 0, 1]).data).toEqual(hwc.transpose([2, 0, 1]).data);
    expect(() => hwc.transpose([0, 0, 1])).toThrow(/not a permutation of the 3 axes of \(2, 3, 4\)/);
  });

  it('casts and divides like NumPy (uint8 / 255 is float32)', () => {
    const img = new HostArray(Uint8Array.from([0, 51, 255]), [3]);
    const scaled = img.astype('float32').div(255);
    expect(scaled.dtype).toBe('float32');
    expect(Array.from(scaled.data)).toEqual([0, Math.fround(51 / 255), 1]);
    expect(img.div(255).dtype).toBe('float32');
    expect(Array.from(img.mul(2).data)).toEqual([0, 102, 254]); // uint8 wraps, as NumPy
    expect(img.mul(0.5).dtype).toBe('float32');
    expect(Array.from(HostArray.from([1.7, -1.7]).astype('int32').data)).toEqual([1, -1]);
  });

  it('reshapes as a view with one -1 and rejects wrong sizes', () => {
    const flat = hwc.reshape([-1]);
    expect(flat.shape).toEqual([24]);
    expect(flat.data).toBe(hwc.data);
    expect(hwc.reshape([4, -1]).shape).toEqual([4, 6]);
    expect(() => hwc.reshape([5, -1])).toThrow('cannot reshape (2, 3, 4) to (5, -1)');
    expect(() => hwc.reshape([-1, -1])).toThrow();
  });

  it('stacks along a new axis and names mismatched shapes', () => {
    const a = HostArray.from([1, 2]);
    const b = HostArray.from([3, 4]);
    const s = HostArray.stack([a, b]);
    expect(s.shape).toEqual([2, 2]);
    expect(s.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(() => HostArray.stack([a, HostArray.from([1, 2, 3])])).toThrow('(2,) (position 0) and (3,) (position 1)');
  });

  it('checks that data fits the shape, and splits rows', () => {
    expect(() => new HostArray(new Float32Array(5), [2, 3])).toThrow('shape (2, 3) needs 6 elements, but the data has 5');
    expect(hwc.row(1).toArray()).toEqual((hwc.toArray() as number[][][])[1]);
    expect(() => hwc.row(2)).toThrow(/row 2 is out of range/);
    expect(hwc.size).toBe(24);
  });
});
