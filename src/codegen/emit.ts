// Turns one fusion group (elementwise chain, reduction with prologue/epilogue, gather, or kernel
// template with an epilogue) into one WGSL compute shader, its bindings and its dispatch size.
import type { FusionGroup } from '../graph/fuse.js';
import type { Node } from '../graph/ir.js';
import { getOp, type ElementwiseOp, type GatherOp, type KernelOp, type ReduceOp, type SourceOp } from '../graph/registry.js';
import { sameShape, sizeOf, stridesOf, type DType, type Shape } from '../base/types.js';
import { envVar } from '../base/env.js';
import { f32 } from './literals.js';
import { PRELUDE, SUBGROUP_DIRECTIVES } from './prelude.js';


/**
 * 'uniform': shapes are read from a small storage buffer, so one pipeline serves every shape of
 * the same rank and broadcast pattern (eager mode). 'const': shapes are WGSL constants (plans).
 */
export type ShapeMode = 'uniform' | 'const';

export interface KernelSpec {
  label: string;
  wgsl: string;
  reads: readonly Node[];
  writes: readonly Node[];
  readTypes: readonly DType[];
  /** Shape data for 'uniform' mode, bound after the outputs; null when the shader needs none. */
  meta: Uint32Array | null;
  workgroups: readonly [number, number, number];
  /**
   * Kernel templates only: the subgroup size they were emitted for. A kernel emitted before the
   * device existed is emitted again for the device's size when it first runs.
   */
  subgroupSize?: number;
}

export interface EmitOptions {
  mode: ShapeMode;
  /** Lanes per subgroup that kernel templates may use (0: none); default codegenDefaults'. */
  subgroupSize?: number;
  tuning?: Readonly<Record<string, number>>;
  label?: string;
}

const WG = 64;
const bits = new DataView(new ArrayBuffer(4));
function floatBits(v: number): number {
  bits.setFloat32(0, v, true);
  return bits.getUint32(0, true);
}
const wgslType = (d: DType) => (d === 'int32' ? 'i32' : 'f32');

/** External inputs of a group: inputs of its nodes that it does not compute (scalars inline). */
export function groupReads(group: FusionGroup): Node[] {
  const inside = new Set(group.nodes);
  const reads: Node[] = [];
  for (const n of group.nodes) {
    for (const i of n.inputs) if (!inside.has(i) && !i.isScalarConstant && !reads.includes(i)) reads.push(i);
  }
  return reads;
}

class Writer {
  readonly meta: number[] = [];
  readonly lines: string[] = [];
  private tmp = 0;
  constructor(readonly mode: ShapeMode) {}
  /** A shape-derived number: a literal in const mode, a meta slot in uniform mode. */
  num(v: number): string {
    if (this.mode === 'const') return `${v}u`;
    this.meta.push(v);
    return `dims[${this.meta.length - 1}]`;
  }
  /**
   * A scalar constant: a literal in const mode; in uniform mode its f32 bits go in the shape
   * buffer, so that `x * lr` with a new lr each step reuses one pipeline.
   */
  scalar(v: number): string {
    if (this.mode === 'const') return f32(v);
    this.meta.push(floatBits(v));
    return `bitcast<f32>(dims[${this.meta.length - 1}])`;
  }
  fresh(prefix: string): string {
    return `${prefix}${this.tmp++}`;
  }
  line(s: string): void {
    this.lines.push(s);
  }
}

/** Decomposes a linear index into coordinates of `shape`, emitting `let` lines. */
function coordsOf(w: Writer, index: string, shape: Shape, prefix: string): string[] {
  const coords = new Array<string>(shape.length);
  if (shape.length === 0) return coords;
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const name = w.fresh(prefix);
    if (d === 0) {
      w.line(`let ${name} = ${rest};`);
    } else {
      const dim = w.num(shape[d]);
      w.line(`let ${name} = ${rest} % ${dim};`);
      const next = w.fresh('r');
      w.line(`let ${next} = ${rest} / ${dim};`);
      rest = next;
    }
    coords[d] = name;
  }
  return coords;
}

/** Offset of a leaf of shape `leaf` broadcast (right-aligned) against coordinates of `iter`. */
function broadcastOffset(w: Writer, leaf: Shape, iter: Shape, coords: readonly string[]): string {
  const strides = stridesOf(leaf);
  const shift = iter.length - leaf.length;
  const terms: string[] = [];
  for (let d = 0; d < leaf.length; d++) {
    if (leaf[d] === 1 && w.mode === 'const') continue;
    const stride = leaf[d] === 1 ? 0 : strides[d];
    terms.push(w.mode === 'const' && stride === 1 ? coords[d + shift] : `${coords[d + shift]} * ${w.num(stride)}`);
  }
  return terms.length ? terms.join(' + ') : '0u';
}

interface Scope {
  /** Value expression of nodes already computed in this scope. */
  values: Map<Node, string>;
  iter: Shape;
  /** Linear index over `iter` (for same-shape leaves and sources). */
  index: string;
  coords: () => string[];
}

/** Emits `let` lines computing `nodes` (elementwise or source) in a scope; returns nothing. */
function emitElementwise(w: Writer, nodes: readonly Node[], scope: Scope, binding: Map<Node, string>): void {
  const value = (n: Node): string => {
    const known = scope.values.get(n);
    if (known) return known;
    if (n.isScalarConstant) return w.scalar(n.value as number);
    const buf = binding.get(n);
    if (!buf) throw new Error(`webgluon internal: ${n.op} %${n.id} has no value in this kernel`);
    let offset: string;
    if (sizeOf(n.shape) === 1) offset = '0u';
    else if (sameShape(n.shape, scope.iter)) offset = scope.index;
    else offset = broadcastOffset(w, n.shape, scope.iter, scope.coords());
    const load = `${buf}[${offset}]`;
    const v = w.fresh('x');
    w.line(`let ${v} = ${n.dtype === 'int32' ? `f32(${load})` : load};`);
    scope.values.set(n, v);
    return v;
  };
  for (const n of nodes) {
    const op = getOp(n.op);
    let expr: string;
    if (op.kind === 'elementwise') expr = (op as ElementwiseOp).wgsl(n.inputs.map(value), n.attrs);
    else if (op.kind === 'source') expr = (op as SourceOp).wgsl(scope.index, n.attrs, (name) => w.num((n.attrs[name] as number) >>> 0));
    else if (op.kind === 'gather') expr = fusedGather(w, n, scope, binding);
    else throw new Error(`webgluon internal: ${n.op} cannot be fused as elementwise`);
    const v = w.fresh('v');
    w.line(`let ${v} = ${expr};`);
    scope.values.set(n, v);
  }
}

/** A gather inside an elementwise group: its output coordinates are the group's (same shape). */
function fusedGather(w: Writer, n: Node, scope: Scope, binding: Map<Node, string>): string {
  const load = (k: number, coords: readonly string[]): string => {
    const input = n.inputs[k];
    if (input.isScalarConstant) return w.scalar(input.value as number);
    const st = stridesOf(input.shape);
    const off = coords.length ? coords.map((c, d) => `(${c}) * ${w.num(st[d])}`).join(' + ') : '0u';
    const raw = `${binding.get(input)}[${off}]`;
    return input.dtype === 'int32' ? `f32(${raw})` : raw;
  };
  const op = getOp(n.op) as GatherOp;
  return op.gather({ out: scope.coords(), outShape: n.shape, inShapes: n.inputs.map((i) => i.shape), load }, n.attrs);
}

function lazyCoords(w: Writer, index: string, shape: Shape): () => string[] {
  let cached: string[] | null = null;
  return () => (cached ??= coordsOf(w, index, shape, 'c'));
}

function store(n: Node, buf: string, index: string, v: string): string {
  return `${buf}[${index}] = ${n.dtype === 'int32' ? `i32(${v})` : v};`;
}

/**
 * Binding order is always: reads, writes, meta — the runtime builds bind groups in that order.
 * `vec4` marks the bindings read or written four values at a time.
 */
function header(reads: readonly Node[], writes: readonly Node[], meta: boolean, readName = (k: number) => `in${k}`,
  vec4: ReadonlySet<Node> = new Set()): string {
  const lines: string[] = [];
  let b = 0;
  const type = (n: Node) => (vec4.has(n) ? `vec4<${wgslType(n.dtype)}>` : wgslType(n.dtype));
  reads.forEach((n, k) => lines.push(`@group(0) @binding(${b++}) var<storage, read> ${readName(k)}: array<${type(n)}>;`));
  writes.forEach((n, k) => lines.push(`@group(0) @binding(${b++}) var<storage, read_write> out${k}: array<${type(n)}>;`));
  if (meta) lines.push(`@group(0) @binding(${b++}) var<storage, read> dims: array<u32>;`);
  return lines.join('\n');
}

function dispatch1d(threads: number, wg: number): [number, number, number] {
  return [Math.max(1, Math.min(65535, Math.ceil(threads / wg))), 1, 1];
}

function finish(w: Writer, reads: readonly Node[], writes: readonly Node[], body: string, workgroups: readonly [number, number, number],
  label: string, vec4?: ReadonlySet<Node>): KernelSpec {
  const meta = w.mode === 'uniform' && w.meta.length > 0;
  const wgsl = `${header(reads, writes, meta, undefined, vec4)}\n${PRELUDE}\n${body}`;
  return { label, wgsl, reads, writes, readTypes: reads.map((n) => n.dtype),
    meta: meta ? Uint32Array.from(w.meta) : null, workgroups };
}

/**
 * How a vec4 kernel reads an input, four consecutive elements of the output at a time:
 * - 'wide': the output's shape, one vec4;
 * - 'one': a single value, the same for every element;
 * - 'row': one value per row (shape (..., 1));
 * - 'last': a vector along the last axis (shape (D,) or (1, …, D)).
 * With D a multiple of 4 the four elements share a row: a row value is loaded once (and what
 * depends only on it is computed once), a last-axis vector as one vec4. Otherwise each lane
 * loads its own value (D = 2: two rows per vec4).
 */
type VectorRead = 'wide' | 'one' | 'row' | 'last';

function vectorRead(r: Node, iter: Shape): VectorRead | null {
  if (r.dtype !== 'float32') return null;
  if (sizeOf(r.shape) === 1) return 'one';
  if (sameShape(r.shape, iter)) return 'wide';
  if (iter.length === 0) return null;
  const last = iter[iter.length - 1];
  const lead = iter.slice(0, -1);
  if (r.shape.length === iter.length && r.shape[r.shape.length - 1] === 1 && sameShape(r.shape.slice(0, -1), lead)) return 'row';
  if (r.shape[r.shape.length - 1] === last && sizeOf(r.shape) === last) return 'last';
  return null;
}

/**
 * Whether a group can move its data as vec4: plan kernels (shapes known) of float32 values only,
 * over a multiple of 4 elements, where every input is read in one of the VectorRead ways and no
 * op needs the element's index (random sources, gathers).
 */
function vectorizable(group: FusionGroup, reads: readonly Node[], opts: EmitOptions): boolean {
  const iter = group.outputs[0].shape;
  if (opts.mode !== 'const' || (opts.tuning?.vectorWidth ?? codegenDefaults.vectorWidth) !== 4 || sizeOf(iter) % 4 !== 0) return false;
  if (group.nodes.some((n) => getOp(n.op).kind !== 'elementwise')) return false;
  if (group.outputs.some((o) => o.dtype !== 'float32' || !sameShape(o.shape, iter))) return false;
  return reads.every((r) => vectorRead(r, iter) !== null);
}

/**
 * Defaults for what EmitOptions.tuning does not set. vectorWidth: 4 moves elementwise data as
 * vec4 (16-byte words per thread, what real GPUs load best), 1 one value per thread; the
 * environment's WEBGLUON_VECTOR_WIDTH sets it for a process (benchmarks compare the two).
 * subgroupSize: what kernel templates may assume of subgroups (0: none).
 */
export const codegenDefaults: { vectorWidth: 1 | 4; subgroupSize: number } = {
  vectorWidth: envVar('WEBGLUON_VECTOR_WIDTH') === '1' ? 1 : 4,
  // Follows the device once it exists (ndarray/launch.ts): kernels emitted earlier are emitted
  // again for it when they first run.
  subgroupSize: 0,
};

/**
 * Four elements per thread: vec4 loads, the ops' scalar expressions once per lane, vec4 stores.
 * Nodes that depend only on per-row or single values are the same for the four lanes and are
 * computed once (a contrastive loss's per-row distance, its sqrt and division).
 */
function emitVectorElementwiseGroup(group: FusionGroup, reads: readonly Node[], label: string): KernelSpec {
  const w = new Writer('const');
  const iter = group.outputs[0].shape;
  const n4 = sizeOf(iter) / 4;
  const last = iter[iter.length - 1];
  const kinds = new Map(reads.map((r) => [r, vectorRead(r, iter)!] as const));
  const whole = last % 4 === 0; // the four lanes lie in one row
  const vec4 = new Set<Node>([...reads.filter((r) => kinds.get(r) === 'wide' || (whole && kinds.get(r) === 'last')), ...group.outputs]);
  const binding = new Map(reads.map((r, k) => [r, `in${k}`] as const));
  const shared = new Map<Node, string>();
  const perLane = new Map<Node, string>();
  const laneLoads = new Map<Node, string[]>();
  reads.forEach((r, k) => {
    const kind = kinds.get(r);
    if (kind === 'one') return; // value() loads in${k}[0u]
    if (kind === 'wide' || whole) {
      const v = w.fresh('q');
      if (kind === 'wide') w.line(`let ${v} = in${k}[i];`);
      else if (kind === 'last') w.line(`let ${v} = in${k}[i % ${last / 4}u];`);
      else w.line(`let ${v} = in${k}[i / ${last / 4}u];`);
      (kind === 'row' ? shared : perLane).set(r, v);
      return;
    }
    // Lanes in different rows (or columns): one scalar load per lane.
    laneLoads.set(r, [0, 1, 2, 3].map((lane) => {
      const v = w.fresh('q');
      const at = `i * 4u + ${lane}u`;
      w.line(`let ${v} = in${k}[${kind === 'row' ? `(${at}) / ${last}u` : `(${at}) % ${last}u`}];`);
      return v;
    }));
  });
  // Lane-invariant nodes: every input is a constant, a single value, a shared row value or
  // lane-invariant itself.
  const invariant = new Set<Node>();
  for (const n of group.nodes) {
    const ok = n.inputs.every((x) => x.isScalarConstant || invariant.has(x) || kinds.get(x) === 'one' || shared.has(x));
    if (ok) invariant.add(n);
  }
  const noCoords = () => { throw new Error('webgluon internal: coordinates in a vec4 kernel'); };
  const common: Scope = { values: new Map(shared), iter, index: 'i', coords: noCoords };
  emitElementwise(w, group.nodes.filter((n) => invariant.has(n)), common, binding);
  const lanes: Map<Node, string>[] = [];
  for (const lane of ['x', 'y', 'z', 'w']) {
    const values = new Map<Node, string>([...common.values, ...[...perLane].map(([r, v]) => [r, `${v}.${lane}`] as const),
      ...[...laneLoads].map(([r, vs]) => [r, vs['xyzw'.indexOf(lane)]] as const)]);
    const scope: Scope = { values, iter, index: 'i', coords: noCoords };
    emitElementwise(w, group.nodes.filter((n) => !invariant.has(n)), scope, binding);
    lanes.push(scope.values);
  }
  group.outputs.forEach((o, k) => w.line(`out${k}[i] = vec4<f32>(${lanes.map((l) => l.get(o)!).join(', ')});`));
  const body = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < ${n4}u; i += nwg.x * ${WG}u) {
    ${w.lines.join('\n    ')}
  }
}`;
  return finish(w, reads, group.outputs, body, dispatch1d(n4, WG), label, vec4);
}

function emitElementwiseGroup(group: FusionGroup, opts: EmitOptions, label: string): KernelSpec {
  const reads = groupReads(group);
  if (vectorizable(group, reads, opts)) return emitVectorElementwiseGroup(group, reads, label);
  const w = new Writer(opts.mode);
  const iter = group.outputs[0].shape;
  const n = sizeOf(iter);
  const binding = new Map(reads.map((r, k) => [r, `in${k}`] as const));
  const total = w.num(n);
  const scope: Scope = { values: new Map(), iter, index: 'i', coords: lazyCoords(w, 'i', iter) };
  emitElementwise(w, group.nodes, scope, binding);
  group.outputs.forEach((o, k) => w.line(store(o, `out${k}`, 'i', scope.values.get(o)!)));
  const body = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < ${total}; i += nwg.x * ${WG}u) {
    ${w.lines.join('\n    ')}
  }
}`;
  return finish(w, reads, group.outputs, body, dispatch1d(n, WG), label);
}

function splitAtReduce(group: FusionGroup): { pro: Node[]; red: Node; epi: Node[] } {
  const red = group.nodes.find((n) => getOp(n.op).kind === 'reduce')!;
  const before = new Set<Node>();
  const visit = (n: Node) => {
    for (const i of n.inputs) if (group.nodes.includes(i) && !before.has(i)) { before.add(i); visit(i); }
  };
  visit(red);
  return { pro: group.nodes.filter((n) => before.has(n)), red, epi: group.nodes.filter((n) => n !== red && !before.has(n)) };
}

function emitReduceGroup(group: FusionGroup, opts: EmitOptions, label: string): KernelSpec {
  const w = new Writer(opts.mode);
  const reads = groupReads(group);
  const binding = new Map(reads.map((r, k) => [r, `in${k}`] as const));
  const { pro, red, epi } = splitAtReduce(group);
  const body = (getOp(red.op) as ReduceOp).reduce;
  const x = red.inputs[0].shape;
  const axes = reduceAxesOf(red);
  const kept = x.map((_, d) => d).filter((d) => !axes.includes(d));
  const nOut = sizeOf(red.shape);
  const nRed = sizeOf(axes.map((d) => x[d]));
  const useWorkgroup = nRed >= (opts.tuning?.reduceWorkgroupMin ?? 512) || (nOut < 64 && nRed >= 64);
  const wg = useWorkgroup ? 128 : WG;

  // Output coordinates over x's kept axes; `o` is the output's linear index.
  const keptCoords = coordsOf(w, 'o', kept.map((d) => x[d]), 'k');
  const preamble = w.lines.splice(0);
  const redCoords = coordsOf(w, 'j', axes.map((d) => x[d]), 'q');
  const full = x.map((_, d) => (axes.includes(d) ? redCoords[axes.indexOf(d)] : keptCoords[kept.indexOf(d)]));
  const scope: Scope = { values: new Map(), iter: x, index: '0u', coords: () => full };
  // A same-shape leaf needs the linear index into x; compute it from the full coordinates.
  const strides = stridesOf(x);
  const linear = x.length ? x.map((_, d) => `${full[d]} * ${w.num(strides[d])}`).join(' + ') : '0u';
  const lin = w.fresh('lin');
  w.line(`let ${lin} = ${linear};`);
  scope.index = lin;
  emitElementwise(w, pro, scope, binding);
  const src = red.inputs[0];
  const inVal = scope.values.get(src) ?? loadLeaf(w, src, scope, binding);
  w.line(`acc = ${body.combine('acc', inVal)};`);
  const loopBody = w.lines.splice(0);

  const count = w.num(nRed);
  const finalize = body.finalize ? body.finalize('acc', `f32(${count})`) : 'acc';
  const outScope: Scope = { values: new Map([[red, 'rv']]), iter: red.shape, index: 'o', coords: lazyCoords(w, 'o', red.shape) };
  emitElementwise(w, epi, outScope, binding);
  group.outputs.forEach((o, k) => w.line(store(o, `out${k}`, 'o', outScope.values.get(o)!)));
  const epilogue = w.lines.splice(0);
  const total = w.num(nOut);
  const identity = f32(body.identity);

  const text = useWorkgroup ? `var<workgroup> partial: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var o = wid.x; o < ${total}; o += nwg.x) {
    ${preamble.join('\n    ')}
    var acc = ${identity};
    for (var j = lid.x; j < ${count}; j += ${wg}u) {
      ${loopBody.join('\n      ')}
    }
    partial[lid.x] = acc;
    workgroupBarrier();
    for (var s = ${wg / 2}u; s > 0u; s >>= 1u) {
      if (lid.x < s) { partial[lid.x] = ${body.combine(`partial[lid.x]`, `partial[lid.x + s]`)}; }
      workgroupBarrier();
    }
    if (lid.x == 0u) {
      acc = partial[0];
      let rv = ${finalize};
      ${epilogue.join('\n      ')}
    }
    workgroupBarrier();
  }
}` : `@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var o = gid.x; o < ${total}; o += nwg.x * ${wg}u) {
    ${preamble.join('\n    ')}
    var acc = ${identity};
    for (var j = 0u; j < ${count}; j++) {
      ${loopBody.join('\n      ')}
    }
    let rv = ${finalize};
    ${epilogue.join('\n    ')}
  }
}`;
  const workgroups = useWorkgroup ? [Math.min(nOut, 65535), 1, 1] as [number, number, number] : dispatch1d(nOut, wg);
  return finish(w, reads, group.outputs, text, workgroups, label);
}

function loadLeaf(w: Writer, n: Node, scope: Scope, binding: Map<Node, string>): string {
  if (n.isScalarConstant) return w.scalar(n.value as number);
  const buf = binding.get(n)!;
  const offset = sizeOf(n.shape) === 1 ? '0u' : sameShape(n.shape, scope.iter) ? scope.index : broadcastOffset(w, n.shape, scope.iter, scope.coords());
  const v = w.fresh('x');
  w.line(`let ${v} = ${n.dtype === 'int32' ? `f32(${buf}[${offset}])` : `${buf}[${offset}]`};`);
  return v;
}

function reduceAxesOf(red: Node): number[] {
  const x = red.inputs[0].shape;
  const axis = red.attrs.axis;
  if (axis === null || axis === undefined) return x.map((_, d) => d);
  const list = typeof axis === 'number' ? [axis] : (axis as number[]);
  return [...new Set(list.map((a) => (a < 0 ? a + x.length : a)))].sort((a, b) => a - b);
}

function emitGatherGroup(group: FusionGroup, label: string): KernelSpec {
  const w = new Writer('const');
  const node = group.nodes[0];
  const op = getOp(node.op) as GatherOp;
  const reads = groupReads(group);
  const n = sizeOf(node.shape);
  const coords = coordsOf(w, 'i', node.shape, 'c');
  const inShapes = node.inputs.map((i) => i.shape);
  const load = (k: number, c: readonly string[]): string => {
    const input = node.inputs[k];
    if (input.isScalarConstant) return f32(input.value as number);
    const st = stridesOf(input.shape);
    const off = c.length ? c.map((x, d) => `(${x}) * ${st[d]}u`).join(' + ') : '0u';
    const raw = `in${reads.indexOf(input)}[${off}]`;
    return input.dtype === 'int32' ? `f32(${raw})` : raw;
  };
  const expr = op.gather({ out: coords, outShape: node.shape, inShapes, load }, node.attrs);
  w.line(store(node, 'out0', 'i', expr));
  const body = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var i = gid.x; i < ${n}u; i += nwg.x * ${WG}u) {
    ${w.lines.join('\n    ')}
  }
}`;
  return finish(w, reads, group.outputs, body, dispatch1d(n, WG), label);
}

function emitKernelGroup(group: FusionGroup, opts: EmitOptions, label: string): KernelSpec {
  const subgroupSize = opts.tuning?.subgroupSize ?? opts.subgroupSize ?? codegenDefaults.subgroupSize;
  const kernelNode = group.nodes[0];
  const op = getOp(kernelNode.op) as KernelOp;
  const epi = group.nodes.slice(1);
  const out = group.outputs[0];
  const kernelReads = kernelNode.inputs.filter((i) => !i.isScalarConstant);
  const epiReads = groupReads({ kind: 'elementwise', nodes: epi, outputs: [out] }).filter((r) => r !== kernelNode);
  const w = new Writer('const');
  const binding = new Map(epiReads.map((r, k) => [r, `ep${k}`] as const));
  const scope: Scope = { values: new Map([[kernelNode, 'v']]), iter: kernelNode.shape, index: 'i', coords: lazyCoords(w, 'i', kernelNode.shape) };
  emitElementwise(w, epi, scope, binding);
  const epilogueFn = `fn epilogue(v: f32, i: u32) -> f32 {\n  ${w.lines.join('\n  ')}\n  return ${scope.values.get(out)};\n}`;
  const reads = [...kernelReads, ...epiReads];
  const src = op.kernel({
    inShapes: kernelNode.inputs.map((i) => i.shape), inDTypes: kernelNode.inputs.map((i) => i.dtype),
    outShape: kernelNode.shape, outDType: kernelNode.dtype, attrs: kernelNode.attrs, tuning: opts.tuning ?? {}, subgroupSize,
  });
  const nk = kernelReads.length;
  const directives = src.subgroups ? SUBGROUP_DIRECTIVES : '';
  const wgsl = `${directives}${header(reads, [out], false, (k) => (k < nk ? `in${k}` : `ep${k - nk}`))}\n${PRELUDE}\n${epilogueFn}\n${src.body}`;
  return { label, wgsl, reads, writes: [out], readTypes: reads.map((r) => r.dtype), meta: null, workgroups: src.workgroups, subgroupSize };
}

/** Emits the shader for one fusion group. */
export function emitKernel(group: FusionGroup, opts: EmitOptions): KernelSpec {
  const main = group.nodes.find((n) => getOp(n.op).kind !== 'elementwise') ?? group.nodes[group.nodes.length - 1];
  const label = opts.label ?? `${group.nodes.map((n) => n.op).join('+')} @ ${main.path || '<eager>'}`;
  switch (group.kind) {
    case 'elementwise': return emitElementwiseGroup(group, opts, label);
    case 'reduce': return emitReduceGroup(group, opts, label);
    case 'gather': return emitGatherGroup(group, label);
    case 'kernel': return emitKernelGroup(group, opts, label);
  }
}
