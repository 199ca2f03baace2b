// The Modified Hausdorff Distance baseline of Lake et al.'s Omniglot one-shot task (their
// demo_classification: images as the points of their ink, centred, compared by MHD; Dubuisson &
// Jain 1994), scored on the same runs as the learned model: the reference it must beat.
import type { HostArray } from '../../src/data/index.js';
import { readPng } from '../../src/data/index.js';
import type { OneshotRun } from '../../src/data/oneshot_runs.js';

/** Points as a flat [y0, x0, y1, x1, …] Float64Array. */
export type Points = Float64Array;

/**
 * The ink of an HxWx1 image as points (row, column), centred on their mean as Lake's
 * LoadImgAsPoints does. Ink is dark: value < threshold (Omniglot: black strokes on white).
 * `edges`: only ink pixels with a non-ink 4-neighbour (the outline), fewer points, faster.
 */
export function inkPoints(image: HostArray, opts: { threshold?: number; edges?: boolean } = {}): Points {
  const [h, w] = image.shape;
  const c = image.shape[2] ?? 1;
  const threshold = opts.threshold ?? (image.dtype === 'uint8' ? 128 : 0.5);
  const ink = (y: number, x: number) => y >= 0 && x >= 0 && y < h && x < w && image.data[(y * w + x) * c] < threshold;
  const pts: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!ink(y, x)) continue;
      if (opts.edges && ink(y - 1, x) && ink(y + 1, x) && ink(y, x - 1) && ink(y, x + 1)) continue;
      pts.push(y, x);
    }
  }
  const n = pts.length / 2;
  let my = 0, mx = 0;
  for (let i = 0; i < n; i++) { my += pts[2 * i]; mx += pts[2 * i + 1]; }
  const out = new Float64Array(pts);
  if (n > 0) {
    my /= n; mx /= n;
    for (let i = 0; i < n; i++) { out[2 * i] -= my; out[2 * i + 1] -= mx; }
  }
  return out;
}

/** Mean over the points of A of the distance to the nearest point of B. */
function meanMinDistance(a: Points, b: Points): number {
  const na = a.length / 2, nb = b.length / 2;
  let total = 0;
  for (let i = 0; i < na; i++) {
    const ay = a[2 * i], ax = a[2 * i + 1];
    let best = Infinity;
    for (let j = 0; j < nb; j++) {
      const dy = ay - b[2 * j], dx = ax - b[2 * j + 1];
      const d = dy * dy + dx * dx;
      if (d < best) best = d;
    }
    total += Math.sqrt(best);
  }
  return total / na;
}

/** MHD(A, B) = max(mean min-distance A→B, mean min-distance B→A); Infinity when either has no points. */
export function modifiedHausdorff(a: Points, b: Points): number {
  if (a.length === 0 || b.length === 0) return Infinity;
  return Math.max(meanMinDistance(a, b), meanMinDistance(b, a));
}

/** Index of the training image with the smallest MHD to `test` (ties: the first). */
export function classifyByMhd(test: Points, training: readonly Points[]): number {
  let best = 0, bestD = Infinity;
  training.forEach((t, i) => {
    const d = modifiedHausdorff(test, t);
    if (d < bestD) { bestD = d; best = i; }
  });
  return best;
}

/** Per-run correctness of MHD classification: correct[t] for each test item of each run. */
export async function mhdOneshot(runs: readonly OneshotRun[], opts: { edges?: boolean } = {}): Promise<{ name: string; correct: boolean[] }[]> {
  const load = async (p: string) => inkPoints(await readPng(p, 0), opts);
  const out: { name: string; correct: boolean[] }[] = [];
  for (const run of runs) {
    const training = await Promise.all(run.training.map(load));
    const test = await Promise.all(run.test.map(load));
    out.push({ name: run.name, correct: test.map((t, i) => classifyByMhd(t, training) === run.answers[i]) });
  }
  return out;
}
