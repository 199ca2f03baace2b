// One pipeline for every batch size: a compiled function's kernel at a new input shape usually
// differs from the same kernel at the shape before only in some numbers (element counts, workgroup
// bounds, 1/N of a mean). Those numbers are read from a storage buffer instead of being literals,
// so the WGSL text, and with it the pipeline the driver compiled, is the same for every size.
//
// Why by comparing texts: the kernel templates compute their numbers in TypeScript from concrete
// shapes; which of them follow the batch size is only known by seeing two sizes. The first shape
// a kernel sees keeps its all-literal WGSL (the fastest; a fixed-size training loop never sees
// another), and each later shape is compared with it: the literals that changed become buffer
// reads. Any choice of those positions is exact, since the buffer holds this shape's own values;
// the choice only decides how often the text (and so the pipeline) is shared.
import { backendIfReady } from '../runtime/device.js';
import type { GroupKernel } from './launch.js';

/** A numeric literal of WGSL: hex, float (with '.' or an exponent), or an integer with its suffix. */
const LITERAL = /(?<![\w.])(0x[0-9a-fA-F]+[ui]?|\d+\.\d*(?:e[+-]?\d+)?f?|\d+e[+-]?\d+f?|\d+[uif]?)(?![\w.])/g;

/**
 * Lines whose literals must stay constant expressions (attributes, array sizes, module-scope
 * initialisers, const declarations, switch cases).
 */
const CONSTANT_CONTEXT = /@|array<|\bconst\b|\boverride\b|\bcase\b|\bvar</;

/** The name of the buffer of numbers (emitted kernels call theirs `dims`). */
const BUFFER = 'shape_numbers';

type Kind = 'u' | 'i' | 'f' | null;

interface Literal {
  start: number;
  end: number;
  text: string;
  /** How it is read from the buffer of u32s; null: it must stay a literal. */
  kind: Kind;
}

interface Family {
  /** The literals of the first kernel seen. */
  first: readonly string[];
  /** Positions that have differed between two shapes: read from the buffer. */
  varying: Set<number>;
  /** The WGSL for the current `varying` set, made once per set. */
  wgsl: string | null;
}

function literals(wgsl: string): Literal[] {
  const out: Literal[] = [];
  for (const m of wgsl.matchAll(LITERAL)) {
    const start = m.index;
    const text = m[0];
    const lineStart = wgsl.lastIndexOf('\n', start) + 1;
    const lineEnd = wgsl.indexOf('\n', start);
    const line = wgsl.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
    out.push({ start, end: start + text.length, text, kind: CONSTANT_CONTEXT.test(line) ? null : kindOf(text) });
  }
  return out;
}

function kindOf(text: string): Kind {
  if (text.startsWith('0x')) return null;
  if (/[.e]/.test(text) || text.endsWith('f')) return 'f';
  if (text.endsWith('u')) return 'u';
  if (text.endsWith('i')) return 'i';
  // An abstract integer takes its type from where it is used: a u32 read could be the wrong type.
  return null;
}

/** Storage buffers one kernel may bind on this device (WebGPU's default 8 before one exists). */
function storageBufferLimit(): number {
  const b = backendIfReady();
  return b?.kind === 'gpu' ? b.device.limits.maxStorageBuffersPerShaderStage : 8;
}

const bits = new DataView(new ArrayBuffer(4));

/** The u32 the buffer holds for a literal. */
function valueBits(lit: Literal): number {
  if (lit.kind === 'f') {
    bits.setFloat32(0, Number.parseFloat(lit.text.replace(/f$/, '')));
    return bits.getUint32(0);
  }
  return Number.parseInt(lit.text, 10) >>> 0;
}

function read(kind: Kind, slot: number): string {
  const at = `${BUFFER}[${slot}]`;
  return kind === 'f' ? `bitcast<f32>(${at})` : kind === 'i' ? `bitcast<i32>(${at})` : at;
}

/**
 * Kernels by position (a compiled function's plan and index; an eager op and its shapes but the
 * batch): `generalize` returns a kernel whose numbers that differ from the first shape's are read
 * from a buffer, or the kernel itself.
 */
export class ShapeFamilies {
  private readonly families = new Map<string, Family>();

  constructor(private readonly maxFamilies = 4096) {}

  generalize(position: string, kernel: GroupKernel): GroupKernel {
    // Kernels that already read their shape from a buffer are the same text for every shape; a
    // kernel with no binding to spare (Chrome allows 10 storage buffers per stage) stays as it is.
    if (kernel.meta !== null || kernel.spec.reads.length + kernel.spec.writes.length >= storageBufferLimit()) return kernel;
    const lits = literals(kernel.wgsl);
    const skeleton = skeletonOf(kernel.wgsl, lits);
    const key = `${position}\n${skeleton}`;
    const family = this.families.get(key);
    if (!family) {
      if (this.families.size >= this.maxFamilies) this.families.delete(this.families.keys().next().value!);
      this.families.set(key, { first: lits.map((l) => l.text), varying: new Set(), wgsl: null });
      return kernel;
    }
    const before = family.varying.size;
    for (let i = 0; i < lits.length; i++) {
      if (lits[i].text === family.first[i] || family.varying.has(i)) continue;
      // A number that must stay a literal changed (an array size, a workgroup size): no sharing.
      if (lits[i].kind === null) return kernel;
      family.varying.add(i);
    }
    if (family.varying.size === 0) return kernel;
    if (family.varying.size !== before || family.wgsl === null) family.wgsl = this.text(kernel, lits, family.varying);
    const slots = [...family.varying].sort((a, b) => a - b);
    return { ...kernel, wgsl: family.wgsl, meta: Uint32Array.from(slots, (i) => valueBits(lits[i])) };
  }

  private text(kernel: GroupKernel, lits: readonly Literal[], varying: ReadonlySet<number>): string {
    const slots = [...varying].sort((a, b) => a - b);
    const slotOf = new Map(slots.map((pos, slot) => [pos, slot]));
    let out = '';
    let at = 0;
    lits.forEach((l, i) => {
      const slot = slotOf.get(i);
      if (slot === undefined) return;
      out += kernel.wgsl.slice(at, l.start) + read(l.kind, slot);
      at = l.end;
    });
    out += kernel.wgsl.slice(at);
    // Bound after the kernel's reads and writes, the order the runtime builds bind groups in; at
    // the end, since directives (enable subgroups) must come first and WGSL declarations may follow their use.
    const binding = kernel.spec.reads.length + kernel.spec.writes.length;
    return `${out}\n@group(0) @binding(${binding}) var<storage, read> ${BUFFER}: array<u32>;\n`;
  }
}

function skeletonOf(wgsl: string, lits: readonly Literal[]): string {
  let out = '';
  let at = 0;
  for (const l of lits) {
    out += `${wgsl.slice(at, l.start)}#`;
    at = l.end;
  }
  return out + wgsl.slice(at);
}
