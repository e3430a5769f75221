// Per-token KL estimators between the policy π and the reference π_ref on tokens sampled from π
// (Schulman, "Approximating KL divergence"): with log r = log π_ref(x) − log π(x),
//   k1 = −log r           unbiased, can be negative per token, high variance
//   k3 = (r − 1) − log r  unbiased, always >= 0, lower variance
export type KlEstimator = 'k1' | 'k3';

/**
 * Estimators of the old-to-new policy KL on tokens sampled from the old policy, for PPO's early stop
 * (losses.ts policyKl): approxkl ½·mean(log r²), k1, k3. Here, without tfjs, so configs can name it.
 */
export type PolicyKlEstimator = 'approxkl' | 'k1' | 'k3';

export function klPerToken(logp: number, refLogp: number, estimator: KlEstimator): number {
  const logr = refLogp - logp;
  return estimator === 'k1' ? -logr : Math.expm1(logr) - logr;
}

/** kl[b][t] for every position; masked-out positions are 0. */
export function klRows(logp: number[][], refLogp: number[][], mask: number[][], estimator: KlEstimator): number[][] {
  return logp.map((row, b) => row.map((lp, t) => (mask[b][t] ? klPerToken(lp, refLogp[b][t], estimator) : 0)));
}
