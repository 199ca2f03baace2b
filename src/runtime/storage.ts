// A Storage is the memory behind one or more tensors (views share it): a GPU buffer taken from
// the pool when the first kernel that writes it is encoded, or a host array on the CPU backend.
import type { DType } from '../base/types.js';

export type HostArray = Float32Array | Int32Array;

export class Storage {
  buffer: GPUBuffer | null = null;
  /** CPU-backend contents, or data waiting to be uploaded at the next flush. */
  host: HostArray | null = null;
  needsUpload = false;
  refs = 1;
  dead = false;

  constructor(readonly size: number, readonly dtype: DType, upload?: HostArray) {
    if (upload) {
      this.host = upload;
      this.needsUpload = true;
    }
  }

  get bytes(): number {
    return Math.max(4, this.size * 4);
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (this.dead) return;
    if (--this.refs <= 0) {
      this.dead = true;
      releaseHook(this);
    }
  }
}

let releaseHook: (s: Storage) => void = () => {};
/** The executor decides when a dead storage's buffer may go back to the pool. */
export function setReleaseHook(f: (s: Storage) => void): void {
  releaseHook = f;
}

export function newHostArray(dtype: DType, size: number): HostArray {
  return dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
}
