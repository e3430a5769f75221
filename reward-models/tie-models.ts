// Preference models with ties, as functions of the reward margin d = r_w − r_l of a pair (the reward
// model's scores, or DPO's implicit rewards: d = β × the log-ratio margin). Chen et al. (2024), "On
// Extending Direct Preference Optimization to Accommodate Ties", section 3, in their notation with
// strengths λ = eʳ:
//   Bradley-Terry  P(w ≻ l) = λ_w / (λ_w + λ_l) = σ(d)
//   Rao-Kupper     P(w ≻ l) = λ_w / (λ_w + ν λ_l) = σ(d − α),  α = log ν,  ν = ν_RK ≥ 1
//                  P(w ~ l) = (ν² − 1) λ_w λ_l / ((λ_w + ν λ_l)(λ_l + ν λ_w)) = (ν² − 1) σ(d − α) σ(−d − α)
//   Davidson       P(w ≻ l) = λ_w / (λ_w + λ_l + 2ν √(λ_w λ_l)) = 1 / (1 + e^−d + 2ν e^−d/2),  ν = ν_D ≥ 0
//                  P(w ~ l) = 2ν √(λ_w λ_l) / (λ_w + λ_l + 2ν √(λ_w λ_l)) = 2ν / (e^d/2 + e^−d/2 + 2ν)
// (the third outcome, l ≻ w, is the win probability at −d; the three sum to 1). ν = 1 (Rao-Kupper) or ν = 0
// (Davidson) is Bradley-Terry. The loss of a pair is the negative log-likelihood of what was observed:
// −log P(w ≻ l) for a preference, −log P(w ~ l) for a tie. In stable forms (softplus(x) = log(1 + eˣ)):
//   Rao-Kupper  win  softplus(α − d)                       tie  softplus(α − d) + softplus(α + d) − log(ν² − 1)
//   Davidson    win  softplus(−d) + log(1 + ν sech(d/2))   tie  log(cosh(d/2) + ν) − log ν
// since 1 + e^−d + 2ν e^−d/2 = (1 + e^−d)(1 + ν sech(d/2)) and e^d/2 + e^−d/2 + 2ν = 2(cosh(d/2) + ν).
// 'equal' is not a likelihood: Bradley-Terry with the soft label ½ on a tie, −½ log σ(d) − ½ log σ(−d),
// whose minimum is d = 0 (what train-rm's ties: equal has always done).
import * as tf from '@tensorflow/tfjs';
import type { TieModel } from './preference-options.js';

/** log(1 + eˣ), stable for large |x|, from kernels every backend has. */
export function softplus(x: tf.Tensor): tf.Tensor {
  return tf.add(tf.relu(x), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(x))))));
}

/** [P] −log P(w ≻ l) of each margin d [P] under Bradley-Terry (model null) or a tie model with its ν. */
export function winNll(d: tf.Tensor, model: TieModel | null, nu: number): tf.Tensor {
  if (model === 'rao-kupper') return softplus(tf.sub(Math.log(nu), d));
  if (model === 'davidson' && nu > 0) return tf.add(softplus(tf.neg(d)), tf.log(tf.add(1, tf.mul(nu, sech(tf.mul(0.5, d))))));
  return softplus(tf.neg(d));
}

/** [P] −log P(w ~ l) of each margin d [P] under a tie model (ν > 1 for Rao-Kupper, ν > 0 for Davidson). */
export function tieNll(d: tf.Tensor, model: TieModel, nu: number): tf.Tensor {
  if (model === 'rao-kupper') {
    const a = Math.log(nu);
    return tf.sub(tf.add(softplus(tf.sub(a, d)), softplus(tf.add(a, d))), Math.log(nu * nu - 1));
  }
  return tf.sub(logCoshPlus(tf.mul(0.5, d), nu), Math.log(nu));
}

/** [P] the target-½ term of ties: equal, −½ log σ(d) − ½ log σ(−d). */
export function equalTieLoss(d: tf.Tensor): tf.Tensor {
  return tf.mul(0.5, tf.add(softplus(d), softplus(tf.neg(d))));
}

/** sech(u) = 2e^−|u| / (1 + e^−2|u|): no overflow (cosh would reach ∞ and its gradient ∞/∞). */
function sech(u: tf.Tensor): tf.Tensor {
  const e = tf.exp(tf.neg(tf.abs(u)));
  return tf.div(tf.mul(2, e), tf.add(1, tf.square(e)));
}

/** log(cosh(u) + ν) = |u| + log((1 + e^−2|u|)/2 + ν e^−|u|), stable for large |u|. */
function logCoshPlus(u: tf.Tensor, nu: number): tf.Tensor {
  const a = tf.abs(u);
  const e = tf.exp(tf.neg(a));
  return tf.add(a, tf.log(tf.add(tf.mul(0.5, tf.add(1, tf.square(e))), tf.mul(nu, e))));
}

/** The three outcome probabilities of a margin d, in plain numbers (reports, tests' sanity). */
export function outcomeProbabilities(d: number, model: TieModel | null, nu: number): { win: number; tie: number; loss: number } {
  if (model === 'rao-kupper') {
    const a = Math.log(nu);
    const win = 1 / (1 + Math.exp(a - d));
    const loss = 1 / (1 + Math.exp(a + d));
    return { win, tie: (nu * nu - 1) * win * loss, loss };
  }
  const z = model === 'davidson' ? 2 * nu : 0;
  const denom = Math.exp(d / 2) + Math.exp(-d / 2) + z;
  return { win: Math.exp(d / 2) / denom, tie: z / denom, loss: Math.exp(-d / 2) / denom };
}
