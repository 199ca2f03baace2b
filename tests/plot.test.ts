// Plots and the bitmap font: valid PNGs of the requested size, lines where the data says, text that is
// drawn, nice ticks, degenerate series (one point, constants, NaN, Infinity), and image-pair figures.
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { glyphFor } from '../src/data/font.js';
import { formatTick, measureText, niceTicks, plotImagePairs, plotLossCurve, Raster } from '../src/data/plot.js';

type Decoded = { width: number; height: number; rgb: (x: number, y: number) => [number, number, number] };

function decode(png: Buffer): Decoded {
  const image = PNG.sync.read(png);
  return {
    width: image.width,
    height: image.height,
    rgb: (x, y) => {
      const i = (y * image.width + x) * 4;
      return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
    },
  };
}

/** Pixels matching `test`, as [x, y]. */
function find(image: Decoded, test: (r: number, g: number, b: number) => boolean): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) if (test(...image.rgb(x, y))) out.push([x, y]);
  }
  return out;
}

const isBlue = (r: number, g: number, b: number): boolean => b > 150 && b - r > 80;
const isOrange = (r: number, g: number, b: number): boolean => r > 200 && r - b > 120 && g > 80;
const isDark = (r: number, g: number, b: number): boolean => r < 80 && g < 80 && b < 80;
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('Raster and font', () => {
  it('covers digits, letters and the punctuation the plots use with real glyphs', () => {
    const missing = glyphFor('\u0001');
    const required = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.,:-+=()%/_#<>';
    const seen = new Set<string>();
    for (const char of required) {
      const glyph = glyphFor(char);
      const bits = JSON.stringify(glyph.rows);
      expect(bits, `glyph for ${char}`).not.toBe(JSON.stringify(missing.rows));
      expect(glyph.rows.flat().some(Boolean), `glyph for ${char} has ink`).toBe(true);
      seen.add(bits);
    }
    // No two characters share a bitmap (an "l" drawn as "1" or "O" as "0" would be unreadable).
    expect(seen.size).toBe(required.length);
    expect(glyphFor(' ').rows.flat().some(Boolean)).toBe(false);
  });

  it('draws text inside its measured box, horizontally and vertically', () => {
    for (const vertical of [false, true]) {
      const raster = new Raster(200, 200);
      const text = 'd=2.49 same';
      raster.drawText(10, 20, text, { scale: 2, vertical });
      const dark = find(decode(raster.toPng()), isDark);
      expect(dark.length).toBeGreaterThan(100);
      const { width, height } = measureText(text, 2);
      const [w, h] = vertical ? [height, width] : [width, height];
      const xs = dark.map((p) => p[0]);
      const ys = dark.map((p) => p[1]);
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(10);
      expect(Math.max(...xs)).toBeLessThan(10 + w);
      expect(Math.min(...ys)).toBeGreaterThanOrEqual(20);
      expect(Math.max(...ys)).toBeLessThan(20 + h);
      expect(Math.max(...(vertical ? ys : xs)) - Math.min(...(vertical ? ys : xs))).toBeGreaterThan(0.9 * width - 2);
    }
  });

  it('round-trips pixels through PNG and antialiases diagonal lines', () => {
    const raster = new Raster(40, 30, [10, 20, 30]);
    raster.setPixel(3, 4, [250, 0, 7]);
    raster.line(0, 0, 39, 29, [255, 255, 255], 1.5);
    const image = decode(raster.toPng());
    expect([image.width, image.height]).toEqual([40, 30]);
    expect(image.rgb(3, 4)).toEqual([250, 0, 7]);
    expect(image.rgb(39, 0)).toEqual([10, 20, 30]);
    const partial = find(image, (r) => r > 40 && r < 230);
    expect(partial.length).toBeGreaterThan(10);
    expect(image.rgb(20, 15)[0]).toBeGreaterThan(200);
  });
});

describe('niceTicks / formatTick', () => {
  it('picks 1, 2 or 5 × 10^k steps that cover the range', () => {
    for (const [lo, hi, count] of [[0, 2.7, 6], [0.013, 0.0171, 5], [-3, 1234, 8], [1e-6, 3e-5, 4], [5, 5.5, 10]] as const) {
      const { step, ticks } = niceTicks(lo, hi, count);
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `step ${step}`).toBe(true);
      expect(ticks[0]!).toBeLessThanOrEqual(lo + 1e-12);
      expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(hi - 1e-12);
      expect(ticks.length - 1).toBeLessThanOrEqual(count + 1);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
    }
    expect(niceTicks(0, 2.7, 6).ticks.map((t) => formatTick(t, 0.5))).toEqual(['0', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0']);
    expect(formatTick(2e-5, 5e-6)).toBe('2e-5');
    expect(formatTick(600, 100)).toBe('600');
  });
});

describe('plotLossCurve', () => {
  const decreasing = Array.from({ length: 200 }, (_, i) => 2 * Math.exp(-i / 40) + 0.1 * Math.sin(i));

  it('draws a line that follows the data at the requested size', () => {
    const image = decode(plotLossCurve(decreasing, { title: 'loss', xLabel: 'iteration', yLabel: 'loss', width: 640, height: 400 }));
    expect([image.width, image.height]).toEqual([640, 400]);
    const line = find(image, isBlue);
    expect(line.length).toBeGreaterThan(300);
    const xs = line.map((p) => p[0]);
    const [left, right] = [Math.min(...xs), Math.max(...xs)];
    expect(right - left).toBeGreaterThan(0.6 * 640);
    const third = (right - left) / 3;
    const firstThird = line.filter((p) => p[0] < left + third).map((p) => p[1]);
    const lastThird = line.filter((p) => p[0] > right - third).map((p) => p[1]);
    // A falling loss is drawn high on the left (small y) and low on the right.
    expect(mean(firstThird)).toBeLessThan(mean(lastThird) - 50);
    expect(find(image, isOrange)).toHaveLength(0);
  });

  it('draws the title, axis labels and tick labels as text', () => {
    const bare = find(decode(plotLossCurve(decreasing)), isDark);
    const labelled = find(decode(plotLossCurve(decreasing, { title: 'Contrastive loss', xLabel: 'iteration', yLabel: 'loss' })), isDark);
    expect(labelled.length).toBeGreaterThan(bare.length + 200);
    // Title above the plot, and the x label under the tick labels.
    const inTitleBand = (points: [number, number][]): number => points.filter((p) => p[1] < 40 && p[0] > 200 && p[0] < 600).length;
    // (Without a title the plot box's top edge runs through the band.)
    expect(inTitleBand(labelled)).toBeGreaterThan(inTitleBand(bare) + 100);
    const inLabelBand = (points: [number, number][]): number => points.filter((p) => p[1] > 470 && p[0] > 300 && p[0] < 560).length;
    expect(inLabelBand(labelled)).toBeGreaterThan(inLabelBand(bare) + 50);
    // Tick labels: dark pixels left of the plot box in the bare plot.
    expect(bare.filter((p) => p[0] < 40).length).toBeGreaterThan(100);
  });

  it('adds a moving average in another colour when asked', () => {
    const image = decode(plotLossCurve(decreasing, { smooth: 10 }));
    expect(find(image, isOrange).length).toBeGreaterThan(300);
    expect(find(image, isBlue).length).toBeGreaterThan(300);
  });

  it('handles one point, constant series, and NaN or Infinity values', () => {
    for (const series of [[3.14], [2, 2, 2, 2], [{ x: 5, y: -1 }], [1, Number.NaN, 0.5, Infinity, 0.25, -Infinity, 0.1]]) {
      const image = decode(plotLossCurve(series, { width: 300, height: 200, smooth: true }));
      expect([image.width, image.height]).toEqual([300, 200]);
      expect(find(image, isBlue).length, JSON.stringify(series)).toBeGreaterThan(8);
    }
    const constant = find(decode(plotLossCurve([2, 2, 2, 2, 2, 2])), isBlue).map((p) => p[1]);
    expect(Math.max(...constant) - Math.min(...constant)).toBeLessThanOrEqual(3);
    const nothing = decode(plotLossCurve([Number.NaN, Infinity], { title: 't' }));
    expect(find(nothing, isBlue)).toHaveLength(0);
    expect(find(decode(plotLossCurve([])), isDark).length).toBeGreaterThan(0);
  });
});

describe('plotImagePairs', () => {
  const h = 20;
  const w = 30;
  const black = new Uint8Array(h * w);
  const white = new Float32Array(h * w).fill(1);

  it('lays out pairs side by side in a grid, with the images and coloured captions', () => {
    const pairs = [
      { a: black, b: white, h, w, distance: 2.494767, label: 0 },
      { a: white, b: black, h, w, distance: 5.1, label: 1 },
      { a: black, b: black, h, w, distance: 0.1, label: 0 },
    ];
    const png = plotImagePairs(pairs, { columns: 2, scale: 3 });
    const image = decode(png);
    expect(image.width).toBeGreaterThan(2 * 2 * w * 3);
    expect(image.height).toBeGreaterThan(2 * h * 3);
    expect(image.height).toBeLessThan(image.width);
    const dark = find(image, isDark);
    // Three black images of 60×90 pixels, plus caption text.
    expect(dark.length).toBeGreaterThan(3 * 60 * 90);
    const green = find(image, (r, g, b) => g > 100 && g - r > 60 && g - b > 60);
    const red = find(image, (r, g, b) => r > 150 && r - g > 100 && r - b > 100);
    expect(green.length).toBeGreaterThan(30);
    expect(red.length).toBeGreaterThan(30);
    // The first cell's left image is black and its right image white.
    const inBlock = (p: [number, number], left: number): boolean => p[0] >= left && p[0] < left + w * 3 && p[1] < 10 + h * 3;
    expect(dark.filter((p) => inBlock(p, 10)).length).toBeGreaterThan(0.95 * 60 * 90);
    expect(dark.filter((p) => inBlock(p, 10 + w * 3 + 8)).length).toBeLessThan(0.05 * 60 * 90);
  });

  it('reads 0..255 floats and 0..1 floats alike, and rejects images of the wrong size', () => {
    const gray255 = new Float32Array(h * w).fill(255);
    const a = decode(plotImagePairs([{ a: gray255, b: white, h, w, distance: 1, label: 1 }]));
    expect(find(a, isDark).length).toBeLessThan(400); // only the caption is dark
    expect(() => plotImagePairs([{ a: black, b: new Uint8Array(5), h, w, distance: 1, label: 0 }])).toThrow(/pair 0 image b has 5 values/);
    expect(() => plotImagePairs([])).toThrow(/at least one pair/);
  });
});
