// The one door through which the model (lm/) and the optimizer (train/) reach past tfjs's public API:
// fused kernels of the current backend, in-place views of tensor storage, and the native addon's vector
// maths. Everything here degrades to "not available" on a backend that lacks it, so callers keep a plain
// tfjs path beside each fast one. tfjs is frozen at 4.22.0; what depends on its private state is in this
// folder only (engine-state.ts, tensor-views.ts).
import * as tf from '@tensorflow/tfjs';
import { nativeAddon } from './native-backend.js';

export { taping } from './engine-state.js';
export { readView, writableView, type WritableView } from './tensor-views.js';

/** Whether the current backend registers the fused kernel `name` (native-fused.ts: RlhfLayerNorm, RlhfCachedAttn, ...). */
export function hasFused(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Run a fused kernel by name; null inputs are left out. Always an array of outputs. */
export function runFused(name: string, inputs: Record<string, tf.Tensor | null>, attrs: Record<string, unknown> = {}): tf.Tensor[] {
  const ins = Object.fromEntries(Object.entries(inputs).filter(([, v]) => v)) as tf.NamedTensorMap;
  const r = tf.engine().runKernel(name, ins, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(r) ? r : [r];
}

/** Vector maths over plain Float32Arrays, on all cores (native/src); null when the native backend is not in use. */
export interface VectorMath {
  /** Σ x². */
  sumSquares(x: Float32Array): number;
  /** One AdamW step in place over w, m, v (see train/adamw.ts for the formula). */
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number,
    eps: number, decayFactor: number, bc1: number, bc2: number, clip: number): void;
  /** One token per listed row of logits [*, V] from softmax(logits / T) with uniforms u. */
  sampleRows(logits: Float32Array, V: number, rows: Int32Array, T: number, u: Float64Array, token: Int32Array, logprob: Float64Array): void;
}

export function vectorMath(): VectorMath | null {
  return nativeAddon();
}
