// What the kernel tuner (tune.ts) may try for one fusion group: a handful of settings of the
// knobs its template reads from `ctx.tuning`, led by the defaults ({}), and a rough work count.
import { sizeOf } from '../base/types.js';
import { dotGeometry, isLongK } from '../codegen/kernels/matmul.js';
import type { FusionGroup } from '../graph/fuse.js';
import type { Node } from '../graph/ir.js';
import { getOp } from '../graph/registry.js';

export type Tuning = Readonly<Record<string, number>>;

export interface TuneTarget {
  /** The main node: the template's kernel node, or the reduction. */
  node: Node;
  /** Settings to try, the defaults first; tune.ts drops those that emit the defaults' WGSL. */
  candidates: readonly Tuning[];
  /** Multiply-adds (or element visits) of one run, roughly: decides whether the CPU can check it. */
  work: number;
}

/**
 * Few on purpose: each costs a pipeline compile (up to a second on lavapipe) and a timed run.
 * The lists keep the defaults' neighbours on the axes the templates' comments say mattered:
 * the register tile and workgroup size for matmul, subgroups on or off and the pixel tile for
 * convolutions, the strategy for pooling's backward and for long reductions.
 */
const CANDIDATES: Readonly<Record<string, readonly Tuning[]>> = {
  // storeLoop: 0 second: the default store loop compiles ~2x faster on lavapipe and may run a few
  // percent slower there; the tuner keeps the unrolled stores where they win.
  dot: [{}, { storeLoop: 0 }, { tileM: 4, tileN: 8 }, { tileM: 8, tileN: 4, unrollK: 4 }, { workgroupSize: 32 }, { splitK: 64 }],
  // Long K over few outputs: the defaults split K (matmul.ts dotDefaults); the register tiling and
  // other splits are the alternatives (the budget may end the list early).
  dotLongK: [{}, { splitK: 256 }, { splitK: 64, tileM: 8, tileN: 8 }, { splitK: 0, tileM: 4, tileN: 8 }],
  conv2d: [{}, { storeLoop: 0 }, { subgroups: 0 }, { lanePixels: 28 }, { workgroupSize: 128 }, { subgroups: 0, tileChannels: 8, tilePixels: 4 }],
  conv2dBackwardData: [{}, { storeLoop: 0 }, { subgroups: 0 }, { lanePixels: 28 }, { workgroupSize: 128 }, { subgroups: 0, tilePixels: 16 }],
  conv2dBackwardWeight: [{}, { subgroups: 0 }, { tilePixels: 4 }, { slideRows: 0 }, { workgroupSize: 128 }, { subgroups: 0, splitRows: 1 }],
  pool2dBackward: [{}, { poolBackwardPerWindow: 0 }],
  reduce: [{}, { reduceWorkgroupMin: 64 }, { reduceWorkgroupMin: 2 ** 30 }],
};

/** Reduction length behind each output element of a template's node. */
function reductionLength(n: Node): number {
  const [a, b] = n.inputs.map((i) => i.shape);
  switch (n.op) {
    case 'dot': return dotGeometry({ inShapes: [a, b], outShape: n.shape, attrs: n.attrs }).K;
    case 'conv2d': return sizeOf(b) / Math.max(1, b[0]); // C·KH·KW
    case 'conv2dBackwardData': return sizeOf(b) / Math.max(1, b[1]); // O·KH·KW
    case 'conv2dBackwardWeight': return sizeOf(b) / Math.max(1, b[1]); // N·OH·OW
    default: return 1;
  }
}

/** The tuning target of `group`, or null when its kernel has no knobs worth trying. */
export function tuneTarget(group: FusionGroup): TuneTarget | null {
  if (group.kind === 'kernel') {
    const node = group.nodes[0];
    const k = reductionLength(node);
    const longK = node.op === 'dot' && isLongK(sizeOf(node.shape), k);
    const candidates = CANDIDATES[longK ? 'dotLongK' : node.op];
    if (!candidates || node.inputs.some((i) => i.dtype !== 'float32')) return null;
    return { node, candidates, work: sizeOf(node.shape) * k };
  }
  if (group.kind === 'reduce') {
    const node = group.nodes.find((n) => getOp(n.op).kind === 'reduce');
    if (!node || node.inputs[0].dtype !== 'float32') return null;
    return { node, candidates: CANDIDATES.reduce, work: sizeOf(node.inputs[0].shape) };
  }
  return null;
}

/** A short readable name for a signature: the op and its operand shapes. */
export function describeTarget(t: TuneTarget): string {
  const shapes = t.node.inputs.filter((i) => !i.isScalarConstant).map((i) => i.shape.join('x') || 'scalar');
  return `${t.node.op}(${shapes.join(', ')})->${t.node.shape.join('x') || 'scalar'}`;
}
