// Buffer reuse for the native backend. On this kind of VM a fresh Float32Array costs far more than the
// kernel that fills it: every new page faults (2 MB: ~2–10 ms to allocate and touch vs 0.1 ms to
// multiply; measured in scratch during development), and glibc hands large blocks back to the OS on
// free. So the kernels' outputs come from a pool of buffers of disposed tensors, keyed by length.
//
// A buffer is recycled only when nothing outside the backend can still see it:
//  - only buffers the native kernels allocated are pooled (never a user's array given to tf.tensor);
//  - readSync/read hand out copies of pooled buffers, so dataSync() results stay the caller's;
//  - a buffer seen again under a second tensor or through a view (a cpu kernel's subarray) is never pooled.
import * as tf from '@tensorflow/tfjs';
import { totalmem } from 'node:os';

interface Entry { values: unknown; dtype: string; refCount: number }
interface CpuLike {
  data: { get(d: object): Entry | undefined; has(d: object): boolean };
  write(values: unknown, shape: number[], dtype: tf.DataType): object;
  readSync(d: object): unknown;
  read(d: object): Promise<unknown>;
  disposeData(d: object, force?: boolean): boolean;
}

/** Most bytes the pool keeps: a quarter of RAM, at most 4 GiB. */
const CAP = Math.min(4 * 2 ** 30, totalmem() / 4);

/** Subclass tfjs-backend-cpu's backend class with the pool. */
export function pooledBackendClass(Base: new () => tf.KernelBackend): new () => tf.KernelBackend {
  class NativeBackend extends (Base as unknown as new () => CpuLike) {
    private pool = new Map<number, Float32Array[]>();
    private pooledBytes = 0;
    /** Buffers we allocated that no one outside the backend can reference. */
    private owned = new WeakSet<Float32Array>();
    private byBuffer = new WeakMap<ArrayBufferLike, Float32Array>();
    private stored = new WeakSet<Float32Array>();

    /** A Float32Array of n elements with undefined contents (callers overwrite all of it). */
    alloc(n: number): Float32Array {
      const a = this.pool.get(n)?.pop();
      if (a) this.pooledBytes -= a.byteLength;
      const out = a ?? new Float32Array(n);
      this.owned.add(out);
      this.byBuffer.set(out.buffer, out);
      return out;
    }

    override write(values: unknown, shape: number[], dtype: tf.DataType): object {
      if (values instanceof Float32Array || values instanceof Int32Array) {
        const base = this.byBuffer.get(values.buffer);
        if (base && (values !== base || this.stored.has(base))) this.owned.delete(base); // a view, or a second owner
        if (values instanceof Float32Array) this.stored.add(values);
      }
      return super.write(values, shape, dtype);
    }

    override readSync(d: object): unknown {
      const v = this.data.get(d)?.values;
      if (v instanceof Float32Array && this.owned.has(v)) return v.slice();
      return super.readSync(d);
    }

    override async read(d: object): Promise<unknown> {
      return this.readSync(d);
    }

    override disposeData(d: object, force = false): boolean {
      const v = this.data.get(d)?.values;
      const done = super.disposeData(d, force);
      if (v instanceof Float32Array && !this.data.has(d) && this.owned.has(v)) {
        this.owned.delete(v);
        this.stored.delete(v);
        if (this.pooledBytes + v.byteLength <= CAP) {
          const list = this.pool.get(v.length) ?? [];
          list.push(v);
          this.pool.set(v.length, list);
          this.pooledBytes += v.byteLength;
        }
      }
      return done;
    }
  }
  return NativeBackend as unknown as new () => tf.KernelBackend;
}
