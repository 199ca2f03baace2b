// Exits 0 when Dawn finds a WebGPU adapter, 1 otherwise; used by setup.sh to decide whether
// the lavapipe driver must be installed. Prints the adapter it found.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter();
if (!adapter) {
  console.log('no WebGPU adapter');
  process.exit(1);
}
const info = adapter.info ?? {};
console.log(`WebGPU adapter: ${info.vendor ?? '?'} ${info.architecture ?? ''} ${info.description ?? ''}`.trim());
process.exit(0);
