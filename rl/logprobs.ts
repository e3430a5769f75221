// Log-probability of chosen tokens and the entropy of each row of logits, at a sampling temperature,
// as one tf.customGrad. Why custom: tf.gather's gradient (UnsortedSegmentSum) has no wasm kernel, and
// a composition would keep the [N, V] softmax, log-softmax and one-hot alive for the backward pass.
// Here the forward saves only the logits and targets, and the backward recomputes the softmax.
//   z = logits / τ;  logp = z_y − lse(z);  H = lse(z) − Σ p z
//   ∂logp/∂z_j = 1[j=y] − p_j;  ∂H/∂z_j = −p_j (z_j − Σ p z);  and ∂z/∂logits = 1/τ
import * as tf from '@tensorflow/tfjs';
import { headRows, targetRows, WHOLE_LOGITS } from '../lm/head-rows.js';
import { oneHotF32, tiedHead } from '../lm/ops.js';

type GradFn = (...args: unknown[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** logits [N, V], targets [N] int32 -> [N, 2]: column 0 log π(y), column 1 the entropy H(π). Call inside tf.tidy. */
export function logprobsAndEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, temperature: number): tf.Tensor2D {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 for logprobs, got ${temperature}`);
  const [N, V] = logits.shape;
  const f: GradFn = (x: unknown, save: unknown) => {
    const logitsIn = x as tf.Tensor2D;
    (save as tf.GradSaveFunc)([logitsIn, targets]);
    const value = tf.tidy(() => {
      const z = tf.div(logitsIn, temperature);
      const lse = tf.logSumExp(z, -1); // [N]
      const idx = tf.stack([tf.range(0, N, 1, 'int32'), targets], 1); // [N, 2]
      const logp = tf.sub(tf.gatherND(z, idx), lse);
      const ez = tf.sum(tf.mul(tf.softmax(z), z), -1); // Σ p z
      return tf.stack([logp, tf.sub(lse, ez)], 1);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, [ls, ts]: tf.Tensor[]) => tf.tidy(() => {
        const z = tf.div(ls, temperature);
        const p = tf.softmax(z);
        const ez = tf.sum(tf.mul(p, z), -1, true); // [N, 1]
        const [dLogp, dH] = tf.split(dy, 2, 1); //     [N, 1] each
        const oneHot = oneHotF32(ts as tf.Tensor1D, V);
        const g = tf.sub(tf.mul(dLogp, tf.sub(oneHot, p)), tf.mul(dH, tf.mul(p, tf.sub(z, ez))));
        return [tf.div(g, temperature)];
      }),
    };
  };
  return (tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor)(logits) as tf.Tensor2D;
}

/**
 * The same statistics straight from final hidden states h [N, C] and the LM head's weight w [V, C]: when
 * the logits would be large (Qwen's 151,936 tokens), a slice of rows at a time, never the [N, V] whole
 * (lm/head-rows.ts). Call inside tf.tidy.
 */
export function headLogprobsAndEntropy(h: tf.Tensor2D, w: tf.Tensor2D, targets: tf.Tensor1D, temperature: number, slice?: number): tf.Tensor2D {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0 for logprobs, got ${temperature}`);
  const V = w.shape[0];
  if (slice === undefined && h.shape[0] * V <= WHOLE_LOGITS) return logprobsAndEntropy(tiedHead(h, w), targets, temperature);
  return headRows(h, w, {
    k: 2,
    value: (logits, r, [ts]) => {
      const n = r[1] - r[0];
      const z = tf.div(logits, temperature);
      const lse = tf.logSumExp(z, -1); // [n]
      const logp = tf.sub(tf.gatherND(z, tf.stack([tf.range(0, n, 1, 'int32'), targetRows(ts, r)], 1)), lse);
      return tf.stack([logp, tf.sub(lse, tf.sum(tf.mul(tf.softmax(z), z), -1))], 1) as tf.Tensor2D;
    },
    grad: (logits, r, dy, [ts]) => {
      const z = tf.div(logits, temperature);
      const p = tf.softmax(z);
      const ez = tf.sum(tf.mul(p, z), -1, true); // [n, 1]
      const [dLogp, dH] = tf.split(dy, 2, 1); //    [n, 1] each
      const g = tf.sub(tf.mul(dLogp, tf.sub(oneHotF32(targetRows(ts, r), V), p)), tf.mul(dH, tf.mul(p, tf.sub(z, ez))));
      return tf.div(g, temperature) as tf.Tensor2D;
    },
  }, slice, [targets]);
}
