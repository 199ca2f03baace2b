// The one shared Dawn device, created lazily on first use. When no adapter exists, webgluon
// falls back to the CPU reference with a one-line warning; a lost device is recreated next call.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, globals } from 'webgpu';
import { WebgluonError } from '../graph/errors.js';
import { codegenDefaults } from '../codegen/emit.js';
import { probeSubgroups, subgroupSizeOffered } from './subgroups.js';

Object.assign(globalThis, globals);

export type Backend =
  | { kind: 'gpu'; device: GPUDevice; adapterName: string; /** 0: kernels use no subgroups */ subgroupSize: number }
  | { kind: 'cpu'; reason: string };

let pending: Promise<Backend> | null = null;
/**
 * Every Dawn instance made: one is never released while buffers of its device may still be
 * referenced (a lost device's buffers live on in old tensors), since collecting it frees them.
 */
const instances: GPU[] = [];
let ready: Backend | null = null;
let generation = 0;

export const NO_ADAPTER_HELP = `no WebGPU adapter found. On Debian/Ubuntu install Mesa's Vulkan driver:
  bash scripts/setup.sh        (or: sudo apt-get install mesa-vulkan-drivers; on bookworm add
                                bookworm-backports and install it with -t bookworm-backports)
and make sure XDG_RUNTIME_DIR is set. Set WEBGLUON_BACKEND=cpu to use the CPU reference silently.`;

async function createBackend(): Promise<Backend> {
  if (process.env.WEBGLUON_BACKEND === 'cpu') return { kind: 'cpu', reason: 'WEBGLUON_BACKEND=cpu' };
  ensureRuntimeDir();
  // Dawn's instance is destroyed when its JS object is collected, even while its device is in
  // use (use-after-free crashes on lavapipe), so the instance is held for the device's lifetime.
  const gpu = create([]);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    if (process.env.WEBGLUON_BACKEND === 'gpu') throw new WebgluonError(NO_ADAPTER_HELP);
    process.stderr.write('webgluon: no WebGPU adapter; running on the CPU reference (slow). Run scripts/setup.sh to install a driver.\n');
    return { kind: 'cpu', reason: 'no adapter' };
  }
  const l = adapter.limits;
  const subgroups = subgroupSizeOffered(adapter);
  const device = await adapter.requestDevice({
    requiredFeatures: subgroups ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    },
  });
  const mine = ++generation;
  void device.lost.then((info) => {
    // destroyDevice() moves `generation` on: only a loss nobody asked for is reported.
    if (mine !== generation) return;
    generation++;
    const why = [info.reason, info.message].filter(Boolean).join(': ') || 'no reason given';
    process.stderr.write(`webgluon: the GPU device was lost (${why}); tensors on it are gone, the next call creates a new device\n`);
    ready = null;
    pending = null;
    onLost.forEach((f) => f());
  });
  const subgroupSize = await probeSubgroups(device, subgroups);
  codegenDefaults.subgroupSize = subgroupSize;
  const info = adapter.info;
  return { kind: 'gpu', device, adapterName: `${info.vendor} ${info.architecture} ${info.description}`.trim(), subgroupSize };
}

/**
 * Mesa's lavapipe needs XDG_RUNTIME_DIR (a private 0700 folder); without it Dawn crashed here
 * in event processing whenever a kernel was still running.
 */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR) return;
  const dir = join(tmpdir(), `webgluon-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

const onLost: (() => void)[] = [];
/** Lets the pool and caches drop objects of a lost device. */
export function onDeviceLost(f: () => void): void {
  onLost.push(f);
}

export function getBackend(): Promise<Backend> {
  if (ready) return Promise.resolve(ready);
  pending ??= createBackend().then((b) => (ready = b));
  return pending;
}

/** The backend if it already exists; eager ops use it to submit without awaiting. */
export function backendIfReady(): Backend | null {
  return ready;
}

export async function getDevice(): Promise<GPUDevice> {
  const b = await getBackend();
  if (b.kind !== 'gpu') throw new WebgluonError(NO_ADAPTER_HELP);
  return b.device;
}

/** Destroys the device (tests of device loss; scripts never need it to exit). */
export function destroyDevice(): void {
  if (ready?.kind === 'gpu') {
    generation++;
    ready.device.destroy();
    onLost.forEach((f) => f());
  }
  ready = null;
  pending = null;
}
