// Reward functions as PPO's RewardSource. PPO wants one finite score per completion, so the functions'
// rewards are combined here with the weights, a null counting as 0 (combineRewards' nansum, as GRPO
// does), and a completion that every function left null is an error rather than a silent 0.
import { combineRewards } from '../combine-rewards.js';
import { RewardSource } from '../reward-source.js';
import { checkWeights, RewardBatch, RewardFns, RewardFnsScore } from './reward-fn.js';

/** PPO's reward source over reward functions: what its score call also accepts, and what it last scored. */
export interface RewardFnsSource extends RewardSource {
  readonly names: string[];
  /** extra: the prompt file's columns per completion and the step, which PPO's RewardSource does not carry. */
  score(prompts: string[], completions: string[], responseIds?: number[][], extra?: { columns?: Record<string, unknown>[]; step?: number }): Promise<number[]>;
  /** The last call's per-function rewards, columns and metrics (for per-reward metrics and the samples table). */
  readonly last: RewardFnsScore | null;
  dispose(): void;
}

/**
 * Reward functions as PPO's RewardSource: one finite score per completion, Σ_f w_f · r_f with a null as 0
 * (combineRewards' nansum). PPO needs a score for every completion, so a completion that every function
 * left null is an error naming it. weights: one per function, or null for all 1.
 */
export function rewardFnsAsSource(fns: RewardFns, weights: number[] | null): RewardFnsSource {
  checkWeights(weights, fns.names.length);
  let last: RewardFnsScore | null = null;
  return {
    name: fns.names.join('+'),
    names: fns.names,
    get last() {
      return last;
    },
    async score(prompts, completions, responseIds, extra) {
      const batch: RewardBatch = {
        prompts,
        completions,
        completionIds: responseIds ?? completions.map(() => []),
        columns: extra?.columns ?? completions.map(() => ({})),
        step: extra?.step ?? 0,
      };
      const s = await fns.score(batch);
      const c = combineRewards(s.perFunc, weights);
      const none = c.unscorable.indexOf(true);
      if (none >= 0) throw new Error(`reward ${fns.names.join(' + ')}: every reward function returned null for completion ${none}; PPO needs a score for every completion`);
      last = s;
      return c.rewards;
    },
    dispose: () => fns.dispose(),
  };
}
