// gluon.data.vision.transforms: host-side image transforms on HostArrays, in the shape of MXNet's
// (Compose, Resize, ToTensor, Normalize, RandomAffine). They run where the dataset's transform runs:
// on the main thread, after the image is decoded (the DataLoader's workers only decode PNG files),
// so they need not be serializable.
//
// Determinism: a random transform takes a seed and draws from its own PRNG, in the order of its
// forward() calls. With decode workers the order in which images *finish* decoding varies, so a
// dataset that augments after an await should draw a per-sample seed before it awaits and pass it
// as forward(x, seed): the result then depends on that seed alone (see examples/siamese/pairs.ts).
import { HostArray, formatShape } from './host_array.js';
import { seededRandom, type SeededRandom } from './sampler.js';

/** An image transform: HostArray in, HostArray out; `seed` fixes a random transform's draw for this call. */
export interface Transform {
  forward(x: HostArray, seed?: number): HostArray;
}

/** A per-call seed derived from a parent seed and a position, so Compose's random stages draw independently. */
export function deriveTransformSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function checkHwc(name: string, x: HostArray): [number, number, number] {
  if (x.ndim !== 3) throw new Error(`webgluon: ${name} takes an HxWxC image, got shape ${formatShape(x.shape)}`);
  return x.shape as [number, number, number];
}

function checkChw(name: string, x: HostArray): [number, number, number] {
  if (x.ndim !== 3) throw new Error(`webgluon: ${name} takes a CxHxW image, got shape ${formatShape(x.shape)}`);
  return x.shape as [number, number, number];
}

/** Writes a sampled value into the output: uint8 rounds and clamps, other dtypes store as is. */
function store(out: HostArray['data'], i: number, v: number, uint8: boolean): void {
  out[i] = uint8 ? Math.min(255, Math.max(0, Math.round(v))) : v;
}

export type Interpolation = 'bilinear' | 'nearest';

/**
 * Samples an HxWxC image at (sx, sy) in source pixel coordinates (pixel centres at integers);
 * outside the image it returns `fill`.
 */
function sample(src: HostArray['data'], h: number, w: number, c: number, ch: number, sx: number, sy: number, mode: Interpolation, fill: number): number {
  if (mode === 'nearest') {
    const x = Math.round(sx);
    const y = Math.round(sy);
    return x < 0 || y < 0 || x >= w || y >= h ? fill : src[(y * w + x) * c + ch];
  }
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= w || y >= h ? fill : src[(y * w + x) * c + ch]);
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

/** Applies Compose's stages in order; random ones get seeds derived from forward's seed. */
export class Compose implements Transform {
  readonly transforms: Transform[];
  constructor(transforms: readonly Transform[]) {
    this.transforms = [...transforms];
  }
  forward(x: HostArray, seed?: number): HostArray {
    return this.transforms.reduce((y, t, i) => t.forward(y, seed === undefined ? undefined : deriveTransformSeed(seed, i)), x);
  }
}

/** HxWxC uint8 (0..255) → CxHxW float32 in [0, 1], as Gluon's ToTensor. */
export class ToTensor implements Transform {
  forward(x: HostArray): HostArray {
    checkHwc('ToTensor', x);
    const f = x.dtype === 'uint8' ? x.div(255) : x.astype('float32');
    return f.transpose([2, 0, 1]);
  }
}

/** (x - mean[c]) / std[c] per channel of a CxHxW float image; one number serves every channel. */
export class Normalize implements Transform {
  readonly mean: number[];
  readonly std: number[];
  constructor(mean: number | readonly number[] = 0, std: number | readonly number[] = 1) {
    this.mean = typeof mean === 'number' ? [mean] : [...mean];
    this.std = typeof std === 'number' ? [std] : [...std];
    if (this.std.some((s) => !(s > 0) && !(s < 0))) throw new Error(`webgluon: Normalize std must be non-zero, got [${this.std.join(', ')}]`);
  }
  forward(x: HostArray): HostArray {
    const [c, h, w] = checkChw('Normalize', x);
    for (const [name, v] of [['mean', this.mean], ['std', this.std]] as const) {
      if (v.length !== 1 && v.length !== c) throw new Error(`webgluon: Normalize has ${v.length} ${name} values for an image of ${c} channels`);
    }
    const out = new Float32Array(x.size);
    const plane = h * w;
    for (let ch = 0; ch < c; ch++) {
      const m = this.mean[this.mean.length === 1 ? 0 : ch];
      const s = this.std[this.std.length === 1 ? 0 : ch];
      for (let i = ch * plane; i < (ch + 1) * plane; i++) out[i] = (x.data[i] - m) / s;
    }
    return new HostArray(out, x.shape);
  }
}

export type ResizeInterpolation = Interpolation | 'area';

/**
 * Resizes an HxWxC image to `size` (a number: square; or [width, height], as Gluon's Resize).
 * 'area' averages the source pixels each output pixel covers (thin strokes survive shrinking);
 * 'bilinear' and 'nearest' sample at the mapped pixel centre. The dtype is kept (uint8 rounds).
 */
export class Resize implements Transform {
  readonly width: number;
  readonly height: number;
  constructor(size: number | readonly [width: number, height: number], readonly interpolation: ResizeInterpolation = 'bilinear') {
    [this.width, this.height] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
    for (const d of [this.width, this.height]) {
      if (!Number.isInteger(d) || d < 1) throw new Error(`webgluon: Resize size must be positive integers, got ${JSON.stringify(size)}`);
    }
  }
  forward(x: HostArray): HostArray {
    const [h, w, c] = checkHwc('Resize', x);
    const W = this.width;
    const H = this.height;
    if (W === w && H === h) return new HostArray(x.data.slice(), x.shape);
    const out = HostArray.zeros([H, W, c], x.dtype);
    const uint8 = x.dtype === 'uint8';
    const src = x.data;
    for (let y = 0; y < H; y++) {
      for (let xo = 0; xo < W; xo++) {
        for (let ch = 0; ch < c; ch++) {
          let v: number;
          if (this.interpolation === 'area') {
            const y0 = (y * h) / H, y1 = ((y + 1) * h) / H, x0 = (xo * w) / W, x1 = ((xo + 1) * w) / W;
            let sum = 0, area = 0;
            for (let sy = Math.floor(y0); sy < Math.ceil(y1); sy++) {
              const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
              for (let sx = Math.floor(x0); sx < Math.ceil(x1); sx++) {
                const wx = Math.min(x1, sx + 1) - Math.max(x0, sx);
                sum += wy * wx * src[(sy * w + sx) * c + ch];
                area += wy * wx;
              }
            }
            v = sum / area;
          } else {
            // Pixel centres line up (align_corners=False, as OpenCV's resize).
            const sx = Math.min(w - 1, Math.max(0, ((xo + 0.5) * w) / W - 0.5));
            const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
            v = sample(src, h, w, c, ch, sx, sy, this.interpolation, 0);
          }
          store(out.data, (y * W + xo) * c + ch, v, uint8);
        }
      }
    }
    return out;
  }
}

export interface RandomAffineOptions {
  /** Rotation in degrees: a number d draws from [-d, d], a pair from [min, max]. Default 0. */
  degrees?: number | readonly [number, number];
  /** Largest shift as a fraction of [width, height]: drawn from [-f*W, f*W] and [-f*H, f*H]. Default none. */
  translate?: readonly [number, number];
  /** Scale factor drawn from [min, max]. Default none. */
  scale?: readonly [number, number];
  /** Shear along x in degrees: a number s draws from [-s, s], a pair from [min, max]. Default 0. */
  shear?: number | readonly [number, number];
  /** 'bilinear' (default) or 'nearest'. */
  interpolation?: Interpolation;
  /** The value of pixels that come from outside the image (255 for white-background ink). Default 0. */
  fill?: number;
  /** Seed of the transform's own PRNG, used by calls without a seed. Default 1. */
  seed?: number;
}

/** The drawn parameters of one RandomAffine call. */
export interface AffineParams {
  angle: number;
  translate: [number, number];
  scale: number;
  shear: number;
}

function range(name: string, v: number | readonly [number, number] | undefined, symmetric: boolean): [number, number] {
  if (v === undefined) return [0, 0];
  const r: [number, number] = typeof v === 'number' ? (symmetric ? [-Math.abs(v), Math.abs(v)] : [v, v]) : [v[0], v[1]];
  if (!Number.isFinite(r[0]) || !Number.isFinite(r[1]) || r[0] > r[1]) throw new Error(`webgluon: RandomAffine ${name} must be a number or [min, max], got ${JSON.stringify(v)}`);
  return r;
}

/**
 * A random affine transform of an HxWxC image about its centre: rotation, shear (x), scale and
 * translation, as torchvision's RandomAffine (MXNet has no such transform; Lake et al. augment
 * Omniglot so). Deterministic under its seed; forward(x, seed) draws from `seed` alone.
 */
export class RandomAffine implements Transform {
  readonly degrees: [number, number];
  readonly translate: [number, number];
  readonly scale: [number, number];
  readonly shear: [number, number];
  readonly interpolation: Interpolation;
  readonly fill: number;
  private readonly random: SeededRandom;

  constructor(opts: RandomAffineOptions = {}) {
    this.degrees = range('degrees', opts.degrees, true);
    this.shear = range('shear', opts.shear, true);
    this.scale = opts.scale ? range('scale', opts.scale, false) : [1, 1];
    if (this.scale[0] <= 0) throw new Error(`webgluon: RandomAffine scale must be positive, got ${JSON.stringify(opts.scale)}`);
    const t = opts.translate ?? [0, 0];
    if (t.length !== 2 || t.some((f) => !(f >= 0 && f <= 1))) throw new Error(`webgluon: RandomAffine translate must be [fx, fy] in [0, 1], got ${JSON.stringify(opts.translate)}`);
    this.translate = [t[0], t[1]];
    this.interpolation = opts.interpolation ?? 'bilinear';
    if (this.interpolation !== 'bilinear' && this.interpolation !== 'nearest') throw new Error(`webgluon: RandomAffine interpolation must be 'bilinear' or 'nearest', got '${String(this.interpolation)}'`);
    this.fill = opts.fill ?? 0;
    this.random = seededRandom(opts.seed ?? 1);
  }

  /** The PRNG state, for checkpoints; setRandomState repeats the next draws. */
  getRandomState(): number {
    return this.random.getState();
  }
  setRandomState(state: number): void {
    this.random.setState(state);
  }

  /** Draws one call's parameters for an image of width w and height h. */
  drawParams(w: number, h: number, random: () => number = this.random): AffineParams {
    const u = (r: [number, number]) => (r[0] === r[1] ? r[0] : r[0] + (r[1] - r[0]) * random());
    const angle = u(this.degrees);
    const tx = Math.round(u([-this.translate[0] * w, this.translate[0] * w]));
    const ty = Math.round(u([-this.translate[1] * h, this.translate[1] * h]));
    return { angle, translate: [tx, ty], scale: u(this.scale), shear: u(this.shear) };
  }

  forward(x: HostArray, seed?: number): HostArray {
    const [h, w] = checkHwc('RandomAffine', x);
    const params = this.drawParams(w, h, seed === undefined ? this.random : seededRandom(seed));
    return affine(x, params, this.interpolation, this.fill);
  }
}

/**
 * Applies fixed affine parameters (angle and shear in degrees, counter-clockwise on screen) about
 * the image centre: output pixel p takes the input at M⁻¹(p - c - t) + c, M = R(angle)·Shear·scale.
 */
export function affine(x: HostArray, params: AffineParams, interpolation: Interpolation = 'bilinear', fill = 0): HostArray {
  const [h, w, c] = checkHwc('affine', x);
  const rad = (params.angle * Math.PI) / 180;
  const sh = (params.shear * Math.PI) / 180;
  // Forward matrix on (x, y) with y down: rotation by -angle in image coordinates is counter-clockwise on screen.
  const cos = Math.cos(rad), sin = Math.sin(rad), tanS = Math.tan(sh), s = params.scale;
  // M = s * R * [[1, tanS], [0, 1]], R = [[cos, sin], [-sin, cos]]
  const a = s * cos, b = s * (cos * tanS + sin), cc = -s * sin, d = s * (-sin * tanS + cos);
  const det = a * d - b * cc;
  if (!(Math.abs(det) > 1e-12)) throw new Error('webgluon: affine parameters are singular (scale 0 or shear ±90°)');
  const ia = d / det, ib = -b / det, ic = -cc / det, id = a / det;
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  const out = HostArray.zeros([h, w, c], x.dtype);
  const uint8 = x.dtype === 'uint8';
  for (let y = 0; y < h; y++) {
    for (let xo = 0; xo < w; xo++) {
      const px = xo - cx - params.translate[0];
      const py = y - cy - params.translate[1];
      const sx = ia * px + ib * py + cx;
      const sy = ic * px + id * py + cy;
      for (let ch = 0; ch < c; ch++) store(out.data, (y * w + xo) * c + ch, sample(x.data, h, w, c, ch, sx, sy, interpolation, fill), uint8);
    }
  }
  return out;
}
