// Parameters to and from bytes: a safetensors file in memory, for browsers (no file system) and for
// callers that keep parameters elsewhere (IndexedDB, fetch, a message). The format and the file
// versions (saveParameters / loadParameters of a path) are serialization.ts's; these write the
// same bytes and apply the same checks, so a file saved in Node loads from bytes and back.
import { checkOptions } from '../base/options.js';
import { VERSION } from '../base/version.js';
import type { AnyBlock, LoadParametersOptions } from './block.js';
import type { Parameter } from './parameter.js';
import {
  PARAMS_FORMAT, assignParameters, parameterTensors, blockMetadata, decodeSafetensorsFile, encodeSafetensors, type DecodedTensor, type SafetensorsMetadata,
} from './serialization.js';

/**
 * The parameters, named by their keys, as a safetensors file. `metadata` (strings to strings) goes
 * into the header's `__metadata__`, with `format` and `webgluon` (the version) set here.
 */
export async function parametersToBytes(params: ReadonlyMap<string, Parameter>, metadata: SafetensorsMetadata = {}): Promise<Uint8Array> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`webgluon: metadata must be an object of strings, got ${JSON.stringify(metadata)}`);
  }
  const tensors = await parameterTensors(params);
  return encodeSafetensors(tensors, { ...metadata, format: PARAMS_FORMAT, webgluon: VERSION });
}

/**
 * Loads a safetensors file from `bytes` into `params`. Names, dtypes and shapes are checked for
 * every parameter before any is changed: on error nothing is. Returns the file's metadata.
 * `source` names the bytes in messages.
 */
export function parametersFromBytes(params: ReadonlyMap<string, Parameter>, bytes: Uint8Array,
  opts: LoadParametersOptions = {}, source = 'bytes'): SafetensorsMetadata {
  const bad = (why: string) => new Error(`webgluon: cannot load parameters from ${source}: ${why}; the model was not changed`);
  if (!(bytes instanceof Uint8Array)) throw bad(`expected a Uint8Array, got ${Object.prototype.toString.call(bytes)}`);
  let file: Map<string, DecodedTensor>;
  let metadata: SafetensorsMetadata;
  try {
    ({ tensors: file, metadata } = decodeSafetensorsFile(bytes, source));
  } catch (e) {
    throw new Error(`${(e as Error).message}; the model was not changed`, { cause: e });
  }
  assignParameters(params, file, opts, bad);
  return metadata;
}

/** block.saveParameters(path) to bytes: every parameter (collectParams() names) and the block's metadata. */
export function saveParametersToBytes(block: AnyBlock, metadata: SafetensorsMetadata = {}): Promise<Uint8Array> {
  return parametersToBytes(block.collectParams(), blockMetadata(block, metadata));
}

/** block.loadParameters(path) from bytes; the block is left as it was on any error. Returns the metadata. */
export function loadParametersFromBytes(block: AnyBlock, bytes: Uint8Array, opts: LoadParametersOptions = {}): SafetensorsMetadata {
  checkOptions(`${block.constructor.name}.loadParametersFromBytes`, opts, ['allowMissing', 'ignoreExtra']);
  return parametersFromBytes(block.collectParams(), bytes, opts);
}
