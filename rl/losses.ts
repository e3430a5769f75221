// PPO's clipped losses as tf ops (they sit inside variableGrads), in TRL's form. All inputs are flat
// [N] over response positions; `mask` [N] is 1 on real tokens, and every mean is a masked mean.
//   policy: ratio = exp(logp − logp_old); L = mean(max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)))
//   value:  v_clip = clip(v, v_old − ε_v, v_old + ε_v); L = ½ mean(max((v − R)², (v_clip − R)²))
import * as tf from '@tensorflow/tfjs';
import type { PolicyKlEstimator } from './kl.js';

/** Σ x·mask / Σ mask (0 when the mask is empty). */
export function maskedMeanT(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1e-8)) as tf.Scalar);
}

export interface PolicyLossParts {
  loss: tf.Scalar;
  /** Fraction of tokens where the clipped term was the larger (the gradient is cut there). */
  clipfrac: tf.Scalar;
  /** ½ mean (log ratio)², the old-to-new KL estimate TRL logs as policy/approxkl. */
  approxkl: tf.Scalar;
  ratioMean: tf.Scalar;
  /** Variance of the ratio over real tokens (val/ratio_var). */
  ratioVar: tf.Scalar;
}

export function policyLoss(logp: tf.Tensor1D, oldLogp: tf.Tensor1D, adv: tf.Tensor1D, mask: tf.Tensor1D, clip: number): PolicyLossParts {
  const logratio = tf.sub(logp, oldLogp);
  const ratio = tf.exp(logratio);
  const l1 = tf.mul(tf.neg(adv), ratio);
  const l2 = tf.mul(tf.neg(adv), tf.clipByValue(ratio, 1 - clip, 1 + clip));
  const ratioMean = maskedMeanT(ratio, mask);
  return {
    loss: maskedMeanT(tf.maximum(l1, l2), mask),
    clipfrac: maskedMeanT(tf.cast(tf.greater(l2, l1), 'float32'), mask),
    approxkl: tf.mul(maskedMeanT(tf.square(logratio), mask), 0.5) as tf.Scalar,
    ratioMean,
    ratioVar: maskedMeanT(tf.square(tf.sub(ratio, ratioMean)), mask),
  };
}

export interface ValueLossParts {
  loss: tf.Scalar;
  clipfrac: tf.Scalar;
}

export function valueLoss(v: tf.Tensor1D, oldV: tf.Tensor1D, returns: tf.Tensor1D, mask: tf.Tensor1D, clip: number): ValueLossParts {
  const vClip = tf.minimum(tf.maximum(v, tf.sub(oldV, clip)), tf.add(oldV, clip));
  const l1 = tf.square(tf.sub(v, returns));
  const l2 = tf.square(tf.sub(vClip, returns));
  return {
    loss: tf.mul(maskedMeanT(tf.maximum(l1, l2), mask), 0.5) as tf.Scalar,
    clipfrac: maskedMeanT(tf.cast(tf.greater(l2, l1), 'float32'), mask),
  };
}

export type { PolicyKlEstimator } from './kl.js';

/**
 * KL(π_old ‖ π) estimated over real tokens, with log r = logp − logp_old:
 *   approxkl  ½·mean((log r)²)       TRL's policy/approxkl
 *   k1        mean(−log r)            TRL's old policykl, cleanrl's old_approx_kl (unbiased, may be negative)
 *   k3        mean((r − 1) − log r)   cleanrl's approx_kl (unbiased, never negative)
 */
export function policyKl(logp: tf.Tensor1D, oldLogp: tf.Tensor1D, mask: tf.Tensor1D, estimator: PolicyKlEstimator): tf.Scalar {
  return tf.tidy(() => {
    const logratio = tf.sub(logp, oldLogp);
    if (estimator === 'approxkl') return tf.mul(maskedMeanT(tf.square(logratio), mask), 0.5) as tf.Scalar;
    if (estimator === 'k1') return maskedMeanT(tf.neg(logratio), mask);
    return maskedMeanT(tf.sub(tf.expm1(logratio), logratio), mask);
  });
}
