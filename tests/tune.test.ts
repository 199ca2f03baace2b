// The kernel tuner (src/compiler/tune.ts): the search times candidates that the CPU reference
// accepted, rejects a wrong one, respects its budget, keeps results per adapter on disk, and
// WEBGLUON_TUNE=0 turns it off; a plan tuned at an idle point still computes what the CPU does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sizeOf } from '../src/base/types.js';
import { compileGraph } from '../src/compiler/compile.js';
import type { Plan } from '../src/compiler/plan_executor.js';
import {
  memoryTuningStore, resetTuningStats, searchTuning, setTuningStore, tuneLater, tuneSettings, tuningStats, type Tuning, type TuningStore,
} from '../src/compiler/tune.js';
import { evaluateGroup } from '../src/cpu/reference.js';
import type { FusionGroup } from '../src/graph/fuse.js';
import type { HostValue } from '../src/graph/registry.js';
import { trace, type TraceFn } from '../src/graph/trace.js';
import { launchableKernel, type GroupKernel } from '../src/ndarray/launch.js';
import { getBackend } from '../src/runtime/device.js';
import { enqueue, flush, readStorage } from '../src/runtime/executor.js';
import { stats } from '../src/runtime/stats.js';
import { Storage } from '../src/runtime/storage.js';
import { fileTuningStore } from '../src/node_tune_cache.js';
import { expectClose, randomHost, rng } from './compile_helpers.js';

const saved = { ...tuneSettings };
let dir = '';
beforeAll(async () => {
  await getBackend();
  dir = mkdtempSync(join(tmpdir(), 'webgluon-tune-'));
  // Plans built by these tests are tuned only where a test asks.
  tuneSettings.enabled = false;
});
afterAll(() => {
  Object.assign(tuneSettings, saved);
  setTuningStore(memoryTuningStore());
  rmSync(dir, { recursive: true, force: true });
});

/** One compiled plan of `fn` on inputs of `shapes`, untuned. */
function planOf(fn: TraceFn, shapes: number[][]): Plan {
  const g = trace(fn, shapes.map((shape, i) => ({ shape, dtype: 'float32' as const, name: `x${i}` })));
  return compileGraph(g, { name: 'tune_test', write: null });
}

const templated = (plan: Plan) => plan.kernels.find((k) => k.kernel.group.kind === 'kernel')!;

/** Runs `kernel` on host inputs (in its spec's read order) and reads its first output back. */
async function runKernel(kernel: GroupKernel, inputs: readonly HostValue[]): Promise<Float32Array> {
  const reads = inputs.map((h) => new Storage(h.data.length, 'float32', h.data.slice() as Float32Array));
  const writes = kernel.spec.writes.map((n) => new Storage(sizeOf(n.shape), n.dtype));
  enqueue({ kernel, reads, writes });
  const out = (await readStorage(writes[0])) as Float32Array;
  [...reads, ...writes].forEach((s) => s.release());
  return out;
}

function cpuOf(group: FusionGroup, kernel: GroupKernel, inputs: readonly HostValue[]): Float32Array {
  const values = evaluateGroup(group, new Map(kernel.spec.reads.map((n, i) => [n, inputs[i]] as const)));
  return values.get(kernel.spec.writes[0])!.data as Float32Array;
}

const inputsFor = (kernel: GroupKernel, seed: number) => {
  const r = rng(seed);
  return kernel.spec.reads.map((n) => randomHost(n.shape, r, -1, 1));
};

const denseRelu: TraceFn = (F, x, w) => F.relu(F.dot(x, w));

describe('kernel tuner: the search', () => {
  it('picks a candidate the CPU reference accepts, for a few shapes (the winner computes what the CPU does)', async () => {
    setTuningStore(memoryTuningStore());
    resetTuningStats();
    for (const [m, k, n] of [[16, 300, 40], [33, 64, 17]]) {
      const pk = templated(planOf(denseRelu, [[m, k], [k, n]]));
      // Two candidates per shape: each is a pipeline compile of up to a second on lavapipe.
      const result = await searchTuning(pk.kernel.group, { minKernelMs: 0, budgetMs: 60_000, candidates: [{ tileM: 4, tileN: 8 }, { splitK: 64 }] });
      expect(result, `${m}x${k}x${n}`).not.toBeNull();
      expect(result!.cached).toBe(false);
      expect(result!.record.tried).toBeGreaterThan(0);
      const chosen = result!.kernel ?? pk.kernel;
      const inputs = inputsFor(chosen, m + k + n);
      expectClose(await runKernel(chosen, inputs), cpuOf(pk.kernel.group, chosen, inputs), `${m}x${k}x${n} ${JSON.stringify(result!.record.tuning)}`, 1e-4, 1e-4);
      // A winner must have beaten the defaults by the margin on the same inputs.
      if (result!.kernel) expect(result!.record.ms).toBeLessThan(result!.record.defaultMs * (1 - tuneSettings.margin));
    }
    const s = tuningStats();
    expect(s.searched).toBe(2);
    expect(s.candidates).toBeGreaterThanOrEqual(2);
    expect(s.rejected).toBe(0);
  });

  it('rejects a candidate whose output is wrong, and never picks it', async () => {
    setTuningStore(memoryTuningStore());
    resetTuningStats();
    const pk = templated(planOf(denseRelu, [[24, 128], [128, 32]]));
    const group = pk.kernel.group;
    const emit = (tuning: Record<string, number>): GroupKernel => {
      const kernel = launchableKernel(group, { mode: 'const', label: 'tune test', tuning });
      if (!tuning.tileM) return kernel;
      // Broken on purpose: every stored value doubled.
      return { ...kernel, wgsl: kernel.wgsl.replaceAll('= epilogue(', '= 2.0 * epilogue(') };
    };
    const result = await searchTuning(group, { minKernelMs: 0, budgetMs: 60_000, emit, candidates: [{ tileM: 4, tileN: 8 }, { workgroupSize: 32 }] });
    expect(result).not.toBeNull();
    expect(result!.record.tuning.tileM).toBeUndefined();
    const s = tuningStats();
    expect(s.rejected).toBe(1);
    expect(s.rejections[0]).toMatch(/"tileM":4.*wrong result/);
  });

  it('starts no candidate past its budget', async () => {
    setTuningStore(memoryTuningStore());
    const pk = templated(planOf(denseRelu, [[40, 96], [96, 24]]));
    const none = await searchTuning(pk.kernel.group, { minKernelMs: 0, budgetMs: 1 });
    expect(none!.record.tried).toBe(0);
    expect(none!.record.tuning).toEqual({});
    setTuningStore(memoryTuningStore());
    const candidates: Tuning[] = [{ tileM: 4, tileN: 8 }, { workgroupSize: 32 }, { splitK: 64 }];
    const t0 = performance.now();
    const some = await searchTuning(pk.kernel.group, { minKernelMs: 0, budgetMs: 60_000, candidates });
    const full = performance.now() - t0;
    expect(some!.record.tried).toBeGreaterThan(none!.record.tried);
    // A budget of half the full search's time runs fewer candidates and ends near it.
    setTuningStore(memoryTuningStore());
    const half = await searchTuning(pk.kernel.group, { minKernelMs: 0, budgetMs: full / 2, candidates });
    expect(half!.record.tried).toBeLessThanOrEqual(some!.record.tried);
    expect(half!.ms).toBeLessThan(full / 2 + full / Math.max(1, some!.record.tried) + 200);
  });

  it('leaves kernels whose defaults are already fast alone', async () => {
    setTuningStore(memoryTuningStore());
    resetTuningStats();
    const pk = templated(planOf(denseRelu, [[2, 3], [3, 2]]));
    expect(await searchTuning(pk.kernel.group, { minKernelMs: 1e6 })).toBeNull();
    expect(tuningStats().skipped).toBe(1);
  });
});

describe('kernel tuner: results kept per adapter', () => {
  it('a file store round-trips, is keyed by adapter, and is written whole (no temp files left)', () => {
    const path = join(dir, 'nested', 'tuning.json');
    const a = fileTuningStore(path);
    const rec = { tuning: { tileM: 4 }, ms: 1, defaultMs: 2, tried: 3 };
    a.set('vendorA|arch|dev|desc|', 'dot(16x8) sg8 #x', rec);
    a.set('vendorB|arch|dev|desc|', 'dot(16x8) sg8 #x', { ...rec, tuning: {} });
    const b = fileTuningStore(path);
    expect(b.get('vendorA|arch|dev|desc|', 'dot(16x8) sg8 #x')).toEqual(rec);
    expect(b.get('vendorB|arch|dev|desc|', 'dot(16x8) sg8 #x')!.tuning).toEqual({});
    expect(b.get('vendorC|arch|dev|desc|', 'dot(16x8) sg8 #x')).toBeUndefined();
    // Another process's results survive a write.
    b.set('vendorC|arch|dev|desc|', 'conv', rec);
    a.set('vendorA|arch|dev|desc|', 'pool', rec);
    const c = fileTuningStore(path);
    expect(c.get('vendorC|arch|dev|desc|', 'conv')).toEqual(rec);
    expect(c.get('vendorA|arch|dev|desc|', 'pool')).toEqual(rec);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['tuning.json']);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
  });

  it('a search stored on disk is found by the next process (a new store) without running anything', async () => {
    const path = join(dir, 'search.json');
    setTuningStore(fileTuningStore(path));
    const pk = templated(planOf(denseRelu, [[16, 200], [200, 48]]));
    const first = await searchTuning(pk.kernel.group, { minKernelMs: 0, budgetMs: 60_000, candidates: [{ splitK: 64 }] });
    setTuningStore(fileTuningStore(path));
    const again = await searchTuning(pk.kernel.group, { minKernelMs: 0 });
    expect(again!.cached).toBe(true);
    expect(again!.record).toEqual(first!.record);
    // Keyed by adapter: the file holds this adapter's entry under its vendor, device and description.
    const adapters = Object.keys(JSON.parse(readFileSync(path, 'utf8')).adapters);
    expect(adapters).toHaveLength(1);
    expect(adapters[0].split('|')).toHaveLength(5);
  });
});

describe('kernel tuner: in compiled plans', () => {
  it('a stored winner is used from the first call, and the plan still matches the CPU', async () => {
    const store: TuningStore = memoryTuningStore();
    setTuningStore(store);
    const shapes = [[20, 150], [150, 36]];
    const untuned = templated(planOf(denseRelu, shapes));
    // Learn the signature from a search, then plant another tuning under it.
    const found = await searchTuning(untuned.kernel.group, { minKernelMs: 0, budgetMs: 1 });
    const planted = { tuning: { tileM: 4, tileN: 8 }, ms: 1, defaultMs: 2, tried: 1 };
    const get = store.get.bind(store);
    store.get = (a, s) => (s === found!.signature ? planted : get(a, s));
    tuneSettings.enabled = true;
    const saveWork = tuneSettings.minWork;
    tuneSettings.minWork = 0;
    try {
      const plan = planOf(denseRelu, shapes);
      const pk = templated(plan);
      expect(pk.kernel.wgsl).not.toBe(untuned.kernel.wgsl);
      const inputs = inputsFor(pk.kernel, 7);
      expectClose(await runKernel(pk.kernel, inputs), cpuOf(pk.kernel.group, pk.kernel, inputs), 'planted tuning', 1e-4, 1e-4);
    } finally {
      tuneSettings.enabled = false;
      tuneSettings.minWork = saveWork;
    }
  });

  it('a new plan is searched at the next awaited flush, and not at all when turned off', async () => {
    setTuningStore(memoryTuningStore());
    const shapes = [[32, 256], [256, 64]];
    const saveMin = tuneSettings.minKernelMs;
    const saveWork = tuneSettings.minWork;
    tuneSettings.minKernelMs = 0;
    tuneSettings.minWork = 0;
    try {
      resetTuningStats();
      tuneLater(planOf(denseRelu, shapes));
      await flush();
      expect(tuningStats().searched + tuningStats().skipped).toBe(0);

      tuneSettings.enabled = true;
      const plan = planOf(denseRelu, shapes);
      const before = templated(plan).kernel;
      resetTuningStats();
      const counted = stats();
      await flush();
      const s = tuningStats();
      expect(s.searched).toBe(1);
      // The search's dispatches, submits, readbacks and pipelines are its own, not the program's.
      const { dispatches, submits, readbacks, pipelines, allocations } = stats();
      expect({ dispatches, submits, readbacks, pipelines, allocations }).toEqual({
        dispatches: counted.dispatches, submits: counted.submits, readbacks: counted.readbacks, pipelines: counted.pipelines, allocations: counted.allocations,
      });

      // Plans with less work than minWork are not even queued.
      tuneSettings.minWork = 1e12;
      resetTuningStats();
      planOf(denseRelu, [[31, 256], [256, 64]]);
      await flush();
      expect(tuningStats().searched + tuningStats().skipped + tuningStats().cached).toBe(0);
      const after = templated(plan).kernel;
      const inputs = inputsFor(after, 3);
      expectClose(await runKernel(after, inputs), cpuOf(before.group, after, inputs), 'tuned plan', 1e-4, 1e-4);
    } finally {
      tuneSettings.enabled = false;
      tuneSettings.minKernelMs = saveMin;
      tuneSettings.minWork = saveWork;
    }
  });

  it('WEBGLUON_TUNE=0 turns the tuner off (read from the environment at load)', () => {
    const run = (value: string | undefined) => spawnSync(process.execPath, ['--import', 'tsx', '-e',
      "import('./src/compiler/tune.ts').then((m) => console.log('enabled=' + m.tuneSettings.enabled + ' budget=' + m.tuneSettings.budgetMs))"],
    { encoding: 'utf8', env: { ...process.env, WEBGLUON_TUNE: value, WEBGLUON_TUNE_BUDGET_MS: '750' } });
    expect(run('0').stdout).toContain('enabled=false budget=750');
    expect(run('1').stdout).toContain('enabled=true');
  });
});
