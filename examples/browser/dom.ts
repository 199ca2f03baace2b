// The few DOM members the demo page uses, typed here: the project type-checks with Node's types
// and WebGPU's, without TypeScript's DOM library (adding it would change the globals every other
// file sees, setTimeout's return type among them).

export interface ImageDataLike {
  readonly data: Uint8ClampedArray;
}

export interface Context2D {
  font: string;
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  lineCap: string;
  lineJoin: string;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  createImageData(w: number, h: number): ImageDataLike;
  putImageData(image: ImageDataLike, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): ImageDataLike;
}

export interface PointerEventLike {
  clientX: number;
  clientY: number;
  pointerId: number;
}

export interface ElementLike {
  textContent: string | null;
  className: string;
  addEventListener(type: string, listener: (event: PointerEventLike) => void): void;
}

export interface CanvasLike extends ElementLike {
  width: number;
  height: number;
  getContext(kind: '2d', options?: { willReadFrequently?: boolean }): Context2D | null;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
  setPointerCapture(pointerId: number): void;
}

interface WindowLike {
  document: { getElementById(id: string): unknown };
  location: { search: string };
  requestAnimationFrame(callback: () => void): number;
}

export const page = globalThis as unknown as WindowLike;

export function element(id: string): ElementLike {
  const el = page.document.getElementById(id);
  if (!el) throw new Error(`the page has no element #${id}`);
  return el as ElementLike;
}

export const canvas = (id: string): CanvasLike => element(id) as CanvasLike;

export function context2d(c: CanvasLike, options?: { willReadFrequently?: boolean }): Context2D {
  const g = c.getContext('2d', options);
  if (!g) throw new Error('this browser gives no 2D canvas context');
  return g;
}
