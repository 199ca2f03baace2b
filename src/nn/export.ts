// block.export(path): MXNet's HybridBlock.export. The block's forward is traced in predict mode
// (Dropout is the identity, BatchNorm uses its running statistics) with the shapes of the last
// call, simplified (constant folding, CSE, DCE) and written as `${path}-symbol.json`
// (src/graph/serialize.ts); the parameters go to `${path}.safetensors` (`${path}-${epoch:04d}.safetensors`
// when an epoch is given), named by their collectParams() paths, which are also the names of the
// graph's param nodes, with the model class and input shapes in the metadata. MXNet named that
// file `-0000.params`; the content is safetensors, so the name says so (SymbolBlock.imports reads
// a file of either name). Both files are written atomically; gluon.SymbolBlock.imports() reads them back.
import { optimize } from '../compiler/compile.js';
import { Graph } from '../graph/ir.js';
import { formatGraphJSON, graphToJSON, type GraphJSON } from '../graph/serialize.js';
import { traceFull, type TraceFn, type ValueSpec } from '../graph/trace.js';
import { autograd, Tensor } from '../ndarray/index.js';
import type { ExportOptions, HybridBlock, InputSpec } from './hybrid_block.js';
import { blockMetadata, saveParameters } from './serialization.js';

/** MXNet's input names: `data` for one input, `data0`, `data1`, … for several. */
export function defaultInputNames(n: number): string[] {
  return n === 1 ? ['data'] : Array.from({ length: n }, (_, i) => `data${i}`);
}

/** The traced predict-mode graph of `block` on inputs of the given shapes, as JSON-ready data. */
export function exportGraph(block: HybridBlock, inputs: readonly (InputSpec | Tensor)[]): { graph: Graph; json: GraphJSON; inputNames: string[] } {
  const traced = block.tracedFunction();
  for (const [name, p] of traced.params) {
    if (!p.isInitialized) {
      throw new Error(`webgluon: cannot export ${block.constructor.name}: parameter '${name}' is not initialized` +
        (p.hasDeferredInit ? ' (its shape is inferred at the first forward call; run one first)' : ''));
    }
  }
  const inputNames = defaultInputNames(inputs.length);
  const specs: ValueSpec[] = [
    ...inputs.map((s, i) => ({ shape: [...s.shape], dtype: s.dtype, name: inputNames[i] })),
    ...traced.params.map(([name, p]) => ({ shape: [...p.data().shape], dtype: p.dtype, name })),
  ];
  let outputIsList = false;
  const fn = (F: unknown, ...values: unknown[]) => {
    const out = traced.fn(F as never, ...values);
    outputIsList = Array.isArray(out);
    return out;
  };
  const t = autograd.pause(() => traceFull(fn as unknown as TraceFn, specs, undefined, block.constructor.name));
  if (t.paramKeys.length) {
    throw new Error(`webgluon: cannot export ${block.constructor.name}: its predict-mode forward reads values that change at every call ` +
      `(${t.graph.inputs.slice(specs.length).map((n) => n.name).join(', ')})`);
  }
  // simplify, CSE and DCE keep every graph input, so every parameter stays listed.
  const graph = optimize(t.graph);
  const json = graphToJSON(graph, {
    params: traced.params.length,
    metadata: { producer: 'webgluon', block: block.constructor.name, inputNames, outputIsList },
  });
  return { graph, json, inputNames };
}

function specsOf(block: HybridBlock, opts: ExportOptions): readonly (InputSpec | Tensor)[] {
  const inputs = opts.inputs ?? block._lastInputs;
  if (!inputs || !inputs.length) {
    throw new Error(`webgluon: cannot export ${block.constructor.name}: run forward() once first (export traces the graph with ` +
      'the shapes of the last call), or pass {inputs: [{shape, dtype}, ...]}');
  }
  return inputs;
}

/** The parameter file export() writes: `${path}.safetensors`, or `${path}-${epoch:04d}.safetensors`. */
export function exportedParamsFile(path: string, epoch?: number): string {
  return epoch === undefined ? `${path}.safetensors` : `${path}-${String(epoch).padStart(4, '0')}.safetensors`;
}

/** Writes `${path}-symbol.json` and the parameters (exportedParamsFile); returns both file names. */
export async function exportBlock(block: HybridBlock, path: string, opts: ExportOptions = {}): Promise<{ symbolFile: string; paramsFile: string }> {
  const epoch = opts.epoch;
  if (epoch !== undefined && (!Number.isInteger(epoch) || epoch < 0)) throw new Error(`webgluon: export epoch must be a non-negative integer, got ${epoch}`);
  const specs = specsOf(block, opts);
  const { json, inputNames } = exportGraph(block, specs);
  const symbolFile = `${path}-symbol.json`;
  const paramsFile = exportedParamsFile(path, epoch);
  await saveParameters(block.collectParams(), paramsFile, blockMetadata(block, {
    inputShapes: JSON.stringify(specs.map((s) => [...s.shape])),
    inputNames: JSON.stringify(inputNames),
    ...(epoch === undefined ? {} : { epoch: String(epoch) }),
  }));
  const { writeFileAtomic } = await import('../data/atomic_write.js');
  await writeFileAtomic(symbolFile, formatGraphJSON(json));
  return { symbolFile, paramsFile };
}
