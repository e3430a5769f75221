// The one typed config of a GRPO run, as a schema (train/config-schema.ts): TRL's GRPOConfig semantics in
// camelCase, TRL's defaults where it has the option (see rl/grpo/README.md for each). The shared fields
// (model, rewards, sampling, clipping, optimizer, checkpoints) are rl/online-rl-fields.ts; the ones here
// are GRPO's own. The type, the check, the CLI flags, the launch form and the OpenAPI component come
// from the schema; the resolved copy is written into the run folder.
import { Type } from '@sinclair/typebox';
import { Default, Resolved, resolveConfig, StringEnum } from '../../train/config-schema.js';
import { checkOnlineRl, rolloutFields, trainingFields, withRewardList } from '../online-rl-fields.js';
import type { ScaleRewards } from './advantages.js';
import type { GrpoLossType } from './losses.js';

export const GRPO_LOSS_TYPES = ['grpo', 'dr_grpo', 'dapo', 'bnpo'] as const satisfies readonly GrpoLossType[];
export const SCALE_REWARDS = ['group', 'batch', 'none'] as const satisfies readonly ScaleRewards[];

export const GrpoConfigSchema = Type.Object({
  ...rolloutFields(8),
  beta: Default(Type.Number({ minimum: 0, description: 'coefficient of the k3 KL to the reference in the loss; 0 (TRL default) loads no reference (DeepSeek-R1 used 0.001)' }), 0),
  lossType: Default(StringEnum(GRPO_LOSS_TYPES, {
    description: 'how token losses aggregate: grpo (mean per sequence, then over sequences), bnpo (over the micro-batch tokens), dr_grpo (sum / (B × maxCompletionLength)), dapo (over the tokens of the whole step; TRL default)',
  }), 'dapo'),
  scaleRewards: Default(StringEnum(SCALE_REWARDS, {
    description: "advantage scale: group (divide by the group's reward std; TRL default), batch (by the batch std, mean still per group), none (Dr. GRPO)",
  }), 'group'),
  ...trainingFields(),
}, { additionalProperties: false, title: 'GrpoConfig', description: 'the config of a GRPO run (rlhf grpo --config FILE)' });

export type GrpoConfig = Resolved<typeof GrpoConfigSchema>;

export class GrpoConfigError extends Error {}

/** Fill the defaults, check every field and the rules between them, and return the resolved config. */
export function resolveGrpoConfig(raw: Record<string, unknown>, source = 'config'): GrpoConfig {
  return checkOnlineRl(resolveConfig(GrpoConfigSchema, withRewardList(raw), source, GrpoConfigError), source, GrpoConfigError);
}
