// Image to network input without files or the GPU: an HxWx1 uint8 image (0..255) becomes a 1xSxS
// float32 HostArray in [0, 1], as the Siamese tutorial's transform does. Used by the browser demo.

import { HostArray, formatShape } from './host_array.js';

/**
 * HxWx1 uint8 → 1xSxS float32 in [0, 1]; S < H averages blocks of pixels (area resampling) so that
 * thin strokes survive a smaller image, S > H repeats them.
 */
export function toChw(image: HostArray, size = image.shape[0]): HostArray {
  const [h, w, c] = image.shape;
  if (image.shape.length !== 3 || c !== 1) throw new Error(`webgluon: toChw takes an HxWx1 image, got shape ${formatShape(image.shape)}`);
  const src = image.data;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const y0 = (y * h) / size;
    const y1 = ((y + 1) * h) / size;
    for (let x = 0; x < size; x++) {
      const x0 = (x * w) / size;
      const x1 = ((x + 1) * w) / size;
      let sum = 0;
      let area = 0;
      for (let sy = Math.floor(y0); sy < Math.ceil(y1); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.ceil(x1); sx++) {
          const wx = Math.min(x1, sx + 1) - Math.max(x0, sx);
          sum += wy * wx * src[sy * w + sx];
          area += wy * wx;
        }
      }
      out[y * size + x] = sum / area / 255;
    }
  }
  return new HostArray(out, [1, size, size]);
}
