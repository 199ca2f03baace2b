// TensorFlow.js 4.22 as a bench peer: tfjs-backend-webgpu on Dawn's navigator.gpu (the same
// `webgpu` package and adapter webgluon uses) or tfjs-backend-cpu as a CPU reference.
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create } from 'webgpu';
import { ensureRuntimeDir, installDawnCounters, type SystemStats } from '../harness.js';

export type Tf = typeof import('@tensorflow/tfjs-core');

export interface TfjsEnv {
  tf: Tf;
  kind: 'webgpu' | 'cpu';
  adapter: string;
  /** Submits what tfjs recorded and waits until the GPU queue is idle (no-op on CPU). */
  sync(): Promise<void>;
  /** Peak GPU bytes held by tfjs tensors since resetPeak() (webgpu only). */
  resetStats(): void;
  stats(): SystemStats;
}

// Dawn destroys its instance when the JS object is collected, even with devices alive: keep it.
let dawnInstance: GPU | null = null;

interface WebGpuBackendLike {
  device: GPUDevice;
  queue: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  bufferManager: {
    numBytesUsed: number;
    numBytesAllocated: number;
    acquireBuffer(...args: unknown[]): GPUBuffer;
  };
}

export async function initTfjs(kind: 'webgpu' | 'cpu'): Promise<TfjsEnv> {
  ensureRuntimeDir();
  installDawnCounters();
  let adapterName = '';
  if (kind === 'webgpu') {
    dawnInstance = create([]);
    const gpu = dawnInstance;
    (globalThis as Record<string, unknown>).__benchDawnInstance = gpu;
    // Wrap requestAdapter to learn which adapter tfjs picked.
    const nav = {
      gpu: {
        requestAdapter: async (opts?: GPURequestAdapterOptions) => {
          const a = await gpu.requestAdapter(opts);
          if (a) {
            const i = a.info;
            adapterName = `${i.vendor} ${i.architecture} ${i.description}`.trim(); // webgluon's format
          }
          return a;
        },
        getPreferredCanvasFormat: () => 'rgba8unorm',
        wgslLanguageFeatures: gpu.wgslLanguageFeatures,
      },
    };
    // Node 21+ defines a read-only navigator getter; defineProperty works in both.
    Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  }
  const tf = await import('@tensorflow/tfjs-core');
  await registerGradients();
  // Silence tfjs's "use tfjs-node" hint: it is not a peer here.
  tf.env().set('PROD', true);
  if (kind === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  else await import('@tensorflow/tfjs-backend-cpu');
  const ok = await tf.setBackend(kind);
  if (!ok) throw new Error(`tfjs: setBackend('${kind}') failed`);
  await tf.ready();

  if (kind === 'cpu') {
    return {
      tf, kind,
      adapter: `tfjs-backend-cpu (plain JS), ${cpus().length}x ${cpus()[0]?.model ?? '?'}`,
      sync: async () => {},
      resetStats: () => {},
      stats: () => ({}),
    };
  }
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  // Track the peak of tfjs's own "bytes used by tensors" through its buffer manager.
  const bm = backend.bufferManager;
  let peak = 0;
  const acquire = bm.acquireBuffer.bind(bm);
  bm.acquireBuffer = (...args: unknown[]) => {
    const b = acquire(...args);
    if (bm.numBytesUsed > peak) peak = bm.numBytesUsed;
    return b;
  };
  return {
    tf, kind,
    adapter: adapterName || 'unknown WebGPU adapter',
    sync: async () => {
      if (backend.commandEncoder) {
        backend.endComputePassEncoder();
        backend.submitQueue();
      }
      await backend.queue.onSubmittedWorkDone();
    },
    resetStats: () => { peak = bm.numBytesUsed; },
    stats: () => ({ peakBytes: peak, liveBytes: bm.numBytesUsed, allocatedBytes: bm.numBytesAllocated }),
  };
}

/**
 * tfjs-core's Node bundle ships no gradients (the @tensorflow/tfjs union package registers them
 * from `dist/register_all_gradients.js`, an ESM tree with extensionless imports that Node cannot
 * load). We bundle that one file with esbuild (tsx's own dependency) into node_modules/.cache
 * once and import it: tfjs keeps its engine and its kernel/gradient registries on globalThis, so
 * the bundled copy registers into the same engine the CJS bundle uses.
 */
async function registerGradients(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  if (g.__benchTfjsGradients) return;
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const version = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  const root = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), '..', '..');
  const outDir = join(root, '.cache', 'webgluon-bench');
  const out = join(outDir, `tfjs-core-${version}-gradients.mjs`);
  if (!existsSync(out)) {
    mkdirSync(outDir, { recursive: true });
    let esbuild: typeof import('esbuild');
    try {
      esbuild = await import('esbuild');
    } catch {
      throw new Error('tfjs gradients need esbuild (installed with tsx) to bundle tfjs-core/dist/register_all_gradients.js');
    }
    await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
  }
  // The copy re-registers flags and the platform on the shared environment; tfjs warns about
  // each one, harmlessly. Keep those warnings out of the bench output.
  const warn = console.warn;
  console.warn = () => {};
  try {
    await import(pathToFileURL(out).href);
  } finally {
    console.warn = warn;
  }
  g.__benchTfjsGradients = true;
}
