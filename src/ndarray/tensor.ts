// The user-facing tensor (MXNet's NDArray): a shape and dtype over a Storage, with autograd
// fields. Its GPU memory is freed on dispose() or when the tensor is garbage-collected.
import type { OpSignatures } from '../graph/registry.js';
import { DisposedError } from '../base/errors.js';
import { formatShape, sizeOf, type DType, type Shape } from '../base/types.js';
import { readStorage } from '../runtime/executor.js';
import type { Storage } from '../runtime/storage.js';
import type { TapeEntry } from './tape.js';
import { keep, track } from './scope.js';

export type GradReq = 'write' | 'add' | 'null';
export type NestedArray = number | NestedArray[];

const collector = new FinalizationRegistry<Storage>((s) => s.release());

/** Hooks the eager layer installs, so that this file needs no import cycle. */
export interface TensorHooks {
  /** Runs before every readback: reports anomalies found since the last one. */
  beforeRead(): Promise<void>;
  backward(t: Tensor, head: Tensor | null, retainGraph: boolean): void;
  zerosLike(t: Tensor): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  copy(t: Tensor): Tensor;
}
export const hooks: { current: TensorHooks | null } = { current: null };

type MethodsOf<T> = {
  [K in keyof OpSignatures<T>]: OpSignatures<T>[K] extends (x: never, ...rest: infer R) => infer O ? (...rest: R) => O : never;
};
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Tensor extends MethodsOf<Tensor> {}

export class Tensor {
  /** The tape entry that produced this tensor while recording, if any. */
  _entry: TapeEntry | null = null;
  _gradReq: GradReq | null = null;
  /** The op that computed this tensor (composites by their own name); losses read it to warn. */
  producer: string | null = null;
  private _grad: Tensor | null = null;
  private disposed = false;
  /** Why the library disposed this tensor, for the error of a later use. */
  private disposedBecause: string | null = null;
  readonly shape: Shape;

  constructor(readonly storage: Storage, shape: Shape, readonly dtype: DType) {
    this.shape = Object.freeze([...shape]);
    collector.register(this, storage, this);
    track(this);
  }

  get size(): number {
    return sizeOf(this.shape);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get requiresGrad(): boolean {
    return this._gradReq !== null && this._gradReq !== 'null' ? true : this._entry !== null;
  }

  /** The values as a flat typed array (waits for the GPU). */
  async data(): Promise<Float32Array | Int32Array> {
    this.assertAlive('data()');
    // A dispose() while the read is in flight frees the memory once the read is done, not before.
    const storage = this.storage.retain();
    try {
      const values = await readStorage(storage);
      await hooks.current!.beforeRead();
      return values;
    } finally {
      storage.release();
    }
  }

  async toArray(): Promise<NestedArray> {
    const flat = Array.from(await this.data());
    if (this.shape.length === 0) return flat[0];
    const build = (dim: number, offset: number): NestedArray[] => {
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) =>
        dim === this.shape.length - 1 ? flat[offset + i] : build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`webgluon: item() needs a tensor with one element, this one has shape ${formatShape(this.shape)}`);
    return (await this.data())[0];
  }

  /** Allocates a gradient buffer; backward() then writes (or adds) this tensor's gradient. */
  attachGrad(gradReq: GradReq = 'write'): this {
    this._gradReq = gradReq;
    this._entry = null;
    this._grad = gradReq === 'null' ? null : keep(hooks.current!.zerosLike(this));
    return this;
  }

  get grad(): Tensor | null {
    return this._grad;
  }

  _setGrad(g: Tensor): void {
    if (this._gradReq === 'null') return;
    const shaped = g.shape.length === this.shape.length ? g : g.reshape([...this.shape]);
    const next = this._gradReq === 'add' && this._grad ? hooks.current!.add(this._grad, shaped) : shaped;
    if (this._grad && this._grad !== next) this._grad.dispose();
    this._grad = keep(next);
  }

  /** Replaces the gradient (Parameter.zeroGrad, optimizers). */
  _replaceGrad(g: Tensor | null): void {
    if (this._grad && this._grad !== g) this._grad.dispose();
    this._grad = g && keep(g);
  }

  backward(headGrad?: Tensor | null, opts: { retainGraph?: boolean } = {}): void {
    this.assertAlive('backward()');
    hooks.current!.backward(this, headGrad ?? null, opts.retainGraph ?? false);
  }

  /** The same values, cut from the autograd graph. */
  detach(): Tensor {
    this.assertAlive('detach()');
    return new Tensor(this.storage.retain(), this.shape, this.dtype);
  }

  /** A new tensor with its own copy of the data. */
  copy(): Tensor {
    return hooks.current!.copy(this);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    collector.unregister(this);
    this.storage.release();
  }

  /** `using x = nd.array(…)` disposes x at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Disposes a tensor the library has replaced, saying so to whoever still holds it. */
  _retire(because: string): void {
    if (this.disposed) return;
    this.disposedBecause = because;
    this.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws unless the tensor is alive; `use` says who wanted it (`data()`, the op `add`). */
  assertAlive(use: string): void {
    if (!this.disposed) return;
    throw new DisposedError(`${use} got a ${this.dtype} tensor of shape ${formatShape(this.shape)} that was disposed` +
      (this.disposedBecause ? `: ${this.disposedBecause}` : '; its memory may already hold other values, so it cannot be used'));
  }

  toString(): string {
    return `Tensor${formatShape(this.shape)} ${this.dtype}`;
  }
}
