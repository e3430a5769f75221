// Buffer reuse for the native backend. On this kind of VM a fresh Float32Array costs far more than the
// kernel that fills it: every new page faults (2 MB: ~2–10 ms to allocate and touch vs 0.1 ms to
// multiply; measured in scratch during development), and glibc hands large blocks back to the OS on
// free. So the kernels' outputs come from a pool of buffers of disposed tensors, by size class, and
// large buffers are mapped with transparent huge pages by the addon (allocBuffer in native/src/addon.cc).
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

/** Most bytes the pool keeps: a quarter of RAM, at most 4 GiB (RLHF_NATIVE_POOL_MB sets another cap). */
const CAP = process.env.RLHF_NATIVE_POOL_MB ? Number(process.env.RLHF_NATIVE_POOL_MB) * 2 ** 20 : Math.min(4 * 2 ** 30, totalmem() / 4);

/**
 * Byte size of the buffer that holds `bytes`: 0 (no pooling) below 64 KiB, else the next 2^k·{1, 1.25,
 * 1.5, 1.75}, so that tensors that grow a little each step (the KV cache) still find a free buffer.
 */
export function sizeClass(bytes: number): number {
  if (bytes < 64 * 1024) return 0;
  const p = 2 ** Math.floor(Math.log2(bytes));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) if (p * f >= bytes) return p * f;
  return 2 * p;
}

/** From here up, buffers come from the addon's huge-page mappings (one fault per 2 MiB instead of 512). */
const HUGE = Number(process.env.RLHF_NATIVE_HUGE_MIN ?? 1 << 20);

/** Subclass tfjs-backend-cpu's backend class with the pool. */
export function pooledBackendClass(
  Base: new () => tf.KernelBackend, allocBuffer: (bytes: number) => ArrayBuffer, releaseBuffer: (buffer: ArrayBuffer) => boolean,
): new () => tf.KernelBackend {
  const fresh = (bytes: number) => (bytes >= HUGE ? allocBuffer(bytes) : new ArrayBuffer(bytes));
  class NativeBackend extends (Base as unknown as new () => CpuLike) {
    /** Free ArrayBuffers by byte size (a size class, see sizeClass). */
    private pool = new Map<number, ArrayBuffer[]>();
    private pooledBytes = 0;
    /** Buffers we allocated that no one outside the backend can reference. */
    private owned = new WeakSet<Float32Array>();
    private byBuffer = new WeakMap<ArrayBufferLike, Float32Array>();
    private stored = new WeakSet<Float32Array>();

    /** A Float32Array of n elements with undefined contents (callers overwrite all of it). */
    alloc(n: number): Float32Array {
      const bytes = sizeClass(4 * n);
      if (!bytes) return new Float32Array(n); // small: malloc reuses these without faults
      const buf = this.pool.get(bytes)?.pop();
      if (buf) this.pooledBytes -= bytes;
      const out = new Float32Array(buf ?? fresh(bytes), 0, n);
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
      // A copy in V8's own memory: V8 frees it when collected. An addon mapping would be given back only by
      // a finalizer, which Node runs from the event loop: 300 reads of 8 MB in a loop grew 2.4 GB (measured).
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
        const buf = v.buffer as ArrayBuffer;
        if (this.pooledBytes + buf.byteLength <= CAP) {
          const list = this.pool.get(buf.byteLength) ?? [];
          list.push(buf);
          this.pool.set(buf.byteLength, list);
          this.pooledBytes += buf.byteLength;
        } else if (buf.byteLength >= HUGE) {
          // The pool is full: unmap it now. Left to the garbage collector, whose finalizers Node runs
          // from the event loop, a synchronous training loop never gave such buffers back (GPT-2 small
          // at batch 8 grew 2.2 GB per step); nothing else can see the buffer (the `owned` rule above).
          releaseBuffer(buf);
        }
      }
      return done;
    }
  }
  return NativeBackend as unknown as new () => tf.KernelBackend;
}
