// Connects HybridBlock.hybridize() to the compiler: the block's traced function, with its
// parameters as trailing inputs, becomes one compiled plan (and one tape entry when recording).
import { compileFunction } from '../graph/compile.js';
import type { TraceFn } from '../graph/trace.js';
import { registerHybridCompiler } from './hybrid_block.js';

registerHybridCompiler((block, traced) => {
  const compiled = compileFunction(traced.fn as unknown as TraceFn, { name: block.constructor.name });
  return (inputs, params) => compiled(...inputs, ...params);
});
