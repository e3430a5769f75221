// Several reward functions into one reward per completion, as TRL's GRPOTrainer and RLOOTrainer do it
// ("sum_then_normalize"): each function gives one number or null (no opinion) per completion; null is NaN;
// the reward is the weighted sum of the numbers a completion got (torch.nansum), and a completion that no
// function scored is "unscorable": its reward stays NaN, so it is left out of its group's baseline and its
// advantage is later set to 0. Each function is logged on its own over the completions it scored
// (rewards/<name>/mean and /std), and the combined reward as reward / reward_std over the scorable ones.
import { nanMean, nanStd } from './nan-stats.js';

export interface RewardFunctionStats {
  /** rewards/<name>/mean: mean over the completions this function scored (NaN when it scored none). */
  mean: number;
  /** rewards/<name>/std: unbiased std over the same (NaN with fewer than two). */
  std: number;
}

export interface CombinedRewards {
  /** [N] Σ_f w_f · r_f over the functions that scored completion i; NaN where none did. */
  rewards: number[];
  /** [N] true where every function gave null. */
  unscorable: boolean[];
  /** One entry per function, in order. */
  perFunction: RewardFunctionStats[];
  /** reward: mean of the combined reward over scorable completions. */
  reward: number;
  /** reward_std: unbiased std of the same. */
  rewardStd: number;
}

/**
 * perFunc[f][i] is function f's reward for completion i (null or NaN: no opinion); weights[f] its weight
 * (null: every weight 1, TRL's reward_weights = None). Infinite rewards are refused, naming the function
 * and the completion, since one would turn every advantage of its group into NaN.
 */
export function combineRewards(perFunc: readonly (readonly (number | null)[])[], weights: readonly number[] | null): CombinedRewards {
  const F = perFunc.length;
  if (F === 0) throw new Error('combineRewards: no reward functions');
  const w = weights ?? Array<number>(F).fill(1);
  if (w.length !== F) throw new Error(`rewardWeights has ${w.length} entries for ${F} reward functions; give one weight per reward`);
  const N = perFunc[0].length;
  const values = perFunc.map((col, f) => {
    if (col.length !== N) throw new Error(`reward function ${f} returned ${col.length} rewards for ${N} completions`);
    return col.map((v, i) => {
      if (v === null) return NaN;
      if (typeof v !== 'number' || v === Infinity || v === -Infinity) throw new Error(`reward function ${f} returned ${String(v)} for completion ${i}; expected a finite number or null`);
      return v;
    });
  });
  const rewards: number[] = [];
  const unscorable: boolean[] = [];
  for (let i = 0; i < N; i++) {
    let s = 0;
    let scored = false;
    for (let f = 0; f < F; f++) {
      const v = values[f][i];
      if (Number.isNaN(v)) continue;
      s += w[f] * v;
      scored = true;
    }
    rewards.push(scored ? s : NaN);
    unscorable.push(!scored);
  }
  return {
    rewards,
    unscorable,
    perFunction: values.map((col) => ({ mean: nanMean(col), std: nanStd(col) })),
    reward: nanMean(rewards),
    rewardStd: nanStd(rewards),
  };
}
