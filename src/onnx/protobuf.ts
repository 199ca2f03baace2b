// The ONNX file format: the protocol-buffer wire encoding of the few messages an inference model
// needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and the
// types inside), with field numbers from onnx/onnx.proto. src/onnx/model.ts fills these messages.
import type { OnnxAttr, OnnxType } from '../graph/onnx_rule.js';

/** TensorProto.DataType codes. */
export const ONNX_DATA_TYPE: Readonly<Record<OnnxType, number>> = { float32: 1, int32: 6, int64: 7, bool: 9 };

export interface TensorProto {
  name: string;
  dtype: OnnxType;
  dims: readonly number[];
  /** Little-endian element bytes (raw_data). */
  raw: Uint8Array;
}

/** A dimension: a size, a symbolic name (dim_param), or null for a size known only at run time. */
export type DimProto = number | string | null;

export interface ValueInfoProto {
  name: string;
  dtype: OnnxType;
  dims: readonly DimProto[];
}

export interface NodeProto {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attrs: Readonly<Record<string, OnnxAttr>>;
  docString?: string;
}

export interface GraphProto {
  name: string;
  nodes: readonly NodeProto[];
  initializers: readonly TensorProto[];
  inputs: readonly ValueInfoProto[];
  outputs: readonly ValueInfoProto[];
  docString?: string;
}

export interface ModelProto {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
  metadata?: Readonly<Record<string, string>>;
}

const VARINT = 0;
const FIXED32 = 5;
const BYTES = 2;
const utf8 = new TextEncoder();

/** Appends fields to a growing list of byte chunks; a nested message is encoded first, then framed. */
class Writer {
  private chunks: Uint8Array[] = [];
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length) {
      this.chunks.push(Uint8Array.from(this.scratch));
      this.scratch = [];
    }
  }
  private rawVarint(v: number | bigint): void {
    // int64 fields take two's complement: a negative number is ten bytes long.
    let n = BigInt.asUintN(64, BigInt(v));
    do {
      const low = Number(n & 0x7fn);
      n >>= 7n;
      this.scratch.push(n ? low | 0x80 : low);
    } while (n);
  }
  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`webgluon: ONNX integer field ${field} got ${v}`);
    this.tag(field, VARINT);
    this.rawVarint(v);
    return this;
  }
  float(field: number, v: number): this {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.scratch.push(...b);
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, BYTES);
    this.rawVarint(data.length);
    this.flushScratch();
    this.chunks.push(data);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }
  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function attribute(name: string, v: OnnxAttr): Writer {
  const w = new Writer().string(1, name);
  if (typeof v === 'number') return w.int(20, ATTR_INT).int(3, v);
  if (typeof v === 'string') return w.int(20, ATTR_STRING).string(4, v);
  if (Array.isArray(v)) {
    w.int(20, ATTR_INTS);
    for (const i of v as readonly number[]) w.int(8, i);
    return w;
  }
  return w.int(20, ATTR_FLOAT).float(2, (v as { float: number }).float);
}

function node(n: NodeProto): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, attribute(k, v));
  if (n.docString) w.string(6, n.docString);
  return w;
}

function tensor(t: TensorProto): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  return w.int(2, ONNX_DATA_TYPE[t.dtype]).string(8, t.name).bytes(9, t.raw);
}

function valueInfo(v: ValueInfoProto): Writer {
  const shape = new Writer();
  for (const d of v.dims) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer().int(1, ONNX_DATA_TYPE[v.dtype]).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

function graph(g: GraphProto): Writer {
  const w = new Writer();
  for (const n of g.nodes) w.message(1, node(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensor(t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, valueInfo(v));
  for (const v of g.outputs) w.message(12, valueInfo(v));
  return w;
}

/** The bytes of an .onnx file. */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new Writer().int(1, m.irVersion).string(2, m.producerName).string(3, m.producerVersion);
  w.message(7, graph(m.graph));
  w.message(8, new Writer().string(1, '').int(2, m.opsetVersion));
  for (const [k, v] of Object.entries(m.metadata ?? {})) w.message(14, new Writer().string(1, k).string(2, v));
  return w.finish();
}

/**
 * Little-endian bytes of numbers stored as `dtype` (TensorProto.raw_data). Typed arrays use the
 * platform's byte order, which is little-endian wherever Node and the browsers run.
 */
export function rawData(values: ArrayLike<number>, dtype: OnnxType): Uint8Array {
  switch (dtype) {
    case 'float32': return new Uint8Array(Float32Array.from(values).buffer);
    case 'int32': return new Uint8Array(Int32Array.from(values).buffer);
    case 'int64': return new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
    case 'bool': return Uint8Array.from(values, (v) => (v ? 1 : 0));
  }
}
