// Rotary position embeddings (Su et al. 2021) as transformers applies them: the half-split convention
// (rotate_half pairs dimension i with i + d/2, not adjacent pairs), inverse frequencies 1/θ^(2i/d), and
// the `linear` and Llama 3 (`llama3`) frequency scalings. Keys are rotated before they enter the KV cache.
import * as tf from '@tensorflow/tfjs';
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

/** x · cos + rotate_half(x) · sin for x [B, T, H, d], where rotate_half(x) = [−x₂, x₁]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  const half = x.shape[3] / 2;
  const [x1, x2] = tf.split(x, [half, half], 3);
  const rotated = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}
