// The one typed config of a PPO run, as a schema (train/config-schema.ts): every field documented, with its
// default. Defaults follow TRL's PPOConfig where it has the option. The type, the check, the CLI flags
// (cli/ppo.ts makes --kebab-case from each field, so every field is overridable from a flag), the launch
// form and the OpenAPI component come from it. The resolved copy is written into the run folder as
// ppo-config.json.
import { Type } from '@sinclair/typebox';
import { dedupeTargets, LoraSchema } from '../lm/lora-config.js';
import { Default, Nullable, Resolved, resolveConfig, StringEnum } from '../train/config-schema.js';
import type { KlEstimator, PolicyKlEstimator } from './kl.js';
import { OnlineFeedbackSchema } from './online/config.js';

const int = (minimum: number, def: number, description: string) => Default(Type.Integer({ minimum, description }), def);
const num = (minimum: number, def: number, description: string, maximum?: number) => Default(Type.Number({ minimum, ...(maximum !== undefined ? { maximum } : {}), description }), def);
const path = (description: string) => Type.String({ minLength: 1, description });

export const PpoConfigSchema = Type.Object({
  model: path('policy checkpoint folder (a Hugging Face GPT-2 folder with tokenizer.json); also the reference model'),
  prompts: path('prompts file: .txt, one per line, or .jsonl of {"prompt"}'),
  reward: path('reward source: sentiment or length (built-in rules), a reward-model folder, or a JS/TS module exporting score(prompt, completion)'),
  goldReward: Default(Nullable(Type.String({ minLength: 1 }), { description: 'a programmatic gold reward (rule name or module) logged as objective/gold_scores, never optimised; null for none' }), null),
  out: path('run folder: checkpoints, ppo-config.json, and final/'),
  steps: int(1, 200, 'PPO iterations (rollout + optimisation) in total; a resumed run continues up to this'),
  batchSize: int(1, 64, 'rollouts (prompts) per iteration'),
  miniBatchSize: int(1, 16, 'rollouts per gradient update; batchSize must be a multiple of it'),
  ppoEpochs: int(1, 4, "passes over each iteration's rollouts (TRL num_ppo_epochs)"),
  maxNewTokens: int(1, 24, 'most tokens per completion (TRL response_length)'),
  maxPromptTokens: int(1, 64, 'prompts longer than this keep their last tokens'),
  temperature: num(1e-6, 0.7, 'sampling temperature; logprobs for the PPO ratio and the KL use the same temperature', 100),
  stop: Default(Type.Array(Type.String({ minLength: 1 }), { description: 'strings that end a completion (the text is cut before one); EOS always ends it' }), []),
  maskStopTokens: Default(Type.Boolean({ description: 'mask out of every loss the token that completes a stop string (its text is not what the reward saw); false trains on it as on EOS, the action that ended the completion' }), false),
  lr: num(0, 1e-5, 'peak learning rate (AdamW)', 10),
  lrSchedule: Default(StringEnum(['linear', 'linear-per-update', 'constant'], {
    description: "linear: lr·(1 − (step − 1)/steps) per iteration, the last at lr/steps (TRL's PPOTrainer and the N+ details); linear-per-update: HF's linear schedule stepped after every minibatch update, towards 0 at the last planned update; constant keeps lr",
  }), 'linear'),
  weightDecay: num(0, 0, 'AdamW decoupled weight decay (matrices only)', 10),
  adamEpsilon: num(0, 1e-8, "AdamW's ε in the update's denominator (TRL / transformers 1e-8; the N+ details use 1e-5)", 1),
  maxGradNorm: num(0, 1, 'global gradient-norm clip; 0 disables'),
  klCoef: num(0, 0.05, 'KL coefficient β (the initial value when adaptive)'),
  klEstimator: Default(StringEnum(['k1', 'k3'] as const satisfies readonly KlEstimator[], { description: 'per-token KL estimator for the penalty: k1 (log ratio) or k3 (always >= 0)' }), 'k1'),
  klTarget: Default(Nullable(Type.Number({ exclusiveMinimum: 0 }), { description: 'adaptive KL (Ziegler et al.): the summed-per-sequence KL to aim for, in nats; null keeps β fixed' }), null),
  klHorizon: num(1, 10000, 'adaptive KL horizon, in episodes'),
  cliprange: num(0, 0.2, 'policy ratio clip ε', 10),
  cliprangeValue: num(0, 0.2, 'value clip around the rollout values'),
  vfCoef: num(0, 0.1, 'weight of the value loss'),
  entCoef: num(0, 0, 'weight of the entropy bonus (0 disables)'),
  gamma: num(0, 1, 'discount', 1),
  lam: num(0, 0.95, 'GAE λ', 1),
  whitenRewards: Default(Type.Boolean({ description: 'whiten the token rewards (mean kept) before GAE, over the positions the values cover' }), false),
  scoreAt: Default(StringEnum(['last-token', 'after-last-token'], {
    description: "where the sequence score is added: the last real token (Ziegler et al., TRL's old PPOTrainer), or the position after it (TRL's last PPOTrainer and the N+ details: sequence_lengths + 1, the last token when there is no room), where the values then also cover that position",
  }), 'last-token'),
  scoreClip: num(0, 0, 'clip scores to [−c, c] before use; 0 disables'),
  missingEosPenalty: num(0, 0, 'subtracted from the score of a completion that reached maxNewTokens without EOS or a stop string; 0 disables'),
  targetKl: Default(Nullable(Type.Number({ exclusiveMinimum: 0 }), { description: "stop the iteration's remaining updates once a minibatch's KL (targetKlEstimator) exceeds 1.5 × this; null never stops early" }), null),
  targetKlEstimator: Default(StringEnum(['approxkl', 'k1', 'k3'] as const satisfies readonly PolicyKlEstimator[], {
    description: "the old-to-new policy KL that targetKl is compared with: approxkl ½·mean(log-ratio²) (TRL's policy/approxkl), k1 mean(−log-ratio) (TRL's old policykl), k3 mean((ratio − 1) − log-ratio) (cleanrl's approx_kl)",
  }), 'approxkl'),
  ratioThreshold: num(0, 10, 'skip a minibatch whose mean ratio exceeds this (a sign of a broken update); 0 disables'),
  valueModel: Default(StringEnum(['shared', 'separate', 'reward-model'], {
    description: "zero-initialised value head on the policy's backbone (shared) or on a separate critic copy of the policy (separate); or a separate critic initialised from the reward model, backbone and score head (reward-model, as TRL and the N+ details; reward must be a reward-model folder)",
  }), 'shared'),
  lora: Default(Nullable(LoraSchema, { description: 'LoRA adapters on the policy (the reference is then the same weights with the adapter off); null trains every weight' }), null),
  rewardBatchSize: int(1, 16, 'completions scored per reward-model call'),
  saveEvery: int(1, 50, 'write a checkpoint every this many iterations (and at the end)'),
  keepCheckpoints: int(1, 2, 'step checkpoints kept (final/ is always kept)'),
  sampleEvery: int(0, 10, 'log a table of samples every this many iterations; 0 never'),
  sampleRows: int(1, 4, 'rows in each sample table'),
  seed: int(0, 0, 'seed of sampling, prompt order, minibatch order and LoRA init'),
  onlineFeedback: Default(Nullable(OnlineFeedbackSchema, { description: 'the online human-feedback loop (rl/online/config.ts); null turns it off' }), null),
}, { additionalProperties: false, title: 'PpoConfig', description: 'the config of a PPO run (rlhf ppo --config FILE)' });

export type PpoConfig = Resolved<typeof PpoConfigSchema>;

export class PpoConfigError extends Error {}

/** Fill the defaults, check every field, and return the resolved config. */
export function resolvePpoConfig(raw: Record<string, unknown>, source = 'config'): PpoConfig {
  const c = resolveConfig(PpoConfigSchema, raw, source, PpoConfigError);
  if (c.batchSize % c.miniBatchSize !== 0) {
    throw new PpoConfigError(`${source}: batchSize (${c.batchSize}) must be a multiple of miniBatchSize (${c.miniBatchSize})`);
  }
  if (c.lora) c.lora = dedupeTargets(c.lora);
  return c;
}
