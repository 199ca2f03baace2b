// Testing the trained network: distances of random test pairs (same characters should end up
// closer than different ones) and 20-way one-shot classification on runs in Lake's format.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readPng } from '../../src/data/index.js';
import { readOneshotRuns, type OneshotRun } from '../../src/data/oneshot_runs.js';
import { autograd, nd, type Tensor } from '../../src/index.js';
import { readParameterMetadata } from '../../src/nn/serialization.js';
import { mhdOneshot } from './mhd.js';
import { Siamese, type TowerName } from './model.js';
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
  /** correct[t]: whether test item t of the run was classified right. */
  runs: { name: string; accuracy: number; correct: boolean[] }[];
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
    const correct = run.test.map((_, t) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (euclidean(vec(k + t), vec(c)) < euclidean(vec(k + t), vec(best))) best = c;
      return best === run.answers[t];
    });
    out.push({ name: run.name, accuracy: correct.filter(Boolean).length / run.test.length, correct });
  }
  return { runs: out, meanAccuracy: out.reduce((s, r) => s + r.accuracy, 0) / Math.max(1, out.length) };
}

/** Wilson score interval of k successes in n trials (z = 1.96: 95%), as [low, high]. */
export function wilson(k: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface AccuracySummary {
  accuracy: number;
  /** 95% Wilson interval over the n classified test items. */
  ci: [number, number];
  correct: number;
  n: number;
}

export function summarize(correct: readonly boolean[]): AccuracySummary {
  const k = correct.filter(Boolean).length;
  return { accuracy: correct.length ? k / correct.length : 0, ci: wilson(k, correct.length), correct: k, n: correct.length };
}

/**
 * The alphabet of each run: make-oneshot-runs copies files, so a run's training images are matched
 * by content to the alphabets its .complete marker names. 'all' for runs it cannot place (Lake's
 * own runs, or alphabets moved since).
 */
export function runAlphabets(runsDir: string, runs: readonly OneshotRun[]): string[] {
  let dirs: string[] = [];
  try {
    const marker = JSON.parse(readFileSync(join(runsDir, '.complete'), 'utf8')) as { alphabetDirs?: unknown };
    if (Array.isArray(marker.alphabetDirs)) dirs = marker.alphabetDirs.filter((d): d is string => typeof d === 'string');
  } catch {
    return runs.map(() => 'all');
  }
  const digest = (path: string) => createHash('sha1').update(readFileSync(path)).digest('hex');
  const wanted = new Map<string, number>(); // size → count, to hash only files of a size some run uses
  const firsts = runs.map((r) => r.training[0]).filter((p): p is string => p !== undefined);
  const firstDigests = new Set(firsts.map(digest));
  for (const p of firsts) wanted.set(String(statSync(p).size), 1);
  const owner = new Map<string, string>();
  for (const dir of dirs) {
    let characters: string[];
    try { characters = readdirSync(dir); } catch { continue; }
    for (const c of characters) {
      let files: string[];
      try { files = readdirSync(join(dir, c)); } catch { continue; }
      for (const f of files) {
        const path = join(dir, c, f);
        if (!wanted.has(String(statSync(path).size))) continue;
        const d = digest(path);
        if (firstDigests.has(d) && !owner.has(d)) owner.set(d, basename(dir));
      }
    }
  }
  return runs.map((r) => (r.training[0] ? owner.get(digest(r.training[0])) ?? 'all' : 'all'));
}

/** A Siamese network with a parameter file's tower and embedding size (from its trainingArgs), loaded. */
export async function loadSiamese(paramsPath: string, imageSize: number): Promise<Siamese> {
  const meta = await readParameterMetadata(paramsPath);
  let args: { tower?: TowerName; embeddingDim?: number } = {};
  try {
    args = meta.trainingArgs ? JSON.parse(meta.trainingArgs) as typeof args : {};
  } catch {
    args = {};
  }
  const model = new Siamese({ tower: args.tower, embeddingDim: args.embeddingDim });
  model.initialize();
  const probe = nd.zeros([1, 1, imageSize, imageSize]);
  model.forward(probe, probe);
  await model.loadParameters(paramsPath);
  return model;
}

export interface OneshotReport {
  numRuns: number;
  ways: number;
  /** The learned model over every parameter file (one per training seed) pooled, and per file. */
  model: (AccuracySummary & { perAlphabet: Record<string, AccuracySummary>; perRun: { name: string; alphabet: string; accuracy: number }[]; perSeed: { params: string; accuracy: number }[]; seedStd: number }) | null;
  /** Lake's Modified Hausdorff Distance baseline on the same runs. */
  mhd: (AccuracySummary & { perAlphabet: Record<string, AccuracySummary> }) | null;
}

function byAlphabet(alphabets: readonly string[], correct: readonly (readonly boolean[])[]): Record<string, AccuracySummary> {
  const groups = new Map<string, boolean[]>();
  alphabets.forEach((a, i) => groups.set(a, [...(groups.get(a) ?? []), ...correct[i]]));
  return Object.fromEntries([...groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([a, c]) => [a, summarize(c)]));
}

/**
 * Scores `runsDir` with each parameter file (several seeds are pooled, their spread reported) and,
 * unless `mhd` is false, with the MHD baseline: accuracy per alphabet with 95% Wilson intervals.
 */
export async function oneshotReport(runsDir: string, params: readonly { path: string; imageSize: number }[], opts: { mhd?: boolean } = {}): Promise<OneshotReport> {
  const runs = await readOneshotRuns(runsDir);
  const alphabets = runAlphabets(runsDir, runs);
  let model: OneshotReport['model'] = null;
  if (params.length > 0) {
    const perRun: boolean[][] = runs.map(() => []);
    const perSeed: { params: string; accuracy: number }[] = [];
    for (const p of params) {
      const net = await loadSiamese(p.path, p.imageSize);
      const result = await evalOneshot(net, runsDir, p.imageSize);
      result.runs.forEach((r, i) => perRun[i].push(...r.correct));
      perSeed.push({ params: p.path, accuracy: result.runs.flatMap((r) => r.correct).filter(Boolean).length / result.runs.reduce((s, r) => s + r.correct.length, 0) });
    }
    const mean = perSeed.reduce((s, x) => s + x.accuracy, 0) / perSeed.length;
    const seedStd = Math.sqrt(perSeed.reduce((s, x) => s + (x.accuracy - mean) ** 2, 0) / Math.max(1, perSeed.length - 1));
    model = {
      ...summarize(perRun.flat()), perAlphabet: byAlphabet(alphabets, perRun),
      perRun: runs.map((r, i) => ({ name: r.name, alphabet: alphabets[i], accuracy: summarize(perRun[i]).accuracy })),
      perSeed, seedStd: perSeed.length > 1 ? seedStd : 0,
    };
  }
  let mhd: OneshotReport['mhd'] = null;
  if (opts.mhd !== false) {
    const scored = await mhdOneshot(runs);
    mhd = { ...summarize(scored.flatMap((r) => r.correct)), perAlphabet: byAlphabet(alphabets, scored.map((r) => r.correct)) };
  }
  return { numRuns: runs.length, ways: runs[0]?.training.length ?? 0, model, mhd };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const line = (s: AccuracySummary) => `${pct(s.accuracy)} [95% CI ${pct(s.ci[0])}–${pct(s.ci[1])}] (${s.correct}/${s.n})`;

/** The report as printed by eval-oneshot: per alphabet, then the totals, the MHD reference last. */
export function formatOneshotReport(r: OneshotReport): string {
  const out: string[] = [];
  const chance = r.ways ? pct(1 / r.ways) : '?';
  if (r.model) {
    for (const [a, s] of Object.entries(r.model.perAlphabet)) out.push(`  model  ${a}: ${line(s)}`);
    if (r.model.perSeed.length > 1) out.push(`  model per seed: ${r.model.perSeed.map((s) => pct(s.accuracy)).join(', ')} (std ${pct(r.model.seedStd)})`);
    out.push(`${r.ways}-way one-shot accuracy (model): ${line(r.model)} over ${r.numRuns} runs${r.model.perSeed.length > 1 ? ` × ${r.model.perSeed.length} seeds` : ''} (chance: ${chance})`);
  }
  if (r.mhd) {
    for (const [a, s] of Object.entries(r.mhd.perAlphabet)) out.push(`  MHD    ${a}: ${line(s)}`);
    out.push(`${r.ways}-way one-shot accuracy (MHD baseline, the reference to beat): ${line(r.mhd)} over ${r.numRuns} runs`);
  }
  return out.join('\n');
}
