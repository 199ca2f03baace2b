// The drawing model behind the built-in glyph data set: alphabet styles, characters made of pen strokes,
// one drawer's jittered copy of a character, and its rasterisation to a binary image. glyphs.ts writes the files.

/** A seeded random stream (mulberry32): the data sets must be identical on every machine and run. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  /** Standard normal. */
  normal(): number;
  pick<T>(items: readonly T[]): T;
  /** Shuffles in place (Fisher–Yates) and returns the same array. */
  shuffle<T>(items: T[]): T[];
}

export function makeRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    pick: (items) => items[Math.floor(next() * items.length)]!,
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
  };
  return rng;
}

/**
 * Mixes several integers into one seed, so each alphabet, character and drawer has its own stream:
 * a sample then does not change when the number of alphabets or drawers around it changes.
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

export interface Point {
  x: number;
  y: number;
}

/** Segment i runs from points[i] to points[i + 1] as a quadratic Bézier curve bent towards controls[i]. */
export interface Stroke {
  points: Point[];
  controls: Point[];
}

export interface Character {
  strokes: Stroke[];
}

/** What makes the characters of one alphabet look related. Lengths are in units of the image side. */
export interface AlphabetStyle {
  strokes: [number, number];
  segments: [number, number];
  segmentLength: [number, number];
  /** Preferred stroke directions in radians, and the spread around them. */
  angles: number[];
  angleSpread: number;
  /** Chance that a segment is curved, and how far its control point may leave the chord (× length). */
  curviness: number;
  bend: number;
  /** Chance that a stroke is an arc or loop around a centre instead of a walk of segments. */
  loopChance: number;
  /** Chance that a stroke starts on an earlier stroke, which keeps characters in one piece. */
  attachChance: number;
  /** Pen radius range in pixels (at the 105-pixel reference size). */
  penRadius: [number, number];
  /** Standard deviation of a drawer's control point offsets. */
  jitter: number;
}

const ANGLE_FAMILIES: number[][] = [
  [0, Math.PI / 2], // blocky, like Korean or Tifinagh
  [Math.PI / 4, (3 * Math.PI) / 4], // slanted
  [0, Math.PI / 2, Math.PI / 4, (3 * Math.PI) / 4],
  [Math.PI / 2, Math.PI / 3, (2 * Math.PI) / 3], // upright with diagonals
];

export function makeAlphabetStyle(rng: Rng): AlphabetStyle {
  const freeAngles = Array.from({ length: rng.int(3, 5) }, () => rng.uniform(0, Math.PI));
  const angles = rng.next() < 0.8 ? rng.pick(ANGLE_FAMILIES) : freeAngles;
  const minStrokes = rng.int(2, 3);
  const shortest = rng.uniform(0.22, 0.32);
  const penLow = rng.uniform(1.6, 2.3);
  return {
    strokes: [minStrokes, rng.int(Math.max(minStrokes, 3), 4)],
    segments: [1, rng.next() < 0.7 ? 2 : 3],
    segmentLength: [shortest, shortest + rng.uniform(0.15, 0.25)],
    angles,
    angleSpread: rng.uniform(0.05, 0.2),
    curviness: rng.uniform(0, 0.85),
    bend: rng.uniform(0.2, 0.45),
    loopChance: rng.uniform(0, 0.35),
    attachChance: rng.uniform(0.6, 0.95),
    penRadius: [penLow, penLow + rng.uniform(0.5, 1.0)],
    jitter: rng.uniform(0.016, 0.024),
  };
}

const BOX_LO = 0.12;
const BOX_HI = 0.88;

function clampToBox(value: number): number {
  return Math.min(BOX_HI, Math.max(BOX_LO, value));
}

function pointOnStroke(stroke: Stroke, rng: Rng): Point {
  const i = rng.int(0, stroke.controls.length - 1);
  return bezierAt(stroke.points[i]!, stroke.controls[i]!, stroke.points[i + 1]!, rng.pick([0, 0.5, 1, rng.next()]));
}

function bezierAt(a: Point, c: Point, b: Point, t: number): Point {
  const u = 1 - t;
  return { x: u * u * a.x + 2 * u * t * c.x + t * t * b.x, y: u * u * a.y + 2 * u * t * c.y + t * t * b.y };
}

function walkStroke(style: AlphabetStyle, start: Point, rng: Rng): Stroke {
  const points = [start];
  const controls: Point[] = [];
  let previousAngle = Number.NaN;
  for (let s = rng.int(style.segments[0], style.segments[1]); s > 0; s--) {
    const from = points[points.length - 1]!;
    let angle = rng.pick(style.angles) + rng.normal() * style.angleSpread;
    // Turning back along the previous segment would draw over it: take the other preferred direction.
    if (Math.abs(Math.cos(angle - previousAngle)) > 0.95) angle += Math.PI / 2;
    if (rng.next() < 0.5) angle += Math.PI;
    const length = rng.uniform(style.segmentLength[0], style.segmentLength[1]);
    let to = { x: from.x + Math.cos(angle) * length, y: from.y + Math.sin(angle) * length };
    // Reflect off the box so that the stroke keeps its length instead of piling up at the border.
    if (to.x < BOX_LO || to.x > BOX_HI) to = { x: from.x - Math.cos(angle) * length, y: to.y };
    if (to.y < BOX_LO || to.y > BOX_HI) to = { x: to.x, y: from.y - Math.sin(angle) * length };
    to = { x: clampToBox(to.x), y: clampToBox(to.y) };
    const bend = rng.next() < style.curviness ? rng.uniform(0.4, 1) * style.bend * (rng.next() < 0.5 ? -1 : 1) : 0;
    const dx = to.x - from.x;
    const dy = to.y - from.y;
    controls.push({ x: (from.x + to.x) / 2 - dy * bend, y: (from.y + to.y) / 2 + dx * bend });
    points.push(to);
    previousAngle = Math.atan2(dy, dx);
  }
  return { points, controls };
}

function arcStroke(centre: Point, rng: Rng): Stroke {
  const radiusX = rng.uniform(0.1, 0.22);
  const radiusY = radiusX * rng.uniform(0.6, 1.4);
  const sweep = rng.pick([Math.PI, 1.5 * Math.PI, 2 * Math.PI]);
  const pieces = Math.round(sweep / (Math.PI / 2));
  const step = (sweep / pieces) * (rng.next() < 0.5 ? -1 : 1);
  const start = rng.uniform(0, 2 * Math.PI);
  // A quadratic piece spanning the angle `step` matches the arc when its control sits at r / cos(step / 2).
  const reach = 1 / Math.cos(step / 2);
  const at = (angle: number, scale: number): Point => ({
    x: clampToBox(centre.x + Math.cos(angle) * radiusX * scale),
    y: clampToBox(centre.y + Math.sin(angle) * radiusY * scale),
  });
  const points = [at(start, 1)];
  const controls: Point[] = [];
  for (let i = 0; i < pieces; i++) {
    controls.push(at(start + (i + 0.5) * step, reach));
    points.push(at(start + (i + 1) * step, 1));
  }
  return { points, controls };
}

function boundingBox(strokes: Stroke[]): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const stroke of strokes) {
    for (const p of [...stroke.points, ...stroke.controls]) {
      x0 = Math.min(x0, p.x);
      y0 = Math.min(y0, p.y);
      x1 = Math.max(x1, p.x);
      y1 = Math.max(y1, p.y);
    }
  }
  return { x0, y0, x1, y1 };
}

/** Re-centres a character and scales its larger side to `size`, as Omniglot's drawers filled the canvas. */
function normalise(strokes: Stroke[], size: number): Stroke[] {
  const box = boundingBox(strokes);
  const side = Math.max(box.x1 - box.x0, box.y1 - box.y0, 1e-6);
  const scale = Math.min(size / side, 2.5);
  const cx = (box.x0 + box.x1) / 2;
  const cy = (box.y0 + box.y1) / 2;
  const move = (p: Point): Point => ({ x: 0.5 + (p.x - cx) * scale, y: 0.5 + (p.y - cy) * scale });
  return strokes.map((s) => ({ points: s.points.map(move), controls: s.controls.map(move) }));
}

// Coarse ink grid used while composing a character: candidate strokes that run over earlier ink are
// redrawn, because random strokes piled on each other look like scribbles, not letters.
const GRID = 24;

function strokeSamples(stroke: Stroke): Point[] {
  const samples: Point[] = [];
  for (let i = 0; i < stroke.controls.length; i++) {
    for (let k = 0; k < 12; k++) {
      samples.push(bezierAt(stroke.points[i]!, stroke.controls[i]!, stroke.points[i + 1]!, k / 12));
    }
  }
  samples.push(stroke.points[stroke.points.length - 1]!);
  return samples;
}

function gridCell(p: Point): number {
  const gx = Math.min(GRID - 1, Math.max(0, Math.floor(p.x * GRID)));
  const gy = Math.min(GRID - 1, Math.max(0, Math.floor(p.y * GRID)));
  return gy * GRID + gx;
}

/** Fraction of the stroke's samples on earlier ink, ignoring those near its own start (a junction). */
function overlap(stroke: Stroke, grid: Uint8Array): number {
  const start = stroke.points[0]!;
  const own = new Uint8Array(GRID * GRID);
  let hits = 0;
  let counted = 0;
  const samples = strokeSamples(stroke);
  samples.forEach((p, index) => {
    const cell = gridCell(p);
    const nearStart = Math.hypot(p.x - start.x, p.y - start.y) < 2.5 / GRID;
    if (!nearStart) {
      counted++;
      // A stroke coming back over its own earlier part counts like one crossing another stroke.
      if (grid[cell] || (own[cell] && index > 0 && own[cell] < index - 3)) hits++;
    }
    if (!own[cell]) own[cell] = index + 1;
  });
  return counted > 0 ? hits / counted : 0;
}

function markInk(stroke: Stroke, grid: Uint8Array): void {
  for (const p of strokeSamples(stroke)) {
    const gx = Math.floor(p.x * GRID);
    const gy = Math.floor(p.y * GRID);
    for (let y = gy - 1; y <= gy + 1; y++) {
      for (let x = gx - 1; x <= gx + 1; x++) {
        if (x >= 0 && y >= 0 && x < GRID && y < GRID) grid[y * GRID + x] = 1;
      }
    }
  }
}

function candidateStroke(style: AlphabetStyle, strokes: Stroke[], rng: Rng): Stroke {
  const attach = strokes.length > 0 && rng.next() < style.attachChance;
  let start: Point;
  if (!attach) {
    start = { x: rng.uniform(0.25, 0.75), y: rng.uniform(0.25, 0.75) };
  } else if (rng.next() < 0.4) {
    const other = rng.pick(strokes);
    start = rng.next() < 0.5 ? other.points[0]! : other.points[other.points.length - 1]!;
  } else {
    start = pointOnStroke(rng.pick(strokes), rng);
  }
  return rng.next() < style.loopChance ? arcStroke(start, rng) : walkStroke(style, start, rng);
}

export function makeCharacter(style: AlphabetStyle, rng: Rng): Character {
  const strokes: Stroke[] = [];
  const grid = new Uint8Array(GRID * GRID);
  for (let n = rng.int(style.strokes[0], style.strokes[1]); n > 0; n--) {
    let best = candidateStroke(style, strokes, rng);
    let bestOverlap = overlap(best, grid);
    for (let attempt = 0; attempt < 12 && bestOverlap > 0.08; attempt++) {
      const candidate = candidateStroke(style, strokes, rng);
      const candidateOverlap = overlap(candidate, grid);
      if (candidateOverlap < bestOverlap) [best, bestOverlap] = [candidate, candidateOverlap];
    }
    strokes.push(best);
    markInk(best, grid);
  }
  return { strokes: normalise(strokes, rng.uniform(0.5, 0.68)) };
}

/** One drawer's rendition: control points jittered, then a small random rotation, scale, shear and shift. */
export function drawSample(
  character: Character,
  style: AlphabetStyle,
  rng: Rng,
): { strokes: Stroke[]; penRadius: number } {
  const angle = rng.normal() * 0.07;
  const scale = 1 + rng.normal() * 0.06;
  const aspect = 1 + rng.normal() * 0.04;
  const shear = rng.normal() * 0.05;
  const shiftX = rng.normal() * 0.025;
  const shiftY = rng.normal() * 0.025;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const place = (p: Point): Point => {
    const x = (p.x - 0.5 + rng.normal() * style.jitter) * scale * aspect;
    const y = (p.y - 0.5 + rng.normal() * style.jitter) * scale / aspect;
    const sx = x + shear * y;
    return { x: 0.5 + shiftX + cos * sx - sin * y, y: 0.5 + shiftY + sin * sx + cos * y };
  };
  const strokes = character.strokes.map((s) => ({ points: s.points.map(place), controls: s.controls.map(place) }));
  return { strokes, penRadius: rng.uniform(style.penRadius[0], style.penRadius[1]) };
}

/**
 * Rasterises strokes (unit coordinates) with a round pen of `penRadius` pixels into a size×size mask,
 * 1 where there is ink. The pen radius is given at 105 pixels and scaled with `size`.
 */
export function rasterizeStrokes(strokes: Stroke[], penRadius: number, size: number): Uint8Array {
  const ink = new Uint8Array(size * size);
  const radius = (penRadius * size) / 105;
  for (const stroke of strokes) {
    for (let i = 0; i < stroke.controls.length; i++) {
      const a = stroke.points[i]!;
      const c = stroke.controls[i]!;
      const b = stroke.points[i + 1]!;
      const roughLength = (Math.hypot(c.x - a.x, c.y - a.y) + Math.hypot(b.x - c.x, b.y - c.y)) * size;
      const pieces = Math.max(1, Math.min(48, Math.ceil(roughLength / 3)));
      let from = a;
      for (let k = 1; k <= pieces; k++) {
        const to = bezierAt(a, c, b, k / pieces);
        stampCapsule(ink, size, from.x * size, from.y * size, to.x * size, to.y * size, radius);
        from = to;
      }
    }
  }
  return ink;
}

function stampCapsule(ink: Uint8Array, size: number, x0: number, y0: number, x1: number, y1: number, r: number): void {
  const left = Math.max(0, Math.floor(Math.min(x0, x1) - r));
  const right = Math.min(size - 1, Math.ceil(Math.max(x0, x1) + r));
  const top = Math.max(0, Math.floor(Math.min(y0, y1) - r));
  const bottom = Math.min(size - 1, Math.ceil(Math.max(y0, y1) + r));
  const dx = x1 - x0;
  const dy = y1 - y0;
  const lengthSquared = dx * dx + dy * dy;
  const r2 = r * r;
  for (let y = top; y <= bottom; y++) {
    const py = y + 0.5 - y0;
    for (let x = left; x <= right; x++) {
      const px = x + 0.5 - x0;
      const t = lengthSquared > 0 ? Math.min(1, Math.max(0, (px * dx + py * dy) / lengthSquared)) : 0;
      const ex = px - t * dx;
      const ey = py - t * dy;
      if (ex * ex + ey * ey <= r2) ink[y * size + x] = 1;
    }
  }
}
