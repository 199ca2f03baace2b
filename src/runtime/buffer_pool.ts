// GPU buffers come from size-classed free lists, so a training loop that repeats the same
// shapes reuses buffers and creates none after its first step.
import { quarterPowerClass } from '../base/size_class.js';
import { counters, noteLive } from './stats.js';
import { noteAcquired } from './memory_pressure.js';
import { BufferUsage } from './gpu_constants.js';

const USAGE = () => BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** Size classes: 256 B, then four steps per power of two (at most 25% slack). */
export function sizeClass(bytes: number): number {
  return quarterPowerClass(bytes, 256);
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Every pooled buffer, so that a preferred one is found however many were freed after it. */
  private pooled = new Set<GPUBuffer>();

  constructor(private device: GPUDevice) {}

  /**
   * A free buffer of `bytes`' size class: one of `prefer` if it was freed recently, so that a
   * kernel writing a buffer it wrote before can reuse that bind group.
   */
  acquire(bytes: number, label: string, prefer: readonly GPUBuffer[] = []): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf: GPUBuffer | undefined;
    // Looked up by identity, not by a scan of recent frees: garbage collected in a burst between
    // two steps (hundreds of buffers of one size) used to push a plan's own buffer out of reach,
    // and its kernel then needed a new bind group.
    if (list) {
      for (const p of prefer) {
        if (p.size !== size || !this.pooled.has(p)) continue;
        list.splice(list.lastIndexOf(p), 1);
        buf = p;
        break;
      }
    }
    buf ??= list?.pop();
    if (buf) {
      this.pooled.delete(buf);
      counters.pooledBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: USAGE(), label });
      counters.allocations++;
    }
    noteLive(size, 1);
    noteAcquired(size);
    return buf;
  }

  /** Call only once every submit that used the buffer has been issued. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    noteLive(-size, -1);
    counters.pooledBytes += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.pooled.add(buf);
  }

  /** Frees every pooled buffer (memory pressure, device loss). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled.clear();
    counters.pooledBytes = 0;
  }
}
