// The device kernels run on: a GPUDevice the caller hands in (`runtime.init({ device })`), or one
// made on first use from the adapter of the environment's provider (Dawn in Node, navigator.gpu in
// a browser). Without an adapter webgluon falls back to the CPU with a one-line warning; a lost
// device is replaced at the next call.
import { DeviceError } from '../base/errors.js';
import { envVar } from '../base/env.js';
import { probeSubgroups, subgroupSizeOffered } from './subgroups.js';

export type Backend =
  | { kind: 'gpu'; device: GPUDevice; adapterName: string; /** 0: kernels use no subgroups */ subgroupSize: number }
  | { kind: 'cpu'; reason: string };

/** Finds a WebGPU adapter in one environment; `help` says how to get one where none is found. */
export interface AdapterProvider {
  name: string;
  requestAdapter(): Promise<GPUAdapter | null>;
  help: string;
}

/** The adapter a browser offers; Node's entry replaces it with Dawn's (runtime/dawn.ts). */
const navigatorProvider: AdapterProvider = {
  name: 'navigator.gpu',
  async requestAdapter() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    return gpu ? gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
  },
  help: 'no WebGPU adapter found: this environment has no navigator.gpu. Pass a GPUDevice with runtime.init({ device }), ' +
    "or in Node import webgluon's package entry, which uses Dawn.",
};

let provider: AdapterProvider = navigatorProvider;
let pending: Promise<Backend> | null = null;
let ready: Backend | null = null;
let generation = 0;

/** Where devices come from when the caller gives none. */
export function setAdapterProvider(p: AdapterProvider): void {
  provider = p;
}

export function noAdapterHelp(): string {
  return provider.help;
}

async function createBackend(): Promise<Backend> {
  if (envVar('WEBGLUON_BACKEND') === 'cpu') return { kind: 'cpu', reason: 'WEBGLUON_BACKEND=cpu' };
  const adapter = await provider.requestAdapter();
  if (!adapter) {
    if (envVar('WEBGLUON_BACKEND') === 'gpu') throw new DeviceError(provider.help);
    console.warn('webgluon: no WebGPU adapter; running on the CPU reference (slow). Run scripts/setup.sh to install a driver.');
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
  const info = adapter.info;
  return adopt(device, `${info.vendor} ${info.architecture} ${info.description}`.trim(), subgroups);
}

/** Makes `device` the backend: watches it for loss and probes its subgroups. */
async function adopt(device: GPUDevice, adapterName: string, subgroupsOffered: number): Promise<Backend> {
  const mine = ++generation;
  void device.lost.then((info) => {
    // destroyDevice() and init() move `generation` on: only a loss nobody asked for is reported.
    if (mine !== generation) return;
    generation++;
    const why = [info.reason, info.message].filter(Boolean).join(': ') || 'no reason given';
    console.warn(`webgluon: the GPU device was lost (${why}); tensors on it are gone, the next call creates a new device`);
    ready = null;
    pending = null;
    onLost.forEach((f) => f());
  });
  const subgroupSize = await probeSubgroups(device, subgroupsOffered);
  const backend: Backend = { kind: 'gpu', device, adapterName, subgroupSize };
  onReady.forEach((f) => f(backend));
  return backend;
}

/** What a caller's device offers of subgroups: one fixed size, known from its adapter's info. */
function subgroupsOfDevice(device: GPUDevice): number {
  if (!device.features.has('subgroups') || envVar('WEBGLUON_SUBGROUPS') === '0') return 0;
  const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  const min = info?.subgroupMinSize;
  return min !== undefined && min === info?.subgroupMaxSize && min >= 4 && min <= 64 ? min : 0;
}

export interface InitOptions {
  /**
   * A device the caller made (a browser page's, or one shared with another library). With Dawn
   * in Node, keep the object returned by `create()` alive as long as the device is used: Dawn
   * frees an instance's devices when the instance is collected.
   */
  device?: GPUDevice;
  /** 'cpu' runs everything on the CPU reference. */
  backend?: 'cpu';
}

/** What `runtime.init()` settled on. */
export interface DeviceInfo {
  kind: 'gpu' | 'cpu';
  /** The adapter's vendor and description, or why the CPU is used. */
  name: string;
  subgroupSize: number;
}

const describe = (b: Backend): DeviceInfo =>
  b.kind === 'gpu' ? { kind: 'gpu', name: b.adapterName, subgroupSize: b.subgroupSize } : { kind: 'cpu', name: b.reason, subgroupSize: 0 };

/**
 * Chooses the device before the first op: the caller's `device`, the CPU, or (no options) the
 * provider's adapter now rather than at the first kernel. Once tensors exist on one device,
 * choosing another is refused: their memory could not follow.
 */
export async function init(opts: InitOptions = {}): Promise<DeviceInfo> {
  const current = ready ?? (pending ? await pending : null);
  if (opts.device) {
    if (current?.kind === 'gpu' && current.device === opts.device) return describe(current);
    if (current) throw new DeviceError('runtime.init({ device }) must come before the first op: webgluon already runs on ' + describe(current).name);
    pending = adopt(opts.device, (opts.device as { label?: string }).label || 'a device given to runtime.init', subgroupsOfDevice(opts.device))
      .then((b) => (ready = b));
    return describe(await pending);
  }
  if (opts.backend === 'cpu') {
    if (current?.kind === 'cpu') return describe(current);
    if (current) throw new DeviceError('runtime.init({ backend: "cpu" }) must come before the first op: webgluon already runs on ' + describe(current).name);
    ready = { kind: 'cpu', reason: 'runtime.init({ backend: "cpu" })' };
    pending = Promise.resolve(ready);
    return describe(ready);
  }
  return describe(await getBackend());
}

const onLost: (() => void)[] = [];
/** Lets the pool and caches drop objects of a lost device. */
export function onDeviceLost(f: () => void): void {
  onLost.push(f);
}

const onReady: ((b: Backend) => void)[] = [];
/** Tells the layers above what a new device offers (code generation follows its subgroup size). */
export function onDeviceReady(f: (b: Backend) => void): void {
  onReady.push(f);
  if (ready) f(ready);
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
  if (b.kind !== 'gpu') throw new DeviceError(provider.help);
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
