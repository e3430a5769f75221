// RLOO (Ahmadian et al. 2024) as TRL's RLOOTrainer computes it. Each prompt has K completions, adjacent.
//   1. the reward (combined over functions, rl/combine-rewards.ts; NaN = unscorable) is clipped to
//      rewardClipRange when one is set;
//   2. the KL to the reference is folded in per sequence: r_i ← r_i − β · Σ_t kl_t, with TRL's k1 estimate
//      kl_t = log π_old(y_t) − log π_ref(y_t) on the rollout's tokens (k3 as an option);
//   3. leave-one-out baseline: b_i = (Σ_{j≠i} r_j) / (n − 1) over the n scored completions of the group,
//      A_i = r_i − b_i (= n/(n−1) · (r_i − mean));
//   4. optionally A ← (A − mean A) / (std A + 1e-4) over the batch's scored completions;
//   5. NaN advantages (unscorable, or the only scored completion of its group: 0/0) become 0.
// frac_reward_zero_std counts groups whose rewards (after the KL fold) have an unbiased std of 0.
import { klRows, type KlEstimator } from '../kl.js';
import { groupsOf, nanMean, nanStd, nanSum } from '../nan-stats.js';

/** TRL's constant in the normalisation denominator. */
export const RLOO_NORMALIZE_EPS = 1e-4;

export interface SequenceKl {
  /** [B] Σ_t kl_t over each completion's masked tokens (what β multiplies). */
  perSequence: number[];
  /** kl: Σ kl / Σ mask over the batch (TRL's logged value, a per-token mean). */
  meanPerToken: number;
}

/** Per-sequence KL of the rollout policy to the reference; rows [B][T], mask 1 on counted tokens. */
export function sequenceKl(oldLogp: number[][], refLogp: number[][], mask: number[][], estimator: KlEstimator = 'k1'): SequenceKl {
  const kl = klRows(oldLogp, refLogp, mask, estimator);
  const perSequence = kl.map((row) => row.reduce((s, v) => s + v, 0));
  const tokens = mask.reduce((s, row) => s + row.reduce((a, m) => a + m, 0), 0);
  return { perSequence, meanPerToken: perSequence.reduce((s, v) => s + v, 0) / Math.max(tokens, 1) };
}

export interface RlooRewardOptions {
  /** [min, max] or null (TRL reward_clip_range). */
  rewardClipRange: readonly [number, number] | null;
  /** KL coefficient β; 0 skips the fold. */
  beta: number;
  /** [B] Σ_t kl_t per completion (sequenceKl(...).perSequence); required when beta > 0. */
  kl: readonly number[] | null;
}

/** Steps 1–2: the clipped reward minus β · sequence KL (NaN stays NaN). */
export function rlooRewards(rewards: readonly number[], o: RlooRewardOptions): number[] {
  if (o.beta !== 0 && (!o.kl || o.kl.length !== rewards.length)) {
    throw new Error(`rlooRewards: beta is ${o.beta} but kl has ${o.kl?.length ?? 'no'} entries for ${rewards.length} rewards`);
  }
  return rewards.map((r, i) => {
    const c = o.rewardClipRange ? Math.min(Math.max(r, o.rewardClipRange[0]), o.rewardClipRange[1]) : r;
    return o.beta !== 0 ? c - o.beta * o.kl![i] : c;
  });
}

export interface LooAdvantages {
  /** [B] advantages (0 for unscorable completions and lone scored ones). */
  advantages: number[];
  /** [B] the leave-one-out baseline b_i (NaN where undefined). */
  baselines: number[];
  /** [B/K] unbiased std of each group's rewards (NaN with fewer than two scored). */
  groupStd: number[];
  zeroStdGroups: number;
  /** frac_reward_zero_std. */
  fracRewardZeroStd: number;
}

/** Steps 3–5 on rewards [B] (after rlooRewards), K completions per prompt, adjacent. */
export function looAdvantages(rewards: readonly number[], K: number, normalize: boolean): LooAdvantages {
  const groups = groupsOf(rewards, K);
  const baselines: number[] = [];
  let adv: number[] = [];
  const groupStd = groups.map((g) => (K > 1 ? nanStd(g) : 0));
  for (const g of groups) {
    const n = g.length - g.filter(Number.isNaN).length;
    const sum = nanSum(g);
    for (const r of g) {
      // TRL: (nansum − r) / (n − 1); K = 1 (evaluation only) gives advantage 0
      const b = K > 1 ? (sum - r) / (n - 1) : NaN;
      baselines.push(b);
      adv.push(K > 1 ? r - b : 0);
    }
  }
  if (normalize) {
    const m = nanMean(adv);
    const s = nanStd(adv);
    adv = adv.map((a) => (a - m) / (s + RLOO_NORMALIZE_EPS));
  }
  const zeroStdGroups = groupStd.filter((s) => Math.abs(s) <= 1e-8).length;
  return {
    advantages: adv.map((a) => (Number.isNaN(a) ? 0 : a)),
    baselines,
    groupStd,
    zeroStdGroups,
    fracRewardZeroStd: groups.length ? zeroStdGroups / groups.length : 0,
  };
}
