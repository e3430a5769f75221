// RLOO (Ahmadian et al. 2024, "Back to Basics") with TRL's RLOOTrainer semantics, as the two steps that
// differ from GRPO in the shared loop (rl/group-rl.ts):
//   3. advantages: the reward minus β·(sequence KL of the rollout policy to the reference), then each
//      completion against the mean of the other K − 1 of its prompt (advantages.ts), optionally normalised;
//   4. loss: PPO's clipped surrogate on the sequence-level ratio (losses.ts). Old log-probabilities are
//      always computed at rollout (TRL), so the ratio is exact also for numIterations > 1.
import type { GroupAlgorithm, GroupRlOptions, GroupRlResult } from '../group-rl.js';
import { runGroupRl } from '../group-rl.js';
import { LOSS_METRIC_NAMES, stackLossMetrics } from '../grpo/losses.js';
import { looAdvantages, rlooRewards, sequenceKl } from './advantages.js';
import type { RlooConfig } from './config.js';
import { rlooLoss } from './losses.js';

export const RLOO: GroupAlgorithm<RlooConfig> = {
  kind: 'rloo',
  needsOldLogprobs: () => true,
  advantages(c, rewards, r) {
    const kl = c.beta > 0 ? sequenceKl(r.oldLogp!, r.refLogp!, r.mask, c.klEstimator) : null;
    const folded = rlooRewards(rewards, { rewardClipRange: c.rewardClipRange as [number, number] | null, beta: c.beta, kl: kl?.perSequence ?? null });
    const a = looAdvantages(folded, c.numGenerations, c.normalizeAdvantages);
    return { advantages: a.advantages, metrics: { frac_reward_zero_std: a.fracRewardZeroStd, ...(kl ? { kl: kl.meanPerToken } : {}) } };
  },
  loss(c, x) {
    const parts = rlooLoss(
      { logp: x.logp, oldLogp: x.oldLogp!, advantages: x.advantages, mask: x.mask, entropy: x.entropy },
      { epsilon: c.epsilon, epsilonHigh: c.epsilonHigh ?? c.epsilon, gradientAccumulationSteps: c.gradientAccumulationSteps },
    );
    return { loss: parts.loss, metrics: stackLossMetrics(parts) };
  },
  lossMetricNames: LOSS_METRIC_NAMES,
};

export function runRloo(c: RlooConfig, o: GroupRlOptions = {}): Promise<GroupRlResult> {
  return runGroupRl(RLOO, c, o);
}
