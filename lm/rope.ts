// Rotary position embeddings (Su et al. 2021) as transformers applies them: the half-split convention
// (rotate_half pairs dimension i with i + d/2, not adjacent pairs), inverse frequencies 1/θ^(2i/d), and
// the `linear` and Llama 3 (`llama3`) frequency scalings. Keys are rotated before they enter the KV cache.
// On the native backend the rotation and its backward are one kernel each (backend/native-fused-llama.ts).
import * as tf from '@tensorflow/tfjs';
import { hasFused, runFused, taping } from '../backend/accel.js';
import type { RopeScaling } from './config.js';

/** The d/2 inverse frequencies, scaled as the config says (float64, rounded once to float32 by the caller). */
export function inverseFrequencies(d: number, theta: number, scaling: RopeScaling | null): Float64Array {
  const inv = Float64Array.from({ length: d / 2 }, (_, i) => 1 / theta ** ((2 * i) / d));
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((f) => f / scaling.factor);
  // llama3: long wavelengths slowed by `factor`, short ones kept, a smooth blend between the two bands.
  const { factor, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositions: ctx } = scaling;
  const loWavelen = ctx / lo;
  const hiWavelen = ctx / hi;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < hiWavelen) return f;
    if (wavelen > loWavelen) return f / factor;
    const smooth = (ctx / wavelen - lo) / (hi - lo);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** cos and sin of position × frequency, [B, T, 1, d] each (the two halves repeat), for positions [B, T]. */
export function ropeTables(positions: tf.Tensor2D, inv: Float64Array): [tf.Tensor4D, tf.Tensor4D] {
  const [B, T] = positions.shape;
  const half = inv.length;
  const freqs = tf.mul(tf.reshape(tf.cast(positions, 'float32'), [B, T, 1]), tf.tensor3d(Float32Array.from(inv), [1, 1, half])); // [B, T, d/2]
  const emb = tf.reshape(tf.concat([freqs, freqs], -1), [B, T, 1, 2 * half]); // [B, T, 1, d]
  return [tf.cos(emb) as tf.Tensor4D, tf.sin(emb) as tf.Tensor4D];
}

/** Whether the native rotation kernel takes these tables: [1 or B, T, 1, d] each, for x [B, T, H, d]. */
function fusedTables(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): boolean {
  const [B, T, , d] = x.shape;
  const c = cos.shape;
  return hasFused('RlhfRope') && (c[0] === 1 || c[0] === B) && c[1] === T && c[2] === 1 && c[3] === d && sin.shape.every((n, i) => n === c[i]);
}

/** rotate_half(x) = [−x₂, x₁] along the last axis. */
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const half = x.shape[x.shape.length - 1] / 2;
  const [x1, x2] = tf.split(x, [half, half], -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/**
 * x · cos + rotate_half(x) · sin, or its transpose with `inverse` (the backward pass): since
 * rotate_halfᵀ = −rotate_half, that is dy · cos − rotate_half(dy · sin), the rotation by −θ.
 */
function rotate(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D, fused: boolean, inverse: boolean): tf.Tensor4D {
  if (fused) return runFused('RlhfRope', { x, cos, sin }, { inverse })[0] as tf.Tensor4D;
  return tf.tidy(() => (inverse
    ? tf.sub(tf.mul(x, cos), rotateHalf(tf.mul(x, sin)))
    : tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin))) as tf.Tensor4D);
}

/**
 * x · cos + rotate_half(x) · sin for x [B, T, H, d], where rotate_half(x) = [−x₂, x₁]; one kernel on the
 * native backend. The gradient flows to x only (the tables come from positions); its backward is the
 * rotation by −θ. Outside a gradient tape only the forward runs.
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const fused = fusedTables(x, cos, sin);
  if (!taping()) return rotate(x, cos, sin, fused, false);
  const f = tf.customGrad(((x_: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([cos, sin]); // captured tensors die with the forward scope unless saved
    return {
      value: rotate(x_, cos, sin, fused, false),
      gradFunc: (dy: tf.Tensor, [cs, sn]: tf.Tensor[]) => [rotate(dy as tf.Tensor4D, cs as tf.Tensor4D, sn as tf.Tensor4D, fused, true)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor4D) => tf.Tensor4D;
  return f(x);
}
