// Testing the trained network: distances of random test pairs (same characters should end up
// closer than different ones) and 20-way one-shot classification on runs in Lake's format.
import { readPng } from '../../src/data/index.js';
import { readOneshotRuns } from '../../src/data/oneshot_runs.js';
import { autograd, nd, type Tensor } from '../../src/index.js';
import type { Siamese } from './model.js';
import { ImagePairs, toChw } from './pairs.js';

export interface PairResult {
  a: Float32Array;
  b: Float32Array;
  distance: number;
  label: number;
}

/** Embeds a batch of 1xSxS images with one tower of the network (inference mode). */
export function embed(model: Siamese, images: Tensor): Tensor {
  return autograd.predictMode(() => model.cnn.forward(images) as Tensor);
}

function euclidean(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Distances of `count` random test pairs, half same-character, half different. */
export async function pairDistances(model: Siamese, dirs: readonly string[], imageSize: number, count: number, seed: number): Promise<PairResult[]> {
  const pairs = new ImagePairs(dirs, { seed, pairsPerEpoch: count });
  const results: PairResult[] = [];
  for (let i = 0; i < count; i++) {
    const [a, b, label] = await pairs.get();
    const ha = toChw(a, imageSize);
    const hb = toChw(b, imageSize);
    const batch = nd.array(Float32Array.from([...ha.data, ...hb.data]), { shape: [2, 1, imageSize, imageSize] });
    const e = (await embed(model, batch).data()) as Float32Array;
    const half = e.length / 2;
    results.push({ a: ha.data as Float32Array, b: hb.data as Float32Array, distance: euclidean(e.subarray(0, half), e.subarray(half)), label: label.data[0] });
  }
  return results;
}

export function meanDistances(results: readonly PairResult[]): { same: number; different: number } {
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
  return {
    same: mean(results.filter((r) => r.label === 0).map((r) => r.distance)),
    different: mean(results.filter((r) => r.label === 1).map((r) => r.distance)),
  };
}

export interface OneshotResult {
  runs: { name: string; accuracy: number }[];
  meanAccuracy: number;
}

/** Each test image is assigned the training image nearest in embedding space. */
export async function evalOneshot(model: Siamese, runsDir: string, imageSize: number): Promise<OneshotResult> {
  const runs = await readOneshotRuns(runsDir);
  const out: OneshotResult['runs'] = [];
  for (const run of runs) {
    const paths = [...run.training, ...run.test];
    const images = await Promise.all(paths.map(async (p) => toChw(await readPng(p, 0), imageSize).data as Float32Array));
    const flat = new Float32Array(images.length * imageSize * imageSize);
    images.forEach((img, i) => flat.set(img, i * img.length));
    const e = (await embed(model, nd.array(flat, { shape: [images.length, 1, imageSize, imageSize] })).data()) as Float32Array;
    const dim = e.length / images.length;
    const vec = (i: number) => e.subarray(i * dim, (i + 1) * dim);
    const k = run.training.length;
    let correct = 0;
    run.test.forEach((_, t) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (euclidean(vec(k + t), vec(c)) < euclidean(vec(k + t), vec(best))) best = c;
      if (best === run.answers[t]) correct++;
    });
    out.push({ name: run.name, accuracy: correct / run.test.length });
  }
  return { runs: out, meanAccuracy: out.reduce((s, r) => s + r.accuracy, 0) / Math.max(1, out.length) };
}
