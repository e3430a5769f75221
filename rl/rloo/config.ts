// The one typed config of an RLOO run, as a schema (train/config-schema.ts): TRL's RLOOConfig semantics
// in camelCase, TRL's defaults where it has the option. Shared fields are rl/online-rl-fields.ts; the ones
// here are RLOO's own: the KL to the reference folded into the reward (β, estimator), the reward clip,
// and advantage normalisation. Clipping (epsilon, epsilonHigh) is on the sequence-level ratio.
import { Type } from '@sinclair/typebox';
import { Default, Nullable, Resolved, resolveConfig, StringEnum } from '../../train/config-schema.js';
import type { KlEstimator } from '../kl.js';
import { checkOnlineRl, rolloutFields, trainingFields, withRewardList } from '../online-rl-fields.js';

export const RlooConfigSchema = Type.Object({
  ...rolloutFields(2),
  beta: Default(Type.Number({ minimum: 0, description: 'KL coefficient: reward − beta × Σ_t KL_t per completion (TRL default 0.05); 0 loads no reference' }), 0.05),
  klEstimator: Default(StringEnum(['k1', 'k3'] as const satisfies readonly KlEstimator[], {
    description: "per-token KL folded into the reward: k1 = log π_old − log π_ref (TRL's, after the RLOO paper) or k3 (always >= 0)",
  }), 'k1'),
  normalizeAdvantages: Default(Type.Boolean({ description: 'normalise the advantages over the rollout to mean 0, std 1' }), false),
  rewardClipRange: Default(Nullable(Type.Array(Type.Number()), { description: 'clip the reward to [min, max] before the KL fold; null never clips' }), null),
  ...trainingFields(),
}, { additionalProperties: false, title: 'RlooConfig', description: 'the config of an RLOO run (rlhf rloo --config FILE)' });

export type RlooConfig = Resolved<typeof RlooConfigSchema>;

export class RlooConfigError extends Error {}

/** Fill the defaults, check every field and the rules between them, and return the resolved config. */
export function resolveRlooConfig(raw: Record<string, unknown>, source = 'config'): RlooConfig {
  const c = checkOnlineRl(resolveConfig(RlooConfigSchema, withRewardList(raw), source, RlooConfigError), source, RlooConfigError);
  if (c.rewardClipRange && !(c.rewardClipRange.length === 2 && c.rewardClipRange[0] <= c.rewardClipRange[1])) {
    throw new RlooConfigError(`${source}: rewardClipRange must be [min, max] with min <= max, got ${JSON.stringify(c.rewardClipRange)}`);
  }
  return c;
}
