// exportOnnx(block, path): the block's predict-mode graph (Dropout the identity, BatchNorm on its
// running statistics), traced and simplified as block.export() does (src/nn/export.ts), written as
// an ONNX model (src/onnx) with the parameters as initializers. For a dynamic batch the block is
// traced at three batch sizes, so that every size and shape attribute is known as batch·N + fixed.
import { GraphError } from '../base/errors.js';
import type { HostValue } from '../graph/registry.js';
import { VERSION } from '../base/version.js';
import { graphToOnnx, type BatchTrace } from '../onnx/model.js';
import type { Tensor } from '../ndarray/index.js';
import { defaultInputNames, exportGraph } from './export.js';
import type { AnyHybridBlock, HybridBlock, InputSpec } from './hybrid_block.js';

export interface OnnxExportOptions {
  /** Input shapes (or example tensors); default: those of the last forward() call. */
  inputs?: readonly (InputSpec | Tensor)[];
  /**
   * true (the default): axis 0 of every input of rank ≥ 1 is the batch, of any size at run time
   * (dim_param 'N'). false: the model takes exactly the shapes of `inputs`.
   */
  dynamicBatch?: boolean;
}

export interface OnnxExportResult {
  onnxFile: string;
  inputNames: string[];
  outputNames: string[];
}

/**
 * Traced batch sizes: primes, so that a batch-sized axis rarely equals another axis by chance
 * (simplification removes a reshape or broadcast only when shapes match exactly).
 */
const TRACE_BATCHES = [7, 11, 13];

/** The output names: `output` for one output, `output0`, `output1`, … for several. */
export function onnxOutputNames(n: number): string[] {
  return n === 1 ? ['output'] : Array.from({ length: n }, (_, i) => `output${i}`);
}

/**
 * Writes `path` (`.onnx` appended unless present): an ONNX model, opset 18, that runs in ONNX
 * Runtime. Refuses, with a GraphError naming the op and the Block path, an op that has no ONNX
 * form, and a size that cannot follow the batch (then {dynamicBatch: false} exports fixed shapes).
 */
export async function exportOnnx(block: AnyHybridBlock, path: string, opts: OnnxExportOptions = {}): Promise<OnnxExportResult> {
  const given = opts.inputs ?? block._lastInputs;
  if (!given || !given.length) {
    throw new Error(`webgluon: cannot export ${block.constructor.name} to ONNX: run forward() once first (export traces the graph with ` +
      'the shapes of the last call), or pass {inputs: [{shape, dtype}, ...]}');
  }
  const dynamic = opts.dynamicBatch ?? true;
  const atBatch = (batch: number | null): InputSpec[] =>
    given.map((s) => ({ shape: batch === null || !s.shape.length ? [...s.shape] : [batch, ...s.shape.slice(1)], dtype: s.dtype }));
  // The shapes asked for first: an error there is the block's own, not the batch's.
  const asGiven = exportGraph(block as HybridBlock, atBatch(null)).graph;
  const traces: BatchTrace[] = !dynamic ? [{ graph: asGiven, batch: given[0].shape[0] ?? 1 }] : TRACE_BATCHES.map((batch) => {
    try {
      return { graph: exportGraph(block as HybridBlock, atBatch(batch)).graph, batch };
    } catch (e) {
      throw new GraphError(`cannot export ${block.constructor.name} to ONNX with a dynamic batch: its forward fails at batch size ${batch} ` +
        `(${e instanceof Error ? e.message.replace(/^webgluon: /, '') : String(e)}); export it with {dynamicBatch: false}`, { cause: e });
    }
  });
  const inputNames = defaultInputNames(given.length);
  const params = new Map<string, HostValue>();
  for (const [name, p] of block.collectParams()) {
    const t = p.data();
    params.set(name, { data: await t.data(), shape: [...t.shape], dtype: t.dtype });
  }
  const outputNames = onnxOutputNames(traces[0].graph.outputs.length);
  const bytes = graphToOnnx({ traces, inputNames, outputNames, params, name: block.constructor.name, producerVersion: VERSION });
  const onnxFile = path.endsWith('.onnx') ? path : `${path}.onnx`;
  const { writeFileAtomic } = await import('../data/atomic_write.js');
  await writeFileAtomic(onnxFile, bytes);
  return { onnxFile, inputNames, outputNames };
}
