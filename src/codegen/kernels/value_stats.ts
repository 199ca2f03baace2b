// The fused check behind anomaly detection in compiled plans: one workgroup per buffer counts its
// NaN/Inf values and finds the range of its finite ones, for many buffers in one dispatch.
import { PRELUDE } from '../prelude.js';

const WG = 128;

/** Stats written per buffer: [non-finite count, finite minimum, finite maximum]. */
export const STATS_PER_BUFFER = 3;

export interface ValueStatsKernel {
  wgsl: string;
  workgroups: readonly [number, number, number];
}

/**
 * Reads buffers of `sizes` elements (bindings 0..n-1) and writes their stats at
 * `out[(base + k) * 3 ..]` (binding n). Buffers with no finite value report min > max.
 */
export function valueStatsKernel(sizes: readonly number[], base: number): ValueStatsKernel {
  const n = sizes.length;
  const bindings = sizes.map((_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<f32>;`);
  const cases = sizes.map((size, k) => `    case ${k}u: {
      for (var i = lid; i < ${size}u; i += ${WG}u) { let x = in${k}[i]; if (wg_is_finite(x)) { lo = min(lo, x); hi = max(hi, x); } else { bad += 1.0; } }
    }`);
  const wgsl = `${bindings.join('\n')}
@group(0) @binding(${n}) var<storage, read_write> out0: array<f32>;
${PRELUDE}
var<workgroup> sBad: array<f32, ${WG}>;
var<workgroup> sLo: array<f32, ${WG}>;
var<workgroup> sHi: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var bad = 0.0;
  var lo = bitcast<f32>(0x7f7fffffu);
  var hi = -bitcast<f32>(0x7f7fffffu);
  switch wid.x {
${cases.join('\n')}
    default: {}
  }
  sBad[lid] = bad;
  sLo[lid] = lo;
  sHi[lid] = hi;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) {
      sBad[lid] += sBad[lid + s];
      sLo[lid] = min(sLo[lid], sLo[lid + s]);
      sHi[lid] = max(sHi[lid], sHi[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let at = (${base}u + wid.x) * ${STATS_PER_BUFFER}u;
    out0[at] = sBad[0];
    out0[at + 1u] = sLo[0];
    out0[at + 2u] = sHi[0];
  }
}`;
  return { wgsl, workgroups: [n, 1, 1] };
}

const F32_MAX = 3.4028234663852886e38;

/** The same stats on the host (CPU backend, tests). */
export function valueStatsOnHost(values: ArrayLike<number>): [number, number, number] {
  let bad = 0;
  let lo = F32_MAX;
  let hi = -F32_MAX;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (Number.isFinite(x)) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    } else bad++;
  }
  return [bad, lo, hi];
}
