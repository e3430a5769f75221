// GRPO's group-relative advantages, as TRL's GRPOTrainer computes them (multi_objective_aggregation
// "sum_then_normalize"). The batch is B = P·G rewards, a prompt's G completions adjacent. With μ_g the mean
// of group g and σ the scale (NaN-ignoring, unbiased std, TRL's nanstd):
//   group:  A_i = (r_i − μ_g) / (σ_g + 1e-4)       σ_g over the group
//   batch:  A_i = (r_i − μ_g) / (σ_B + 1e-4)       σ_B over the whole batch; the mean stays per group
//   none:   A_i =  r_i − μ_g                       (Dr. GRPO); σ_g is still measured, for the metric
// A NaN reward (unscorable) or a NaN scale (one scored completion in a group) gives a NaN advantage, set
// to 0: no learning signal. A group "has zero std" when its scale is within 1e-8 of 0 (torch.isclose's
// default tolerance); its advantages are 0 and frac_reward_zero_std counts it (per completion, so in batch
// mode it is 0 or 1).
import { groupsOf, nanMean, nanStd } from '../nan-stats.js';

export { combineRewards } from '../combine-rewards.js';
export type { CombinedRewards, RewardFunctionStats } from '../combine-rewards.js';

export type ScaleRewards = 'group' | 'batch' | 'none';

/** TRL's constant in the denominator: keeps a near-constant group from blowing up. */
export const ADVANTAGE_EPS = 1e-4;

export interface GroupAdvantages {
  /** [B] one advantage per completion (0 for unscorable ones and zero-std groups). */
  advantages: number[];
  /** [B/G] mean reward of each group over its scored completions (NaN when none was scored). */
  groupMean: number[];
  /** [B/G] unbiased std of each group over its scored completions (NaN with fewer than two). */
  groupStd: number[];
  /** Std over the whole batch (the scale in batch mode). */
  batchStd: number;
  /** How many groups had a scale of 0 (in batch mode: every group or none). */
  zeroStdGroups: number;
  /** frac_reward_zero_std: the fraction of completions whose scale was 0. */
  fracRewardZeroStd: number;
}

const isZero = (s: number) => Math.abs(s) <= 1e-8; // torch.isclose(s, 0): atol 1e-8; NaN is never close

/** rewards [B] (NaN: unscorable), G completions per prompt, adjacent. */
export function groupAdvantages(rewards: readonly number[], G: number, scale: ScaleRewards): GroupAdvantages {
  const groups = groupsOf(rewards, G);
  const groupMean = groups.map(nanMean);
  // TRL: a group of one has std 0 (only reachable in evaluation); the batch std of a single reward also
  const groupStd = groups.map((g) => (G > 1 ? nanStd(g) : 0));
  const batchStd = rewards.length > 1 ? nanStd(rewards) : 0;
  const advantages: number[] = [];
  let zeroStdGroups = 0;
  groups.forEach((group, g) => {
    const s = scale === 'batch' ? batchStd : groupStd[g];
    if (isZero(s)) zeroStdGroups++;
    for (const r of group) {
      let a = r - groupMean[g];
      if (scale !== 'none') a /= s + ADVANTAGE_EPS;
      advantages.push(Number.isNaN(a) ? 0 : a);
    }
  });
  return { advantages, groupMean, groupStd, batchStd, zeroStdGroups, fracRewardZeroStd: groups.length ? zeroStdGroups / groups.length : 0 };
}
