// Direct access to a tensor's float32 storage, so that the optimizer reads gradients and updates
// weights in place instead of copying 0.5 GB per step in and out of the wasm heap for GPT-2 small
// (and allocating a fresh buffer per weight, which grows a heap that never shrinks).
// Falls back to copies on backends whose storage we do not know (the TensorFlow binding).
import * as tf from '@tensorflow/tfjs';

interface WasmBackend {
  wasm: { HEAPU8: Uint8Array; tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void } };
  dataIdMap: { get(d: object): { id: number; memoryOffset: number } | undefined };
  refCount(d: object): number;
}
interface CpuBackend {
  data: { get(d: object): { values?: unknown } | undefined };
  refCount(d: object): number;
}

/** The tensor's values without a copy where the backend allows; valid until the next tfjs allocation. */
export function readView(t: tf.Tensor): Float32Array {
  if (t.dtype === 'float32') {
    const name = tf.getBackend();
    if (name === 'wasm') {
      const be = tf.backend() as unknown as WasmBackend;
      const info = be.dataIdMap.get(t.dataId);
      if (info) return new Float32Array(be.wasm.HEAPU8.buffer, info.memoryOffset, t.size);
    } else if (name === 'cpu' || name === 'native') {
      const values = (tf.backend() as unknown as CpuBackend).data.get(t.dataId)?.values;
      if (values instanceof Float32Array) return values;
    }
  }
  return t.dataSync() as Float32Array;
}

export interface WritableView {
  data: Float32Array;
  /** Publish the new values (and drop any cache keyed on the old ones, such as XNNPACK's packed weights). */
  commit(): void;
}

/** A view through which a variable's values can be changed in place; a copy plus assign() where not possible. */
export function writableView(v: tf.Variable): WritableView {
  const name = tf.getBackend();
  if (v.dtype === 'float32' && name === 'wasm') {
    const be = tf.backend() as unknown as WasmBackend;
    const info = be.dataIdMap.get(v.dataId);
    if (info && be.refCount(v.dataId) === 1) {
      return {
        data: new Float32Array(be.wasm.HEAPU8.buffer, info.memoryOffset, v.size),
        // Unregister and register the same memory: the wasm runtime deletes the XNNPACK operators it
        // cached for this tensor id (they hold packed copies of the old weights).
        commit: () => {
          be.wasm.tfjs.disposeData(info.id);
          be.wasm.tfjs.registerTensor(info.id, v.size, info.memoryOffset);
        },
      };
    }
  } else if (v.dtype === 'float32' && (name === 'cpu' || name === 'native')) {
    const be = tf.backend() as unknown as CpuBackend;
    const values = be.data.get(v.dataId)?.values;
    if (values instanceof Float32Array && be.refCount(v.dataId) === 1) return { data: values, commit: () => {} };
  }
  const data = Float32Array.from(v.dataSync() as Float32Array);
  return { data, commit: () => tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32'))) };
}
