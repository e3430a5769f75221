// RLOO's loss as tf ops, with TRL's RLOOTrainer semantics: PPO-style clipping at the sequence level. A
// completion's log-probability is the masked sum of its token log-probabilities, and the ratio is
// per sequence:
//   ρ_i = exp(Σ_t m_t log π(y_t) − Σ_t m_t log π_old(y_t))
//   L   = mean_i −min(ρ_i·A_i, clip(ρ_i, 1−ε, 1+ε_high)·A_i) / gradientAccumulationSteps
// The KL to the reference is not here: it is folded into the reward at rollout (rloo/advantages.ts).
// Every sequence counts in the mean, a fully masked (truncated) one too: its ratio is 1 and its term has
// no gradient. Clip metrics are per sequence (TRL): low_mean / high_mean / region_mean are fractions of
// sequences, low_min / high_max the min / max over sequences of the 0-or-1 flags.
import * as tf from '@tensorflow/tfjs';
import { clipMetrics, type ClipMetrics, tokenMean } from '../grpo/losses.js';

export interface RlooLossInputs {
  /** [B, T] log π_θ of each completion token: the graph to differentiate. */
  logp: tf.Tensor2D;
  /** [B, T] log π at rollout (TRL always recomputes them, also when numIterations is 1). */
  oldLogp: tf.Tensor2D;
  /** [B] one advantage per completion. */
  advantages: tf.Tensor1D;
  /** [B, T] 1 on counted tokens (padding 0; truncated completions all 0 with maskTruncatedCompletions). */
  mask: tf.Tensor2D;
  /** [B, T] per-token entropy, for the entropy metric; optional. */
  entropy?: tf.Tensor2D | null;
}

export interface RlooLossOptions {
  epsilon: number;
  /** Upper clip (config epsilonHigh ?? epsilon). */
  epsilonHigh: number;
  /** The loss is divided by this (HF Trainer's scaling of an unscaled loss). */
  gradientAccumulationSteps: number;
}

export interface RlooLossParts extends ClipMetrics {
  loss: tf.Scalar;
  /** entropy: masked token mean (null without entropy input). */
  entropy: tf.Scalar | null;
}

/** The RLOO loss of one micro-batch and its metrics. Call inside tf.tidy / variableGrads. */
export function rlooLoss(x: RlooLossInputs, o: RlooLossOptions): RlooLossParts {
  const [B] = x.logp.shape;
  const seq = (lp: tf.Tensor) => tf.sum(tf.mul(lp, x.mask), 1, true); //               [B, 1]
  const ratio = tf.exp(tf.sub(seq(x.logp), seq(x.oldLogp))); //                        [B, 1]
  const A = tf.expandDims(x.advantages, 1); //                                          [B, 1]
  const clipped = tf.clipByValue(ratio, 1 - o.epsilon, 1 + o.epsilonHigh);
  const perSeq = tf.neg(tf.minimum(tf.mul(ratio, A), tf.mul(clipped, A)));
  return {
    loss: tf.div(tf.mean(perSeq), o.gradientAccumulationSteps) as tf.Scalar,
    entropy: x.entropy ? tokenMean(x.entropy, x.mask) : null,
    ...clipMetrics(ratio, A, tf.ones([B, 1]), o.epsilon, o.epsilonHigh),
  };
}
