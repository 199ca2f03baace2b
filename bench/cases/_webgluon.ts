// webgluon's side of the cases, written against its public API (`src/index.ts`: nd, autograd,
// gluon, runtime). Parts of that API land in stages; whatever is missing makes the system
// report `{skipped: reason}` instead of crashing, and the code below is ready for when it lands.
//
// webgluon is imported lazily so that tfjs children never load it (one Dawn instance each).
/* eslint-disable @typescript-eslint/no-explicit-any */
import {
  CONTRASTIVE_VARIANTS, SIAMESE, SIAMESE_PARAM_ORDER, SIAMESE_SHAPES, contrastiveInputs, siameseBatch,
  siameseWeights, sum, sumAbs, type Runner, type Skipped, type SystemStats,
} from '../harness.js';

export type Mode = 'eager' | 'hybrid';

export interface Webgluon {
  nd: any;
  autograd: any;
  gluon: any | undefined;
  runtime: { stats(): SystemStats; resetStats(): void };
  adapter: string;
  /** Submits recorded kernels and waits until the GPU queue is idle. */
  sync(): Promise<void>;
  /** Where the API came from (public index, or internal modules while src/index.ts is missing). */
  source: string;
  /** Pipeline creation time (src/runtime/pipeline_cache.ts), when the runtime keeps it. */
  pipelines?: { timings(): Record<string, number>; reset(): void };
}

function isMissingModule(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

// Paths in variables: TypeScript must not resolve modules that are still being written.
const INDEX = '../../src/index.js';

/** gluon assembled from src/nn while the public index does not export it yet. */
async function internalGluon(): Promise<any> {
  const load = async (p: string) => {
    try { return await import(p); } catch (e) { if (isMissingModule(e)) return null; throw e; }
  };
  const [block, hybrid, basic, conv, loss, trainer] = await Promise.all([
    load(NN + 'block.js'), load(NN + 'hybrid_block.js'), load(NN + 'layers/basic.js'), load(NN + 'layers/conv.js'),
    load(NN + 'loss.js'), load(NN + 'trainer.js'),
  ]);
  if (!hybrid?.HybridBlock) return undefined;
  return {
    Block: block?.Block, HybridBlock: hybrid.HybridBlock, Trainer: trainer?.Trainer,
    nn: { ...(basic ?? {}), ...(conv ?? {}) }, loss: loss ?? undefined,
  };
}
const NN = '../../src/nn/';

export async function loadWebgluon(): Promise<Webgluon | Skipped> {
  let api: any;
  let source = 'src/index.ts';
  try {
    api = await import(INDEX);
  } catch (e) {
    if (!isMissingModule(e)) throw e;
    // The public index is not there yet: the parts that exist, from their modules.
    const ndMod: any = await import('../../src/ndarray/index.js');
    const statsMod: any = await import('../../src/runtime/stats.js');
    api = { nd: ndMod.nd, autograd: ndMod.autograd, runtime: { stats: statsMod.stats, resetStats: statsMod.resetStats } };
    api.gluon = await internalGluon();
    source = 'internal modules (src/index.ts missing)';
  }
  const deviceMod: any = await import('../../src/runtime/device.js');
  const executorMod: any = await import('../../src/runtime/executor.js');
  const pipelineMod: any = await import('../../src/runtime/pipeline_cache.js');
  const pipelines = pipelineMod.pipelineTimings
    ? { timings: () => ({ ...pipelineMod.pipelineTimings }) as Record<string, number>, reset: () => pipelineMod.resetPipelineTimings() }
    : undefined;
  const backend = await deviceMod.getBackend();
  if (backend.kind !== 'gpu') return { skipped: `webgluon has no GPU adapter (${backend.reason})` };
  const runtime = api.runtime ?? {};
  if (typeof runtime.stats !== 'function' || typeof runtime.resetStats !== 'function') {
    return { skipped: 'runtime.stats()/resetStats() missing from the public API' };
  }
  const sync = async () => {
    if (typeof runtime.sync === 'function') return runtime.sync();
    await executorMod.flush();
    await (backend.device as GPUDevice).queue.onSubmittedWorkDone();
  };
  return { nd: api.nd, autograd: api.autograd, gluon: api.gluon, runtime, adapter: backend.adapterName, sync, source, pipelines };
}

function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new MissingApi(what);
}
class MissingApi extends Error {}

/** Runs `build`, turning a missing API into `{skipped}`. */
export async function guard(build: () => Promise<Runner | Skipped>): Promise<Runner | Skipped> {
  try {
    return await build();
  } catch (e) {
    if (e instanceof MissingApi) return { skipped: `webgluon API missing: ${e.message}` };
    throw e;
  }
}

function statsOf(wg: Webgluon): Pick<Runner, 'resetStats' | 'stats' | 'firstStepDetail'> {
  return {
    resetStats: () => {
      wg.runtime.resetStats();
      wg.pipelines?.reset();
    },
    firstStepDetail: () => {
      const t = wg.pipelines?.timings();
      if (!t) return undefined;
      const ms = (x: number | undefined) => Math.round(x ?? 0);
      return {
        pipelinesSync: t.syncCreated, pipelineSyncMs: ms(t.syncMs), pipelinesAsync: t.asyncCreated,
        pipelineAsyncIssueMs: ms(t.asyncIssueMs), pipelineAsyncWallMs: ms(t.asyncWallMs), pipelineWaitMs: ms(t.waitMs),
      };
    },
    stats: () => {
      const s = wg.runtime.stats();
      return { dispatches: s.dispatches, submits: s.submits, pipelines: s.pipelines, peakBytes: s.peakBytes, liveBytes: s.liveBytes };
    },
  };
}

function paramList(collected: any): any[] {
  if (!collected) return [];
  if (collected instanceof Map) return [...collected.values()];
  if (typeof collected.values === 'function') return [...collected.values()];
  if (typeof collected.items === 'function') return [...collected.items()].map((kv: any) => (Array.isArray(kv) ? kv[1] : kv));
  return Object.values(collected);
}

/** Copies the harness's weights into the tower's parameters, in layer order. */
function copySiameseWeights(wg: Webgluon, net: any): void {
  const w = siameseWeights();
  const params = paramList(net.collectParams());
  need(params.length === SIAMESE_PARAM_ORDER.length, `collectParams() gave ${params.length} parameters, expected 8`);
  SIAMESE_PARAM_ORDER.forEach((k, i) => {
    const p = params[i];
    const shape = SIAMESE_SHAPES[k];
    const pshape: number[] | undefined = p.shape ? [...p.shape] : undefined;
    if (pshape && pshape.join(',') !== shape.join(',')) {
      throw new Error(`parameter ${i} (${p.name ?? '?'}) has shape (${pshape}) where ${k} is (${shape})`);
    }
    const t = wg.nd.array(w[k], { shape });
    if (typeof p.setData === 'function') p.setData(t);
    else if (typeof p.set === 'function') p.set(t);
    else need(false, 'Parameter.setData(tensor)');
  });
}

function buildTower(wg: Webgluon): any {
  const g = wg.gluon;
  need(typeof wg.nd.conv2d === 'function' && typeof wg.nd.pool2d === 'function' && typeof wg.nd.dot === 'function',
    `nd.conv2d / nd.pool2d / nd.dot (kernels not registered yet: ${['conv2d', 'pool2d', 'dot'].filter((k) => typeof wg.nd[k] !== 'function').join(', ')})`);
  need(g?.nn?.HybridSequential && g.nn.Conv2D && g.nn.MaxPool2D && g.nn.Dense, 'gluon.nn.HybridSequential/Conv2D/MaxPool2D/Dense');
  const { nn } = g;
  const net = new nn.HybridSequential();
  net.add(
    new nn.Conv2D(SIAMESE.conv1, SIAMESE.kernel, { activation: 'relu', inChannels: SIAMESE.channels }),
    new nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new nn.Conv2D(SIAMESE.conv2, SIAMESE.kernel, { activation: 'relu', inChannels: SIAMESE.conv1 }),
    new nn.MaxPool2D({ poolSize: 2, strides: 2 }),
    new nn.Dense(SIAMESE.hidden, { activation: 'relu', inUnits: SIAMESE.flat }),
    new nn.Dense(SIAMESE.out, { activation: 'softrelu', inUnits: SIAMESE.hidden }),
  );
  net.initialize();
  copySiameseWeights(wg, net);
  return net;
}

/** The tutorial's loss written once for any F (nd eagerly, sym when hybridized). */
function contrastiveF(F: any, o1: any, o2: any, label: any, margin = SIAMESE.margin): any {
  const d2 = F.sum(F.square(F.sub(o1, o2)), 1, true);
  const d = F.sqrt(F.add(d2, 1e-4));
  const c = F.clip(F.sub(margin, d), 0, margin);
  return F.mul(0.5, F.add(F.mul(F.sub(1, label), d2), F.mul(label, F.square(c))));
}

/** ContrastiveLoss as a gluon.loss.Loss subclass, as the tutorial defines it. */
function makeContrastiveLoss(wg: Webgluon): any {
  const Loss = wg.gluon?.loss?.Loss;
  need(Loss, 'gluon.loss.Loss');
  class ContrastiveLoss extends Loss {
    margin: number;
    constructor(margin = SIAMESE.margin) {
      super();
      this.margin = margin;
    }
    hybridForward(F: any, o1: any, o2: any, label: any): any {
      return contrastiveF(F, o1, o2, label, this.margin);
    }
  }
  return new ContrastiveLoss();
}

function makeDistance(wg: Webgluon): any {
  const HybridBlock = wg.gluon?.HybridBlock;
  need(HybridBlock, 'gluon.HybridBlock');
  class PairDistance extends HybridBlock {
    hybridForward(F: any, a: any, b: any): any {
      return F.sqrt(F.sum(F.square(F.sub(a, b)), 1));
    }
  }
  return new PairDistance();
}

function hybridize(block: any): void {
  need(typeof block.hybridize === 'function', 'block.hybridize()');
  block.hybridize({ staticAlloc: true, staticShape: true });
}

/**
 * hybridize() silently runs eagerly while no compiler is registered (src/graph/compile.ts):
 * after the first step, a hybridized block that holds no compiled function did not compile.
 */
function ranHybridized(blocks: any[]): string | undefined {
  const eager = blocks.filter((b) => b && '_compiled' in b && !b._compiled);
  if (!eager.length) return undefined;
  return `hybridize() did not compile (${eager.map((b) => b.constructor?.name ?? '?').join(', ')} ran eagerly: no hybrid compiler registered yet)`;
}

const NCHW = [SIAMESE.batch, SIAMESE.channels, SIAMESE.size, SIAMESE.size];

/** The tower applied to both images at once: concat → tower → two slices, one compiled graph. */
function pairOf(wg: Webgluon, tower: any): any {
  class Pair extends wg.gluon.HybridBlock {
    tower = tower;
    hybridForward(F: any, x1: any, x2: any): any {
      const n = x1.shape[0];
      const both = this.tower.forward(F.concat([x1, x2], 0));
      return [F.slice(both, [0, null], [n, null]), F.slice(both, [n, null], [2 * n, null])];
    }
  }
  return new Pair();
}

export async function webgluonSiameseTrain(mode: Mode, batched = false): Promise<Runner | Skipped> {
  const wg = await loadWebgluon();
  if ('skipped' in wg) return wg;
  return guard(async () => {
    need(wg.gluon, `gluon (public API from ${wg.source})`);
    need(wg.gluon.Trainer, 'gluon.Trainer');
    const { nd, autograd } = wg;
    const net = buildTower(wg);
    const pair = batched ? pairOf(wg, net) : null;
    const loss = makeContrastiveLoss(wg);
    if (mode === 'hybrid') { hybridize(pair ?? net); hybridize(loss); }
    const trainer = new wg.gluon.Trainer(net.collectParams(), 'adam', { learningRate: SIAMESE.lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const batch = siameseBatch();
    const towers = (x1: any, x2: any): [any, any] => (pair ? pair.forward(x1, x2) : [net.forward(x1), net.forward(x2)]);
    return {
      adapter: wg.adapter,
      items: { count: SIAMESE.batch, unit: 'pairs' },
      notes: [`webgluon API from ${wg.source}`, batched ? 'both images through the tower as one batch of 2N' : 'tower called twice per step, as the tutorial writes it'],
      ...statsOf(wg),
      afterFirstStep: () => (mode === 'hybrid' ? ranHybridized([pair ?? net, loss]) : undefined),
      async step() {
        const x1 = nd.array(batch.x1, { shape: NCHW });
        const x2 = nd.array(batch.x2, { shape: NCHW });
        const y = nd.array(batch.label, { shape: [SIAMESE.batch, 1] });
        const l = autograd.record(() => loss.forward(...towers(x1, x2), y));
        l.backward();
        trainer.step(SIAMESE.batch);
        return await nd.mean(l).item();
      },
    };
  });
}

export async function webgluonSiameseForward(mode: Mode): Promise<Runner | Skipped> {
  const wg = await loadWebgluon();
  if ('skipped' in wg) return wg;
  return guard(async () => {
    need(wg.gluon, `gluon (public API from ${wg.source})`);
    const { nd } = wg;
    const net = buildTower(wg);
    const dist = makeDistance(wg);
    if (mode === 'hybrid') { hybridize(net); hybridize(dist); }
    const batch = siameseBatch();
    let last: Float32Array | null = null;
    return {
      adapter: wg.adapter,
      items: { count: SIAMESE.batch, unit: 'pairs' },
      notes: [`webgluon API from ${wg.source}`],
      ...statsOf(wg),
      afterFirstStep: () => (mode === 'hybrid' ? ranHybridized([net, dist]) : undefined),
      async step() {
        const x1 = nd.array(batch.x1, { shape: NCHW });
        const x2 = nd.array(batch.x2, { shape: NCHW });
        const d = dist.forward(net.forward(x1), net.forward(x2));
        last = (await d.data()) as Float32Array;
        return last[0];
      },
      async check() {
        return { distances: Array.from(last ?? []).map((x) => +x.toPrecision(6)) };
      },
    };
  });
}

export async function webgluonContrastive(mode: Mode, variant: string): Promise<Runner | Skipped> {
  const size = CONTRASTIVE_VARIANTS[variant];
  if (!size) throw new Error(`unknown variant ${variant} (${Object.keys(CONTRASTIVE_VARIANTS).join(', ')})`);
  const wg = await loadWebgluon();
  if ('skipped' in wg) return wg;
  return guard(async () => {
    const { nd, autograd } = wg;
    const { n, d } = size;
    // Eagerly the tutorial's Loss subclass runs its hybridForward with F = nd; while gluon is
    // missing, the same function is called with nd directly (identical kernels).
    let lossFn: (a: any, b: any, y: any) => any;
    let how = 'gluon.loss.Loss subclass';
    let hybridLoss: any = null;
    if (mode === 'hybrid') {
      need(wg.gluon, `gluon (public API from ${wg.source})`);
      const loss = makeContrastiveLoss(wg);
      hybridize(loss);
      hybridLoss = loss;
      lossFn = (a, b, y) => loss.forward(a, b, y);
    } else if (wg.gluon?.loss?.Loss) {
      const loss = makeContrastiveLoss(wg);
      lossFn = (a, b, y) => loss.forward(a, b, y);
    } else {
      lossFn = (a, b, y) => contrastiveF(nd, a, b, y);
      how = 'plain nd function (gluon.loss.Loss missing)';
    }
    const host = contrastiveInputs(n, d);
    const a = nd.array(host.a, { shape: [n, d] });
    const b = nd.array(host.b, { shape: [n, d] });
    const y = nd.array(host.label, { shape: [n, 1] });
    a.attachGrad();
    b.attachGrad();
    let lastLoss: any = null;
    return {
      adapter: wg.adapter,
      items: { count: n, unit: 'rows' },
      notes: [`webgluon API from ${wg.source}`, `loss: ${how}`, 'timed: forward + backward, then the GPU queue drained (no readback)'],
      ...statsOf(wg),
      afterFirstStep: () => (hybridLoss ? ranHybridized([hybridLoss]) : undefined),
      async step() {
        const l = autograd.record(() => lossFn(a, b, y));
        l.backward();
        lastLoss = l;
        await wg.sync();
      },
      async check() {
        const ga = await a.grad.data();
        const gb = await b.grad.data();
        const lv = await lastLoss.data();
        return { lossSum: sum(lv), gradAbsSumA: sumAbs(ga), gradAbsSumB: sumAbs(gb) };
      },
    };
  });
}
