// GPU buffers come from size-classed free lists, so a training loop that repeats the same
// shapes reuses buffers and creates none after its first step.
import { counters, noteLive } from './stats.js';
import { noteAcquired } from './memory_pressure.js';
import { BufferUsage } from './gpu_constants.js';

const USAGE = () => BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** Size classes: 256 B, then four steps per power of two (at most 25% slack). */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, bytes);
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

/** How far back in a free list acquire() looks for a preferred buffer. */
const PREFER_WINDOW = 64;

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();

  constructor(private device: GPUDevice) {}

  /**
   * A free buffer of `bytes`' size class: one of `prefer` if it was freed recently, so that a
   * kernel writing a buffer it wrote before can reuse that bind group.
   */
  acquire(bytes: number, label: string, prefer: readonly GPUBuffer[] = []): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    let buf: GPUBuffer | undefined;
    // Only recently freed buffers are looked at: a kernel's previous buffers were freed one
    // step ago, and a long free list (eager garbage awaiting GC) must not cost a scan per output.
    if (list && prefer.length) {
      for (let at = list.length - 1; at >= Math.max(0, list.length - PREFER_WINDOW); at--) {
        if (!prefer.includes(list[at])) continue;
        buf = list.splice(at, 1)[0];
        break;
      }
    }
    buf ??= list?.pop();
    if (buf) {
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
  }

  /** Frees every pooled buffer (memory pressure, device loss). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    counters.pooledBytes = 0;
  }
}
