// CPU references of the heavy kernels (dot, conv2d and its two backward ops, pooling): plain loops
// over Float32Array, written from the definitions and not from the WGSL, so tests use them as oracle.
import type { HostValue } from '../graph/registry.js';
import type { Attrs, Shape } from '../base/types.js';

type Reference = (x: readonly HostValue[], attrs: Attrs, outShape: Shape) => Float32Array;

/** A pair attribute (stride, pad, kernel) given as one number or as [h, w]. */
function pair(v: Attrs[string], fallback: number): [number, number] {
  if (v === undefined || v === null) return [fallback, fallback];
  if (typeof v === 'number') return [v, v];
  const list = v as readonly number[];
  return [list[0], list[1] ?? list[0]];
}

/** out[b] = op(a[b]) · op(b[b]); a 2-D operand is shared by every batch. */
export const dotReference: Reference = ([a, b], attrs, outShape) => {
  const ta = attrs.transposeA === true;
  const tb = attrs.transposeB === true;
  const rank = outShape.length;
  const M = outShape[rank - 2];
  const N = outShape[rank - 1];
  const batch = rank === 3 ? outShape[0] : 1;
  const K = ta ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const aBatch = a.shape.length === 3 ? M * K : 0;
  const bBatch = b.shape.length === 3 ? K * N : 0;
  const out = new Float32Array(batch * M * N);
  for (let p = 0; p < batch; p++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a.data[p * aBatch + (ta ? k * M + m : m * K + k)];
          const bv = b.data[p * bBatch + (tb ? n * K + k : k * N + n)];
          s += av * bv;
        }
        out[(p * M + m) * N + n] = s;
      }
    }
  }
  return out;
};

interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  O: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; ph: number; pw: number;
}

function convGeometry(x: Shape, w: Shape, y: Shape, attrs: Attrs): ConvGeometry {
  const [sh, sw] = pair(attrs.stride, 1);
  const [ph, pw] = pair(attrs.pad, 0);
  return { N: x[0], C: x[1], H: x[2], W: x[3], O: w[0], KH: w[2], KW: w[3], OH: y[2], OW: y[3], sh, sw, ph, pw };
}

/** y[n,o,i,j] = Σ_{c,u,v} x[n, c, i·sh − ph + u, j·sw − pw + v] · w[o,c,u,v]; outside x is 0. */
export const conv2dReference: Reference = ([x, w], attrs, outShape) => {
  const g = convGeometry(x.shape, w.shape, outShape, attrs);
  const out = new Float32Array(g.N * g.O * g.OH * g.OW);
  for (let n = 0; n < g.N; n++) {
    for (let o = 0; o < g.O; o++) {
      for (let i = 0; i < g.OH; i++) {
        for (let j = 0; j < g.OW; j++) {
          let s = 0;
          for (let c = 0; c < g.C; c++) {
            for (let u = 0; u < g.KH; u++) {
              const ih = i * g.sh - g.ph + u;
              if (ih < 0 || ih >= g.H) continue;
              for (let v = 0; v < g.KW; v++) {
                const iw = j * g.sw - g.pw + v;
                if (iw < 0 || iw >= g.W) continue;
                s += x.data[((n * g.C + c) * g.H + ih) * g.W + iw] * w.data[((o * g.C + c) * g.KH + u) * g.KW + v];
              }
            }
          }
          out[((n * g.O + o) * g.OH + i) * g.OW + j] = s;
        }
      }
    }
  }
  return out;
};

/** dx: every (output, tap) pair scatters dy·w back to the input element it read. */
export const conv2dBackwardDataReference: Reference = ([dy, w], attrs, outShape) => {
  const g = convGeometry(outShape, w.shape, dy.shape, attrs);
  const dx = new Float32Array(g.N * g.C * g.H * g.W);
  for (let n = 0; n < g.N; n++) {
    for (let o = 0; o < g.O; o++) {
      for (let i = 0; i < g.OH; i++) {
        for (let j = 0; j < g.OW; j++) {
          const d = dy.data[((n * g.O + o) * g.OH + i) * g.OW + j];
          for (let c = 0; c < g.C; c++) {
            for (let u = 0; u < g.KH; u++) {
              const ih = i * g.sh - g.ph + u;
              if (ih < 0 || ih >= g.H) continue;
              for (let v = 0; v < g.KW; v++) {
                const iw = j * g.sw - g.pw + v;
                if (iw < 0 || iw >= g.W) continue;
                dx[((n * g.C + c) * g.H + ih) * g.W + iw] += d * w.data[((o * g.C + c) * g.KH + u) * g.KW + v];
              }
            }
          }
        }
      }
    }
  }
  return dx;
};

/** dw[o,c,u,v] = Σ_{n,i,j} dy[n,o,i,j] · x[n, c, i·sh − ph + u, j·sw − pw + v]. */
export const conv2dBackwardWeightReference: Reference = ([x, dy], attrs, outShape) => {
  const g = convGeometry(x.shape, outShape, dy.shape, attrs);
  const dw = new Float32Array(g.O * g.C * g.KH * g.KW);
  for (let o = 0; o < g.O; o++) {
    for (let c = 0; c < g.C; c++) {
      for (let u = 0; u < g.KH; u++) {
        for (let v = 0; v < g.KW; v++) {
          let s = 0;
          for (let n = 0; n < g.N; n++) {
            for (let i = 0; i < g.OH; i++) {
              const ih = i * g.sh - g.ph + u;
              if (ih < 0 || ih >= g.H) continue;
              for (let j = 0; j < g.OW; j++) {
                const iw = j * g.sw - g.pw + v;
                if (iw < 0 || iw >= g.W) continue;
                s += dy.data[((n * g.O + o) * g.OH + i) * g.OW + j] * x.data[((n * g.C + c) * g.H + ih) * g.W + iw];
              }
            }
          }
          dw[((o * g.C + c) * g.KH + u) * g.KW + v] = s;
        }
      }
    }
  }
  return dw;
};

interface PoolWindow {
  /** In-bounds input offsets of the window in row-major order (within one channel plane). */
  cells: number[];
  /** What an average divides by: the window up to the padded input's edge, or only its cells. */
  count: number;
}

/**
 * MXNet's pool.h windows: window (i, j) starts at (i·sh − ph, j·sw − pw) and ends kernel later but
 * not past the padded input (with ceilMode the last ones would); countIncludePad (default) counts
 * the padding it covers, else only the cells inside the input.
 */
function poolWindows(x: Shape, y: Shape, attrs: Attrs): { windows: PoolWindow[]; planes: number; H: number; W: number } {
  const [kh, kw] = pair(attrs.kernel, 1);
  const [sh, sw] = pair(attrs.stride, 1);
  const [ph, pw] = pair(attrs.pad, 0);
  const includePad = attrs.countIncludePad !== false;
  const [H, W, OH, OW] = [x[2], x[3], y[2], y[3]];
  const windows: PoolWindow[] = [];
  for (let i = 0; i < OH; i++) {
    for (let j = 0; j < OW; j++) {
      const cells: number[] = [];
      for (let u = 0; u < kh; u++) {
        for (let v = 0; v < kw; v++) {
          const ih = i * sh - ph + u;
          const iw = j * sw - pw + v;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W) cells.push(ih * W + iw);
        }
      }
      const h0 = i * sh - ph;
      const w0 = j * sw - pw;
      const padded = (Math.min(h0 + kh, H + ph) - h0) * (Math.min(w0 + kw, W + pw) - w0);
      windows.push({ cells, count: includePad ? padded : cells.length });
    }
  }
  return { windows, planes: x[0] * x[1], H, W };
}

/** Max ignores padding; avg divides by the window's count (MXNet's count_include_pad by default). */
export const pool2dReference: Reference = ([x], attrs, outShape) => {
  const { windows, planes, H, W } = poolWindows(x.shape, outShape, attrs);
  const isMax = (attrs.poolType ?? 'max') === 'max';
  const out = new Float32Array(planes * windows.length);
  for (let p = 0; p < planes; p++) {
    windows.forEach((win, k) => {
      let acc = isMax ? -Infinity : 0;
      for (const cell of win.cells) {
        const v = x.data[p * H * W + cell];
        acc = isMax ? (v > acc ? v : acc) : acc + v;
      }
      out[p * windows.length + k] = isMax ? acc : acc / win.count;
    });
  }
  return out;
};

/** Max sends each window's gradient to its first maximal element; avg spreads it evenly. */
export const pool2dBackwardReference: Reference = ([x, , dy], attrs, outShape) => {
  const { windows, planes, H, W } = poolWindows(outShape, dy.shape, attrs);
  const isMax = (attrs.poolType ?? 'max') === 'max';
  const dx = new Float32Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    windows.forEach((win, k) => {
      const d = dy.data[p * windows.length + k];
      if (!isMax) {
        for (const cell of win.cells) dx[p * H * W + cell] += d / win.count;
        return;
      }
      let best = -1;
      for (const cell of win.cells) {
        if (best < 0 || x.data[p * H * W + cell] > x.data[p * H * W + best]) best = cell;
      }
      if (best >= 0) dx[p * H * W + best] += d;
    });
  }
  return dx;
};
