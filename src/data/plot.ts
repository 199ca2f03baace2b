// Plots drawn without a canvas library: an RGB raster with antialiased lines and bitmap text (font.ts),
// and the two figures of the examples: a loss curve, and image pairs captioned with their distance.
import { PNG } from 'pngjs';
import { CAP_HEIGHT, FONT_HEIGHT, LETTER_SPACING, glyphFor, textWidth } from './font.js';

export type Color = readonly [number, number, number];

export const WHITE: Color = [255, 255, 255];
export const BLACK: Color = [0, 0, 0];
const GRAY: Color = [120, 120, 120];
const GRID: Color = [230, 230, 230];
const BLUE: Color = [31, 119, 180];
const ORANGE: Color = [255, 127, 14];
const GREEN: Color = [30, 140, 30];
const RED: Color = [200, 30, 30];

export interface TextOptions {
  scale?: number;
  color?: Color;
  /** Rotated a quarter turn counter-clockwise, reading upwards (a y-axis label); (x, y) is still its top-left. */
  vertical?: boolean;
}

/** Size in pixels of `text` drawn at `scale`, as laid out horizontally. */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  return { width: textWidth(text) * scale, height: FONT_HEIGHT * scale };
}

export class Raster {
  /** RGB, row-major, 3 bytes per pixel. */
  readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Color = WHITE,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`webgluon: Raster size must be positive integers, got ${width}x${height}`);
    }
    this.pixels = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, color: Color): void {
    this.blendPixel(x, y, color, 1);
  }

  getPixel(x: number, y: number): Color {
    const i = (y * this.width + x) * 3;
    return [this.pixels[i]!, this.pixels[i + 1]!, this.pixels[i + 2]!];
  }

  /** Mixes `color` into the pixel with weight `alpha` in [0, 1]; pixels outside the raster are ignored. */
  blendPixel(x: number, y: number, color: Color, alpha: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || !(alpha > 0)) return;
    const a = Math.min(1, alpha);
    const i = (y * this.width + x) * 3;
    for (let c = 0; c < 3; c++) this.pixels[i + c] = Math.round(this.pixels[i + c]! * (1 - a) + color[c]! * a);
  }

  fillRect(x: number, y: number, w: number, h: number, color: Color): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.setPixel(px, py, color);
  }

  strokeRect(x: number, y: number, w: number, h: number, color: Color): void {
    this.fillRect(x, y, w, 1, color);
    this.fillRect(x, y + h - 1, w, 1, color);
    this.fillRect(x, y, 1, h, color);
    this.fillRect(x + w - 1, y, 1, h, color);
  }

  line(x0: number, y0: number, x1: number, y1: number, color: Color, width = 1): void {
    this.polyline([[x0, y0], [x1, y1]], color, width);
  }

  /**
   * An antialiased polyline of `width` pixels through points in pixel coordinates (pixel (x, y) covers
   * [x, x+1)). Coverage is the maximum over segments, so joints are not painted twice.
   */
  polyline(points: readonly (readonly [number, number])[], color: Color, width = 1): void {
    if (points.length === 0) return;
    const half = width / 2;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const left = Math.max(0, Math.floor(Math.min(...xs) - half - 1));
    const top = Math.max(0, Math.floor(Math.min(...ys) - half - 1));
    const right = Math.min(this.width - 1, Math.ceil(Math.max(...xs) + half + 1));
    const bottom = Math.min(this.height - 1, Math.ceil(Math.max(...ys) + half + 1));
    if (right < left || bottom < top) return;
    const spanX = right - left + 1;
    const coverage = new Float32Array(spanX * (bottom - top + 1));
    const segments = points.length === 1 ? [[points[0]!, points[0]!]] : points.slice(1).map((p, i) => [points[i]!, p]);
    for (const [[ax, ay], [bx, by]] of segments as [readonly [number, number], readonly [number, number]][]) {
      const dx = bx - ax;
      const dy = by - ay;
      const lengthSquared = dx * dx + dy * dy;
      const x0 = Math.max(left, Math.floor(Math.min(ax, bx) - half - 1));
      const x1 = Math.min(right, Math.ceil(Math.max(ax, bx) + half + 1));
      const y0 = Math.max(top, Math.floor(Math.min(ay, by) - half - 1));
      const y1 = Math.min(bottom, Math.ceil(Math.max(ay, by) + half + 1));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5 - ax;
          const py = y + 0.5 - ay;
          const t = lengthSquared > 0 ? Math.min(1, Math.max(0, (px * dx + py * dy) / lengthSquared)) : 0;
          const distance = Math.hypot(px - t * dx, py - t * dy);
          const cover = Math.min(1, half + 0.5 - distance);
          const k = (y - top) * spanX + (x - left);
          if (cover > coverage[k]!) coverage[k] = cover;
        }
      }
    }
    coverage.forEach((cover, k) => {
      if (cover > 0) this.blendPixel(left + (k % spanX), top + Math.floor(k / spanX), color, cover);
    });
  }

  /** Draws `text` with its top-left corner at (x, y); returns the width drawn (the height when vertical). */
  drawText(x: number, y: number, text: string, options: TextOptions = {}): number {
    const scale = Math.max(1, Math.round(options.scale ?? 1));
    const color = options.color ?? BLACK;
    const length = textWidth(text) * scale;
    let pen = 0;
    for (const char of text) {
      const glyph = glyphFor(char);
      glyph.rows.forEach((row, gy) =>
        row.forEach((ink, gx) => {
          if (!ink) return;
          // Vertical text: the horizontal layout turned a quarter counter-clockwise inside the same top-left.
          const px = options.vertical ? x + gy * scale : x + (pen + gx) * scale;
          const py = options.vertical ? y + length - (pen + gx + 1) * scale : y + gy * scale;
          this.fillRect(px, py, scale, scale, color);
        }),
      );
      pen += glyph.width + LETTER_SPACING;
    }
    return length;
  }

  /** Draws an h×w gray image (values 0..range, 0 = black) at (x, y), each pixel a `scale`×`scale` block. */
  drawGray(x: number, y: number, image: ArrayLike<number>, h: number, w: number, range: number, scale = 1): void {
    for (let iy = 0; iy < h; iy++) {
      for (let ix = 0; ix < w; ix++) {
        const value = Math.round(Math.min(1, Math.max(0, (image[iy * w + ix]! || 0) / range)) * 255);
        this.fillRect(x + ix * scale, y + iy * scale, scale, scale, [value, value, value]);
      }
    }
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height, colorType: 2, inputColorType: 2, bitDepth: 8 });
    png.data = Buffer.from(this.pixels.buffer, this.pixels.byteOffset, this.pixels.byteLength);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 2, bitDepth: 8 });
  }
}

/** Ticks at multiples of 1, 2 or 5 × 10^k covering [lo, hi] with at most about `maxCount` intervals. */
export function niceTicks(lo: number, hi: number, maxCount: number): { step: number; ticks: number[] } {
  const raw = (hi - lo) / Math.max(1, maxCount);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw * (1 - 1e-9)) ?? 10) * magnitude;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(i * step);
  return { step, ticks };
}

/** A tick label with as many decimals as the step needs; exponent form for very large or small values. */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-6) return '0';
  const largest = Math.max(Math.abs(value), step);
  if (largest >= 1e7 || step < 1e-4) return Number(value.toPrecision(3)).toExponential().replace('+', '');
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return value.toFixed(decimals);
}

export interface LossCurveOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Also draw a trailing moving average: `true` picks a window of about 1/20 of the points. */
  smooth?: boolean | number;
  /** Legend name of the raw line when a moving average is drawn. */
  label?: string;
}

/** One point of a curve; a bare number series uses its index as x. */
export interface CurvePoint {
  x: number;
  y: number;
}

/** Centred moving average (the trend under each point, not a lagging one); non-finite points are skipped. */
function movingAverage(points: CurvePoint[], window: number): CurvePoint[] {
  const before = Math.floor((window - 1) / 2);
  return points.map((p, i) => {
    const near = points.slice(Math.max(0, i - before), i - before + window).filter((q) => Number.isFinite(q.y));
    const y = near.length > 0 ? near.reduce((sum, q) => sum + q.y, 0) / near.length : Number.NaN;
    return { x: p.x, y };
  });
}

function dataRange(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (values.length === 0) [lo, hi] = [0, 1];
  if (hi - lo <= Math.abs(hi) * 1e-12) {
    // One value: open a window around it so that it gets ticks and sits mid-axis.
    const pad = Math.abs(hi) > 0 ? Math.abs(hi) * 0.1 : 1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** Splits a series where it is not finite: NaN and ±Infinity are gaps, not crashes. */
function finiteRuns(points: CurvePoint[]): CurvePoint[][] {
  const runs: CurvePoint[][] = [[]];
  for (const p of points) {
    if (Number.isFinite(p.x) && Number.isFinite(p.y)) runs[runs.length - 1]!.push(p);
    else if (runs[runs.length - 1]!.length > 0) runs.push([]);
  }
  return runs.filter((run) => run.length > 0);
}

export function plotLossCurve(points: CurvePoint[] | number[], options: LossCurveOptions = {}): Buffer {
  const { title = '', xLabel = '', yLabel = '', width = 800, height = 500 } = options;
  const series: CurvePoint[] = points.map((p, i) => (typeof p === 'number' ? { x: i, y: p } : p));
  const window = options.smooth === true ? Math.max(2, Math.round(series.length / 20)) : Number(options.smooth || 0);
  const smoothed = window >= 2 ? movingAverage(series, Math.round(window)) : undefined;
  const finite = series.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));

  const raster = new Raster(width, height);
  const scale = width >= 480 && height >= 300 ? 2 : 1;
  const titleScale = scale + 1;
  const textHeight = CAP_HEIGHT * scale;
  const gap = 4 * scale;

  const [ylo, yhi] = dataRange(finite.map((p) => p.y));
  const [xlo, xhi] = dataRange(finite.map((p) => p.x));
  const yAxis = niceTicks(ylo, yhi, Math.max(2, Math.min(8, Math.floor(height / (textHeight * 5)))));
  const yLabels = yAxis.ticks.map((t) => formatTick(t, yAxis.step));
  const yLabelWidth = Math.max(...yLabels.map((l) => measureText(l, scale).width));

  const top = gap * 2 + (title ? FONT_HEIGHT * titleScale + gap : 0);
  const left = gap * 2 + (yLabel ? FONT_HEIGHT * scale + gap : 0) + yLabelWidth + gap + 4;
  const bottom = height - (gap * 2 + (xLabel ? FONT_HEIGHT * scale + gap : 0) + FONT_HEIGHT * scale + gap + 4);
  const right = width - gap * 2 - measureText(formatTick(xhi, 1), scale).width / 2;
  const plotWidth = Math.max(1, right - left);
  const plotHeight = Math.max(1, bottom - top);

  // Fewer x ticks until their labels leave room between them.
  let xAxis = niceTicks(xlo, xhi, 10);
  let xLabels = xAxis.ticks.map((t) => formatTick(t, xAxis.step));
  for (let count = 9; count >= 1; count--) {
    const widest = Math.max(...xLabels.map((l) => measureText(l, scale).width));
    if ((plotWidth / Math.max(1, xAxis.ticks.length - 1)) >= widest + 3 * gap) break;
    xAxis = niceTicks(xlo, xhi, count);
    xLabels = xAxis.ticks.map((t) => formatTick(t, xAxis.step));
  }

  const [x0, x1] = [xAxis.ticks[0]!, xAxis.ticks[xAxis.ticks.length - 1]!];
  const [y0, y1] = [yAxis.ticks[0]!, yAxis.ticks[yAxis.ticks.length - 1]!];
  const toX = (x: number): number => left + ((x - x0) / (x1 - x0)) * plotWidth;
  const toY = (y: number): number => bottom - ((y - y0) / (y1 - y0)) * plotHeight;

  yAxis.ticks.forEach((tick, i) => {
    const py = Math.round(toY(tick));
    raster.fillRect(left, py, plotWidth, 1, GRID);
    raster.fillRect(left - 4, py, 4, 1, BLACK);
    const label = yLabels[i]!;
    raster.drawText(left - 6 - measureText(label, scale).width, py - Math.floor(textHeight / 2), label, { scale });
  });
  xAxis.ticks.forEach((tick, i) => {
    const px = Math.round(toX(tick));
    raster.fillRect(px, top, 1, plotHeight, GRID);
    raster.fillRect(px, bottom, 1, 4, BLACK);
    const label = xLabels[i]!;
    raster.drawText(px - Math.floor(measureText(label, scale).width / 2), bottom + 6, label, { scale });
  });
  raster.strokeRect(left, top, plotWidth + 1, plotHeight + 1, BLACK);

  const draw = (data: CurvePoint[], color: Color, lineWidth: number): void => {
    for (const run of finiteRuns(data)) {
      const pixels = run.map((p) => [toX(p.x) + 0.5, toY(p.y) + 0.5] as const);
      raster.polyline(pixels, color, run.length === 1 ? lineWidth + 5 : lineWidth);
    }
  };
  draw(series, BLUE, smoothed ? 1.5 : 2);
  if (smoothed) draw(smoothed, ORANGE, 2.5);

  if (title) {
    const titleWidth = measureText(title, titleScale).width;
    raster.drawText(Math.max(gap, Math.round((width - titleWidth) / 2)), gap * 2, title, { scale: titleScale });
  }
  if (xLabel) {
    const labelWidth = measureText(xLabel, scale).width;
    const labelTop = height - gap * 2 - FONT_HEIGHT * scale;
    raster.drawText(Math.round(left + (plotWidth - labelWidth) / 2), labelTop, xLabel, { scale });
  }
  if (yLabel) {
    const labelLength = measureText(yLabel, scale).width;
    raster.drawText(gap * 2, Math.round(top + (plotHeight - labelLength) / 2), yLabel, { scale, vertical: true });
  }
  if (finite.length === 0) {
    const note = 'no finite values';
    const noteWidth = measureText(note, scale).width;
    const noteLeft = Math.round(left + (plotWidth - noteWidth) / 2);
    raster.drawText(noteLeft, Math.round(top + plotHeight / 2), note, { scale, color: GRAY });
  }
  if (smoothed) {
    const entries: [string, Color][] = [
      [options.label ?? (yLabel || 'value'), BLUE],
      [`moving average (${Math.round(window)})`, ORANGE],
    ];
    const boxWidth = Math.max(...entries.map(([name]) => measureText(name, scale).width)) + 30 + 3 * gap;
    const boxLeft = left + plotWidth - boxWidth - gap;
    raster.fillRect(boxLeft, top + gap, boxWidth, entries.length * (textHeight + 2 * gap) + gap, WHITE);
    raster.strokeRect(boxLeft, top + gap, boxWidth, entries.length * (textHeight + 2 * gap) + gap, GRAY);
    entries.forEach(([name, color], i) => {
      const rowY = top + 2 * gap + i * (textHeight + 2 * gap);
      raster.line(boxLeft + gap, rowY + textHeight / 2, boxLeft + gap + 24, rowY + textHeight / 2, color, 2.5);
      raster.drawText(boxLeft + 2 * gap + 30, rowY, name, { scale });
    });
  }
  return raster.toPng();
}

export interface ImagePair {
  /** h×w grayscale, row-major; 0 is black. */
  a: Float32Array | Uint8Array;
  b: Float32Array | Uint8Array;
  h: number;
  w: number;
  distance: number;
  /** The tutorial's convention: 0 = same class, 1 = different. */
  label: number;
}

export interface ImagePairsOptions {
  columns?: number;
  /** Each image pixel becomes scale×scale pixels. */
  scale?: number;
  /** The value of white: 1 or 255. Default: 255 for Uint8Array; for Float32Array, 255 if any value exceeds 1. */
  range?: number;
}

function whiteValue(image: Float32Array | Uint8Array, range: number | undefined): number {
  if (range !== undefined) return range;
  if (image instanceof Uint8Array) return 255;
  for (const v of image) if (v > 1) return 255;
  return 1;
}

/** A grid of cells, each image a beside image b, captioned "d=2.49 same" or "d=5.10 diff". */
export function plotImagePairs(pairs: ImagePair[], options: ImagePairsOptions = {}): Buffer {
  if (pairs.length === 0) throw new Error('webgluon: plotImagePairs needs at least one pair');
  pairs.forEach((pair, i) => {
    for (const [name, image] of [['a', pair.a], ['b', pair.b]] as const) {
      if (image.length !== pair.h * pair.w) {
        throw new Error(
          `webgluon: plotImagePairs: pair ${i} image ${name} has ${image.length} values, ` +
            `expected h×w = ${pair.h}×${pair.w}`,
        );
      }
    }
  });
  const scale = Math.max(1, Math.round(options.scale ?? 1));
  const columns = Math.max(1, Math.min(pairs.length, Math.round(options.columns ?? 2)));
  const rows = Math.ceil(pairs.length / columns);
  const imageW = Math.max(...pairs.map((p) => p.w)) * scale;
  const imageH = Math.max(...pairs.map((p) => p.h)) * scale;
  const pad = 10;
  const between = 8;
  const captions = pairs.map((p) => {
    const distance = Number.isFinite(p.distance) ? p.distance.toFixed(2) : String(p.distance);
    return [`d=${distance} `, p.label === 0 ? 'same' : 'diff'] as const;
  });
  const cellContentWidth = 2 * imageW + between;
  const widestCaption = Math.max(...captions.map(([d, word]) => textWidth(d + word)));
  const textScale = Math.max(1, Math.min(scale + 1, Math.floor(cellContentWidth / Math.max(1, widestCaption))));
  const cellW = cellContentWidth + 2 * pad;
  const cellH = imageH + 2 * pad + FONT_HEIGHT * textScale + pad;
  const raster = new Raster(columns * cellW + 1, rows * cellH + 1);

  pairs.forEach((pair, i) => {
    const cellX = (i % columns) * cellW;
    const cellY = Math.floor(i / columns) * cellH;
    raster.strokeRect(cellX, cellY, cellW + 1, cellH + 1, GRID);
    [pair.a, pair.b].forEach((image, k) => {
      const x = cellX + pad + k * (imageW + between);
      raster.drawGray(x, cellY + pad, image, pair.h, pair.w, whiteValue(image, options.range), scale);
      // A frame, because Omniglot's white background would otherwise melt into the page.
      raster.strokeRect(x - 1, cellY + pad - 1, pair.w * scale + 2, pair.h * scale + 2, GRAY);
    });
    const [distance, word] = captions[i]!;
    const captionWidth = textWidth(distance + word) * textScale;
    const captionX = cellX + Math.round((cellW - captionWidth) / 2);
    const captionY = cellY + pad + imageH + pad;
    const drawn = raster.drawText(captionX, captionY, distance, { scale: textScale });
    raster.drawText(captionX + drawn + LETTER_SPACING * textScale, captionY, word, {
      scale: textScale,
      color: pair.label === 0 ? GREEN : RED,
    });
  });
  return raster.toPng();
}
