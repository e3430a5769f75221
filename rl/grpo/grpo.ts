// GRPO (Shao et al. 2024, DeepSeekMath) with TRL's GRPOTrainer semantics, as the two steps that differ from
// RLOO in the shared loop (rl/group-rl.ts):
//   3. advantages: each completion's reward against its group's (advantages.ts: scaleRewards group | batch |
//      none); groups whose rewards are all equal give 0 and are counted (frac_reward_zero_std);
//   4. loss: per token −min(ρA, clip(ρ, 1−ε, 1+ε_high)A) + β·k3 to the reference, aggregated by lossType
//      (losses.ts). With numIterations = 1 the ratio is taken against log π itself, detached (ρ = 1, as TRL).
import type { GroupAlgorithm, GroupRlOptions, GroupRlResult } from '../group-rl.js';
import { runGroupRl } from '../group-rl.js';
import { groupAdvantages } from './advantages.js';
import type { GrpoConfig } from './config.js';
import { grpoLoss, LOSS_METRIC_NAMES, stackLossMetrics } from './losses.js';

export const GRPO: GroupAlgorithm<GrpoConfig> = {
  kind: 'grpo',
  needsOldLogprobs: (c) => c.numIterations > 1,
  advantages(c, rewards) {
    const a = groupAdvantages(rewards, c.numGenerations, c.scaleRewards);
    return { advantages: a.advantages, metrics: { frac_reward_zero_std: a.fracRewardZeroStd } };
  },
  loss(c, x, numItemsInBatch) {
    const parts = grpoLoss(
      { logp: x.logp, oldLogp: x.oldLogp, refLogp: x.refLogp, advantages: x.advantages, mask: x.mask, entropy: x.entropy },
      { lossType: c.lossType, epsilon: c.epsilon, epsilonHigh: c.epsilonHigh ?? c.epsilon, beta: c.beta, maxCompletionLength: c.maxCompletionLength, numItemsInBatch, gradientAccumulationSteps: c.gradientAccumulationSteps },
    );
    return { loss: parts.loss, metrics: stackLossMetrics(parts) };
  },
  lossMetricNames: LOSS_METRIC_NAMES,
};

export function runGrpo(c: GrpoConfig, o: GroupRlOptions = {}): Promise<GroupRlResult> {
  return runGroupRl(GRPO, c, o);
}
