// Whether kernel templates may use WGSL subgroups on this device, and with how many lanes: one
// fixed size, and the lanes of a subgroup numbered consecutively within a workgroup (probed).
import { BufferUsage, MapMode } from './gpu_constants.js';
import { envVar } from '../base/env.js';

/** The feature to request: only adapters whose subgroups have a single size are worth it. */
export function subgroupSizeOffered(adapter: GPUAdapter): number {
  if (envVar('WEBGLUON_SUBGROUPS') === '0' || !adapter.features.has('subgroups')) return 0;
  const { subgroupMinSize: min, subgroupMaxSize: max } = adapter.info;
  return min !== undefined && min === max && min >= 4 && min <= 64 ? min : 0;
}

const PROBE_WORKGROUP = 64;

/**
 * Runs one tiny kernel that records each invocation's subgroup lane and size. Templates map lane
 * l of subgroup k to invocation k·size + l (they share loads by shuffling within a subgroup), so
 * any other numbering, or a size other than the adapter's, turns subgroup kernels off.
 */
export async function probeSubgroups(device: GPUDevice, size: number): Promise<number> {
  if (size === 0) return 0;
  const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> seen: array<u32>;
@compute @workgroup_size(${PROBE_WORKGROUP})
fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) n: u32) {
  seen[i] = lane;
  seen[${PROBE_WORKGROUP}u + i] = n;
}`;
  const bytes = 2 * PROBE_WORKGROUP * 4;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label: 'subgroup probe' });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'subgroup probe' });
  const out = device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
  pass.dispatchWorkgroups(1);
  pass.end();
  encoder.copyBufferToBuffer(out, 0, read, 0, bytes);
  device.queue.submit([encoder.finish()]);
  const failed = await device.popErrorScope();
  try {
    if (failed) return 0;
    await read.mapAsync(MapMode.READ);
    const seen = new Uint32Array(read.getMappedRange().slice(0));
    read.unmap();
    for (let i = 0; i < PROBE_WORKGROUP; i++) {
      if (seen[i] !== i % size || seen[PROBE_WORKGROUP + i] !== size) return 0;
    }
    return size;
  } catch {
    return 0;
  } finally {
    out.destroy();
    read.destroy();
  }
}
