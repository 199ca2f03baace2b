// WGSL literal spelling of JS numbers. WGSL has no Inf/NaN literals and rejects them in constant
// expressions, so they are bitcasts of private variables the prelude declares;
// values are rounded to f32 first so that the CPU reference and the shader see the same constant.

export function f32(v: number): string {
  if (Number.isNaN(v)) return 'bitcast<f32>(wg_nan_bits)';
  if (v === Infinity) return 'bitcast<f32>(wg_inf_bits)';
  if (v === -Infinity) return '(-bitcast<f32>(wg_inf_bits))';
  const r = Math.fround(v);
  if (!Number.isFinite(r)) return r > 0 ? 'bitcast<f32>(wg_inf_bits)' : '(-bitcast<f32>(wg_inf_bits))';
  const s = r.toString();
  const lit = /[.e]/.test(s) ? s : `${s}.0`;
  return `f32(${lit})`;
}

export function u32(v: number): string {
  return `${v >>> 0}u`;
}
