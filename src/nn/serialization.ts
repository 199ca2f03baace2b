// saveParameters / loadParameters in the safetensors format: an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} (offsets relative to
// the data section), then the raw little-endian data. Loading validates every entry (names,
// dtypes, shapes, byte ranges, which must tile the data section) before assigning anything, so a
// bad file leaves the model as it was. The header's `__metadata__` (strings to strings, as the
// format allows) says what wrote the file: `format` (PARAMS_FORMAT), `webgluon` (the version),
// and what the caller adds (the model class, input shapes, training arguments);
// readParameterMetadata() reads it without reading the tensors.
// Node's file modules are imported where a path is read or written, so that the byte-level half
// (encode/decode, used by param_bytes.ts) loads in a browser.
import type { FileHandle } from 'node:fs/promises';
import { nd, type Tensor } from '../ndarray/index.js';
import type { DType } from '../base/types.js';
import { VERSION } from '../base/version.js';
import type { Parameter } from './parameter.js';

type StDType = 'F32' | 'I32';
interface Entry {
  dtype: StDType;
  shape: number[];
  data_offsets: [number, number];
}

/** The `format` entry of a parameter file's metadata (the number changes if the layout does). */
export const PARAMS_FORMAT = 'webgluon-params/1';

/** Metadata of one safetensors file: the header's `__metadata__`, strings to strings. */
export type SafetensorsMetadata = Record<string, string>;

const toSt = (d: DType): StDType => (d === 'int32' ? 'I32' : 'F32');
const fmt = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/** Encodes named host arrays as a safetensors file. */
export function encodeSafetensors(tensors: ReadonlyMap<string, { dtype: DType; shape: readonly number[]; data: Float32Array | Int32Array }>,
  metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = checkMetadata(metadata);
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.data.byteLength;
    header[name] = { dtype: toSt(t.dtype), shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  const json = JSON.stringify(header);
  const utf8 = new TextEncoder().encode(json);
  // Spaces pad the header so that the data starts 8-byte aligned, as the format recommends.
  const headerBytes = new Uint8Array(utf8.length + ((8 - (utf8.length % 8)) % 8)).fill(0x20);
  headerBytes.set(utf8);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (isLittleEndian) out.set(bytes, pos);
    else {
      const dv = new DataView(out.buffer, pos, bytes.length);
      for (let i = 0; i < t.data.length; i++) {
        if (t.dtype === 'int32') dv.setInt32(i * 4, t.data[i], true);
        else dv.setFloat32(i * 4, t.data[i], true);
      }
    }
    pos += bytes.length;
  }
  return out;
}
const isLittleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** safetensors metadata maps strings to strings: anything else is refused before a byte is written. */
function checkMetadata(metadata: Record<string, unknown>): SafetensorsMetadata {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`webgluon: metadata must be an object of strings, got ${JSON.stringify(metadata)}`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new TypeError(`webgluon: metadata '${k}' is ${JSON.stringify(v) ?? typeof v}, not a string; ` +
        'safetensors metadata maps strings to strings (JSON.stringify other values)');
    }
  }
  return { ...(metadata as SafetensorsMetadata) };
}

export interface DecodedTensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array;
}

const startsWith = (bytes: Uint8Array, sig: readonly number[]) => bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);

/** What a file that is not safetensors seems to be, from its first bytes; null if it could be safetensors. */
export function sniffForeignFormat(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return 'the file is empty';
  // safetensors: an 8-byte little-endian length, then a JSON object.
  if (bytes.length >= 9 && bytes[6] === 0 && bytes[7] === 0 && bytes[8] === 0x7b) return null;
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return 'it is a zip archive (a NumPy .npz, or a PyTorch .pt/.pth file?), not safetensors';
  }
  if (startsWith(bytes, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])) return 'it is a NumPy .npy file, not safetensors';
  if (startsWith(bytes, [0x89, 0x48, 0x44, 0x46])) return 'it is an HDF5 file (Keras .h5?), not safetensors';
  if (startsWith(bytes, [0x12, 0x01, 0, 0, 0, 0, 0, 0])) {
    return "it is an MXNet .params file (NDArray list format), not safetensors: load it in MXNet and save each array with safetensors' numpy API";
  }
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return 'it is a Python pickle (a PyTorch or MXNet checkpoint?), not safetensors';
  const head = bytes.subarray(0, 64);
  if (head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127))) {
    const text = String.fromCharCode(...head).split(/\r?\n/)[0].slice(0, 40);
    return `it is a text file (it starts with ${JSON.stringify(text)}), not safetensors`;
  }
  return null;
}

/**
 * The first key that appears twice in one object of `text` (which JSON.parse has accepted), and
 * the top-level key it sits under (null: it is one itself). JSON.parse keeps the last of duplicate
 * keys silently, so a file could show one tensor to a checker and load another; the reference
 * loader refuses such headers, and so must this one.
 */
function duplicateKey(text: string): { key: string; under: string | null } | null {
  const frames: (Set<string> | null)[] = []; // per open object its keys so far; null for an array
  let topKey: string | null = null;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        // Decoded, so that "a" and "\u0061" count as the same key, as they do for JSON.parse.
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = frames[frames.length - 1] as Set<string>;
        if (keys.has(key)) return { key, under: frames.length === 1 ? null : topKey };
        keys.add(key);
        if (frames.length === 1) topKey = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      frames.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      frames.push(null);
    } else if (c === '}' || c === ']') {
      frames.pop();
    } else if (c === ',') {
      expectKey = frames[frames.length - 1] instanceof Set;
    }
  }
  return null;
}

interface Span {
  name: string;
  dtype: StDType;
  shape: number[];
  begin: number;
  end: number;
}

/** A parsed and checked header: its tensors' places and its metadata. */
interface Header {
  spans: Span[];
  headerEnd: number;
  metadata: SafetensorsMetadata;
}

/**
 * Parses and checks the header of a safetensors file whose first bytes are `head` (the length and
 * the header at least) and whose size is `size`. As the reference loader, it accepts only files
 * whose tensors tile the data section exactly: overlapping tensors (one write would change
 * another), gaps and trailing bytes (data that no tensor accounts for, where content can hide)
 * are refused, as are duplicate keys in the header and metadata that is not strings to strings.
 */
function parseHeader(head: Uint8Array, size: number, bad: (why: string) => Error): Header {
  const foreign = sniffForeignFormat(head);
  if (foreign) throw bad(foreign);
  if (size < 8) throw bad(`the file is ${size} bytes long, too short for a safetensors header (truncated?)`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const hlen = dv.getBigUint64(0, true);
  if (hlen > BigInt(size - 8)) throw bad(`the header claims ${hlen} bytes but the file has only ${size - 8} after the length (truncated?)`);
  const headerEnd = 8 + Number(hlen);
  let text: string;
  let header: Record<string, unknown>;
  try {
    // fatal: a header that is not UTF-8 is refused rather than read with replacement characters.
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(8, headerEnd));
  } catch {
    throw bad('the header is not valid UTF-8');
  }
  try {
    header = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('the header is not a JSON object');
  const dup = duplicateKey(text);
  if (dup) {
    throw bad(dup.under === null ? `the header names tensor '${dup.key}' twice (JSON would keep only the last)`
      : `the header's entry '${dup.under}' has the key '${dup.key}' twice (JSON would keep only the last)`);
  }
  const metadata: SafetensorsMetadata = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined) {
    if (typeof rawMeta !== 'object' || rawMeta === null || Array.isArray(rawMeta)) {
      throw bad(`the header's __metadata__ is ${JSON.stringify(rawMeta)}, not an object of strings`);
    }
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw bad(`the header's __metadata__ has '${k}': ${JSON.stringify(v)}, not a string (the format maps strings to strings)`);
      metadata[k] = v;
    }
  }
  const dataLen = size - headerEnd;
  // Every entry is checked before any data is copied: a bad file costs no allocation.
  const spans: Span[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw bad(`tensor '${name}' is ${JSON.stringify(raw)} in the header, not an object {dtype, shape, data_offsets}`);
    }
    const e = raw as Partial<Entry>;
    if (e.dtype !== 'F32' && e.dtype !== 'I32') throw bad(`tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; only F32 and I32 are supported`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[1] < offs[0]) {
      throw bad(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (offs[1] - offs[0] !== count * 4) throw bad(`tensor '${name}' of shape ${fmt(e.shape)} needs ${count * 4} bytes but data_offsets span ${offs[1] - offs[0]}`);
    if (offs[1] > dataLen) throw bad(`tensor '${name}' ends at byte ${offs[1]} of the data section, which has only ${dataLen} bytes (truncated?)`);
    spans.push({ name, dtype: e.dtype, shape: e.shape, begin: offs[0], end: offs[1] });
  }
  // Sorted by position, each tensor must start where the previous one ended, the first at 0, and
  // the last must end at the end of the file.
  const sorted = [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Span | null = null;
  const at = (t: Span) => `'${t.name}' (data_offsets [${t.begin}, ${t.end}])`;
  for (const t of sorted) {
    if (prev && t.begin < pos) throw bad(`tensors ${at(prev)} and ${at(t)} overlap in the data section`);
    if (t.begin > pos) {
      throw bad(prev ? `bytes ${pos} to ${t.begin} of the data section, between tensors ${at(prev)} and ${at(t)}, belong to no tensor`
        : `the first ${t.begin} bytes of the data section belong to no tensor (the first, ${at(t)}, starts after them)`);
    }
    pos = t.end;
    prev = t;
  }
  if (pos !== dataLen) {
    throw bad(prev ? `${dataLen - pos} bytes follow the last tensor ${at(prev)} in the ${dataLen}-byte data section; a safetensors file ends with its last tensor`
      : `the header lists no tensors, but ${dataLen} bytes of data follow it`);
  }
  return { spans, headerEnd, metadata };
}

/**
 * Parses a safetensors file, tensors and metadata; throws a message naming what is malformed
 * (see parseHeader for what is refused). `what` names the content in messages.
 */
export function decodeSafetensorsFile(bytes: Uint8Array, source = 'file', what = 'parameters'):
  { tensors: Map<string, DecodedTensor>; metadata: SafetensorsMetadata } {
  const bad = (why: string) => new Error(`webgluon: cannot load ${what} from ${source}: ${why}`);
  const { spans, headerEnd, metadata } = parseHeader(bytes, bytes.length, bad);
  const out = new Map<string, DecodedTensor>();
  for (const { name, dtype, shape, begin, end } of spans) {
    const copy = bytes.slice(headerEnd + begin, headerEnd + end);
    const count = (end - begin) / 4;
    let data: Float32Array | Int32Array = dtype === 'I32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    if (!isLittleEndian) {
      const v = new DataView(copy.buffer);
      data = dtype === 'I32' ? Int32Array.from({ length: count }, (_, i) => v.getInt32(i * 4, true))
        : Float32Array.from({ length: count }, (_, i) => v.getFloat32(i * 4, true));
    }
    out.set(name, { dtype: dtype === 'I32' ? 'int32' : 'float32', shape: [...shape], data });
  }
  return { tensors: out, metadata };
}

/** Parses a safetensors file's tensors (decodeSafetensorsFile without the metadata). */
export function decodeSafetensors(bytes: Uint8Array, source = 'file'): Map<string, DecodedTensor> {
  return decodeSafetensorsFile(bytes, source).tensors;
}

/** The longest header readParameterMetadata reads (the reference loader's limit is 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * The `__metadata__` of a safetensors file (`{}` when it has none), read from its header alone:
 * the tensors are not read, but the header is checked as loading checks it, so a file this
 * accepts is one loadParameters reads (`format`: PARAMS_FORMAT for webgluon's parameter files).
 */
export async function readParameterMetadata(path: string): Promise<SafetensorsMetadata> {
  const bad = (why: string) => new Error(`webgluon: cannot read the metadata of '${path}': ${why}`);
  const { open } = await import('node:fs/promises');
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw bad(code === 'ENOENT' ? 'the file does not exist' : (e as Error).message);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw bad('it is a folder');
    const size = info.size;
    const first = new Uint8Array(Math.min(size, 64));
    await handle.read(first, 0, first.length, 0);
    let head = first;
    if (size >= 8 && sniffForeignFormat(first) === null) {
      const hlen = new DataView(first.buffer).getBigUint64(0, true);
      if (hlen <= BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) {
        head = new Uint8Array(8 + Number(hlen));
        await handle.read(head, 0, head.length, 0);
      } else if (hlen <= BigInt(size - 8)) {
        throw bad(`the header claims ${hlen} bytes, more than the ${MAX_HEADER_BYTES} a safetensors header may have`);
      }
    }
    return parseHeader(head, size, bad).metadata;
  } catch (e) {
    if ((e as Error).message.startsWith('webgluon: cannot read the metadata')) throw e;
    throw bad((e as Error).message);
  } finally {
    await handle.close();
  }
}

/**
 * The metadata a Block's saveParameters writes: its class (`model`) and, once a HybridBlock has
 * run, the shapes of its last call's inputs (`inputShapes`, JSON); `extra` adds to or replaces them.
 */
export function blockMetadata(block: object, extra: SafetensorsMetadata = {}): SafetensorsMetadata {
  const out: SafetensorsMetadata = { model: block.constructor.name };
  const inputs = (block as { _lastInputs?: unknown })._lastInputs;
  if (Array.isArray(inputs) && inputs.length) out.inputShapes = JSON.stringify(inputs.map((i: { shape: readonly number[] }) => i.shape));
  return { ...out, ...extra };
}

/** The parameters' values read back, named by their keys; one not initialized yet is refused. */
export async function parameterTensors(params: ReadonlyMap<string, Parameter>): Promise<Map<string, DecodedTensor>> {
  const tensors = new Map<string, DecodedTensor>();
  for (const [name, p] of params) {
    if (!p.isInitialized) {
      throw new Error(`webgluon: cannot save parameters: '${name}' is not initialized` +
        (p.hasDeferredInit ? ' (its shape is inferred at the first forward call; run one first)' : ''));
    }
    const t = p.data();
    tensors.set(name, { dtype: t.dtype, shape: [...t.shape], data: await t.data() });
  }
  return tensors;
}

/**
 * Writes the parameters, named by their keys, atomically. `metadata` goes into the header's
 * `__metadata__` (string values only), with `format` and `webgluon` (the version) set by this function.
 */
export async function saveParameters(params: ReadonlyMap<string, Parameter>, path: string, metadata: SafetensorsMetadata = {}): Promise<void> {
  const meta = { ...checkMetadata(metadata), format: PARAMS_FORMAT, webgluon: VERSION };
  await writeSafetensorsFile(path, await parameterTensors(params), meta);
}

const WRITE_ERRORS: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'the path is a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
};

/**
 * Reads and decodes a safetensors file; errors say `cannot load ${what} from '${path}': why`.
 * (The Trainer reads its state files through this, so that only this module touches the disk.)
 */
export async function readSafetensorsFile(path: string, what = 'parameters'):
  Promise<{ tensors: Map<string, DecodedTensor>; metadata: SafetensorsMetadata }> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file does not exist' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
    throw new Error(`webgluon: cannot load ${what} from '${path}': ${why}`, { cause: e });
  }
  return decodeSafetensorsFile(bytes, `'${path}'`, what);
}

/** Writes a safetensors file atomically; errors say `cannot save ${what} to '${path}': why`. */
export async function writeSafetensorsFile(path: string, tensors: ReadonlyMap<string, DecodedTensor>, metadata: SafetensorsMetadata,
  what = 'parameters'): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const { writeFileAtomic } = await import('../data/atomic_write.js');
  const { existsSync } = await import('node:fs');
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    const cause = (e as Error).cause as NodeJS.ErrnoException | undefined;
    const why = WRITE_ERRORS[cause?.code ?? ''] ?? (cause ?? (e as Error)).message;
    throw new Error(`webgluon: cannot save ${what} to '${path}': ${why}; ` +
      `${existsSync(path) ? 'the existing file was left as it was' : 'nothing was written'}`, { cause: e });
  }
}

/** Loads a file written by saveParameters (any safetensors file of F32/I32 tensors); returns its metadata. */
export async function loadParameters(params: ReadonlyMap<string, Parameter>, path: string,
  opts: { allowMissing?: boolean; ignoreExtra?: boolean } = {}): Promise<SafetensorsMetadata> {
  const bad = (why: string) => new Error(`webgluon: cannot load parameters from '${path}': ${why}; the model was not changed`);
  let file: Map<string, DecodedTensor>;
  let metadata: SafetensorsMetadata;
  try {
    ({ tensors: file, metadata } = await readSafetensorsFile(path));
  } catch (e) {
    throw new Error(`${(e as Error).message}; the model was not changed`, { cause: e });
  }
  assignParameters(params, file, opts, bad);
  return metadata;
}

/**
 * Assigns decoded tensors to parameters by name after checking them all (names, dtypes, shapes):
 * on any error, `bad(why)` is thrown and no parameter has changed.
 */
export function assignParameters(params: ReadonlyMap<string, Parameter>, file: ReadonlyMap<string, DecodedTensor>,
  opts: { allowMissing?: boolean; ignoreExtra?: boolean }, bad: (why: string) => Error): void {
  const missing = [...params.keys()].filter((k) => !file.has(k));
  if (missing.length && !opts.allowMissing) {
    throw bad(`parameter(s) ${missing.map((m) => `'${m}'`).join(', ')} are not in the file (it has ${[...file.keys()].map((m) => `'${m}'`).join(', ') || 'none'})`);
  }
  const extra = [...file.keys()].filter((k) => !params.has(k));
  if (extra.length && !opts.ignoreExtra) {
    throw bad(`the file has parameter(s) ${extra.map((m) => `'${m}'`).join(', ')} that the model does not (pass ignoreExtra to skip them)`);
  }
  const plan: [Parameter, DecodedTensor][] = [];
  for (const [name, p] of params) {
    const t = file.get(name);
    if (!t) continue;
    if (t.dtype !== p.dtype) throw bad(`parameter '${name}' has dtype ${t.dtype} in the file but ${p.dtype} in the model`);
    const known = p.shape.length > 0 || p.isInitialized;
    const fits = !known || (p.shape.length === t.shape.length && p.shape.every((d, i) => d === 0 || d === t.shape[i]));
    if (!fits) throw bad(`parameter '${name}' has shape ${fmt(t.shape)} in the file but ${fmt(p.shape)} in the model`);
    plan.push([p, t]);
  }
  const made: Tensor[] = plan.map(([, t]) => nd.array(t.data, { shape: t.shape, dtype: t.dtype }));
  plan.forEach(([p], i) => p._swap(made[i]));
}
