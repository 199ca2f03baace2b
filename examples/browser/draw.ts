// The demo page's pictures on 2D canvases: the loss curve, image pairs with their distance, the
// row of one-shot characters, and the drawing pad turned into an image for the network.
import { context2d, type CanvasLike, type Context2D, type PointerEventLike } from './dom.js';

export function drawLossCurve(canvas: CanvasLike, losses: readonly number[]): void {
  const g = context2d(canvas);
  const { width: w, height: h } = canvas;
  const left = 44;
  const bottom = 22;
  g.clearRect(0, 0, w, h);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#666';
  g.strokeStyle = '#ccc';
  g.strokeRect(left, 4, w - left - 6, h - bottom - 4);
  if (losses.length === 0) return;
  const top = Math.max(...losses) * 1.05 || 1;
  const x = (i: number) => left + ((w - left - 8) * i) / Math.max(1, losses.length - 1);
  const y = (v: number) => 4 + (h - bottom - 8) * (1 - v / top);
  for (const v of [0, top / 2, top]) g.fillText(v.toFixed(v >= 10 ? 0 : 2), 4, y(v) + 4);
  g.fillText(`step ${losses.length}`, w - 60, h - 6);
  g.fillText('0', left, h - 6);
  const line = (values: readonly number[], color: string, width: number) => {
    g.strokeStyle = color;
    g.lineWidth = width;
    g.beginPath();
    values.forEach((v, i) => (i ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v))));
    g.stroke();
  };
  line(losses, '#9ec5ee', 1);
  let ema = losses[0];
  line(losses.map((v) => (ema = 0.8 * ema + 0.2 * v)), '#1f5fa8', 2);
  g.lineWidth = 1;
}

/** A 1×S×S image in [0, 1] (1 = paper) at (x, y), `scale` pixels per pixel. */
export function drawImage(g: Context2D, image: Float32Array, size: number, x: number, y: number, scale: number): void {
  const data = g.createImageData(size * scale, size * scale);
  for (let r = 0; r < size * scale; r++) {
    for (let c = 0; c < size * scale; c++) {
      const v = Math.round(255 * image[Math.floor(r / scale) * size + Math.floor(c / scale)]);
      const k = 4 * (r * size * scale + c);
      data.data[k] = data.data[k + 1] = data.data[k + 2] = v;
      data.data[k + 3] = 255;
    }
  }
  g.putImageData(data, x, y);
}

export interface ShownPair {
  a: Float32Array;
  b: Float32Array;
  label: number;
  distance: number | null;
}

/** Pairs in rows of four, each framed green (same character) or red, with its distance below. */
export function drawPairs(canvas: CanvasLike, pairs: readonly ShownPair[], size: number): void {
  const scale = Math.max(1, Math.floor(64 / size));
  const cell = size * scale;
  const columns = 4;
  canvas.width = columns * (2 * cell + 16) + 4;
  canvas.height = Math.ceil(pairs.length / columns) * (cell + 32);
  const g = context2d(canvas);
  g.clearRect(0, 0, canvas.width, canvas.height);
  pairs.forEach((p, i) => {
    const x = (i % columns) * (2 * cell + 16) + 4;
    const y = Math.floor(i / columns) * (cell + 40) + 4;
    drawImage(g, p.a, size, x, y, scale);
    drawImage(g, p.b, size, x + cell + 2, y, scale);
    g.strokeStyle = p.label === 0 ? '#2a9d3a' : '#c0392b';
    g.lineWidth = 2;
    g.strokeRect(x - 1, y - 1, 2 * cell + 4, cell + 2);
    g.fillStyle = '#222';
    g.font = '12px system-ui, sans-serif';
    g.fillText(`${p.label === 0 ? 'same' : 'diff'}  d = ${p.distance === null ? '…' : p.distance.toFixed(2)}`, x, y + cell + 16);
  });
}

/** The one-shot row: the characters, the nearest framed, each with its distance to the drawing. */
export function drawReferences(canvas: CanvasLike, images: readonly Float32Array[], size: number, nearest: number | null, distances: readonly number[] | null): void {
  const scale = Math.max(1, Math.floor(44 / size));
  const cell = size * scale;
  canvas.width = images.length * (cell + 8) + 4;
  canvas.height = cell + 28;
  const g = context2d(canvas);
  g.clearRect(0, 0, canvas.width, canvas.height);
  images.forEach((img, i) => {
    const x = i * (cell + 8) + 4;
    drawImage(g, img, size, x, 4, scale);
    if (i === nearest) {
      g.strokeStyle = '#1f5fa8';
      g.lineWidth = 3;
      g.strokeRect(x - 2, 2, cell + 4, cell + 4);
    }
    if (distances) {
      g.fillStyle = i === nearest ? '#1f5fa8' : '#444';
      g.font = '11px system-ui, sans-serif';
      g.fillText(distances[i].toFixed(2), x + 2, cell + 22);
    }
  });
}

/** A drawing pad: black strokes on white with the mouse (or a pen); `onStroke` after each stroke. */
export function makePad(canvas: CanvasLike, onStroke: () => void): { clear(): void; ink(): Uint8Array } {
  const g = context2d(canvas, { willReadFrequently: true });
  const clear = () => {
    g.fillStyle = '#fff';
    g.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  g.lineCap = 'round';
  g.lineJoin = 'round';
  g.strokeStyle = '#000';
  // About the pen of the glyph generator: a radius of ~2 pixels at 105.
  g.lineWidth = canvas.width / 24;
  let down = false;
  const at = (e: PointerEventLike) => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height] as const;
  };
  canvas.addEventListener('pointerdown', (e) => {
    down = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    g.beginPath();
    g.moveTo(x, y);
    g.lineTo(x + 0.01, y);
    g.stroke();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!down) return;
    const [x, y] = at(e);
    g.lineTo(x, y);
    g.stroke();
  });
  const up = () => {
    if (!down) return;
    down = false;
    onStroke();
  };
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);
  return {
    clear,
    /** The pad as gray levels, 255 paper and 0 ink (HxW, one byte a pixel), as glyph images are. */
    ink() {
      const { data } = g.getImageData(0, 0, canvas.width, canvas.height);
      const out = new Uint8Array(canvas.width * canvas.height);
      for (let i = 0; i < out.length; i++) out[i] = data[4 * i];
      return out;
    },
  };
}
