// WGSL helpers every generated shader may call. NaN and Inf are tested by bit pattern because
// WGSL lets compilers assume floats are finite and fold `x != x` away.

export const PRELUDE = /* wgsl */ `
var<private> wg_inf_bits: u32 = 0x7f800000u;
var<private> wg_nan_bits: u32 = 0x7fc00000u;
fn wg_pow(a: f32, b: f32) -> f32 {
  if (a >= 0.0) { return pow(a, b); }
  if (b == round(b)) {
    let r = pow(-a, b);
    return select(r, -r, (i32(b) & 1) != 0);
  }
  return bitcast<f32>(wg_nan_bits);
}
fn wg_hash(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}
fn wg_uniform01(seed: u32, i: u32) -> f32 {
  return f32(wg_hash(wg_hash(seed) + i) >> 8u) / 16777216.0;
}
fn wg_is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}
`;

/**
 * What a module whose template uses subgroups starts with. The uniformity analysis cannot see
 * that the templates' subgroup calls sit in control flow uniform per subgroup (loops bounded by
 * the subgroup's own row index), so that diagnostic is off.
 */
export const SUBGROUP_DIRECTIVES = 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n';
