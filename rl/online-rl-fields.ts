// The config fields GRPO and RLOO share (rl/grpo/config.ts, rl/rloo/config.ts), as TypeBox schema pieces
// (train/config-schema.ts), with TRL's GRPOConfig / RLOOConfig names in camelCase and TRL's defaults where
// it has the option (TRL at f2cd577, July 2026; TrainingArguments for the optimizer fields).
//
// Batch units. One optimizer step sees promptsPerStep prompts × numGenerations completions, split into
// gradientAccumulationSteps micro-batches (TRL: generation_batch_size = promptsPerStep · numGenerations,
// steps_per_generation = gradientAccumulationSteps, per_device_train_batch_size = the micro-batch). One
// rollout feeds numIterations optimizer steps (TRL's μ); `steps` counts optimizer steps, as TRL's max_steps,
// and the learning-rate schedule runs over them (rl/lr-schedule.ts).
import { Type } from '@sinclair/typebox';
import { dedupeTargets, LoraSchema, type LoraConfig } from '../lm/lora-config.js';
import { Default, Nullable, StringEnum } from '../train/config-schema.js';
import { OnlineFeedbackSchema } from './online/config.js';

/** A field with a default: an integer from `min`, a number in [min, max]. */
const integer = (def: number, min: number, description: string) => Default(Type.Integer({ minimum: min, description }), def);
const real = (def: number, bounds: { min?: number; above?: number; max?: number; below?: number }, description: string) =>
  Default(Type.Number({
    ...(bounds.min !== undefined ? { minimum: bounds.min } : {}),
    ...(bounds.above !== undefined ? { exclusiveMinimum: bounds.above } : {}),
    ...(bounds.max !== undefined ? { maximum: bounds.max } : {}),
    ...(bounds.below !== undefined ? { exclusiveMaximum: bounds.below } : {}),
    description,
  }), def);
const required = (description: string) => Type.String({ minLength: 1, description });

export const LR_SCHEDULES = ['linear', 'constant', 'cosine'] as const;
export type LrSchedule = (typeof LR_SCHEDULES)[number];

/** What the policy is, what it is rewarded by, and how completions are sampled. */
export function rolloutFields(numGenerations: number) {
  return {
    model: required('policy checkpoint folder (any family); also the reference model when beta > 0'),
    prompts: required('prompts file: .txt, one per line, or .jsonl of {"prompt", ...other columns the reward functions receive}'),
    reward: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'reward sources, combined by rewardWeights: built-in rules (sentiment, length), JS/TS modules exporting a reward function, or reward-model folders',
    }),
    rewardWeights: Default(Nullable(Type.Array(Type.Number()), { description: 'one weight per reward (TRL reward_weights); null weighs every reward 1' }), null),
    goldReward: Default(Nullable(Type.String({ minLength: 1 }), { description: 'a programmatic gold reward (rule name or module) logged beside the rewards, never optimised; null for none' }), null),
    out: required('run folder: checkpoints, the resolved config, and final/'),
    steps: integer(200, 1, "optimizer steps in total (TRL max_steps); a rollout every numIterations of them; a resumed run continues up to this"),
    promptsPerStep: integer(4, 1, "prompts per rollout; each gets numGenerations completions (TRL's generation batch is promptsPerStep × numGenerations completions)"),
    numGenerations: Default(Type.Integer({ minimum: 2, description: 'completions sampled per prompt: the group a baseline is taken over (TRL num_generations)' }), numGenerations),
    maxPromptLength: integer(64, 1, 'prompts longer than this many tokens keep their last tokens'),
    maxCompletionLength: integer(32, 1, 'most tokens per completion (TRL max_completion_length, 512 there; shorter here for the small models on CPU)'),
    temperature: real(1, { min: 1e-6, max: 100 }, 'sampling temperature; the log-probabilities of the ratio and the KL use the same temperature'),
    topP: real(1, { above: 0, max: 1 }, 'nucleus sampling: keep the smallest set of tokens whose probability reaches this; 1 keeps all'),
    topK: integer(0, 0, 'keep only the k most likely tokens; 0 turns top-k off'),
    stop: Default(Type.Array(Type.String({ minLength: 1 }), { description: 'strings that end a completion (the text is cut before one); EOS always ends it' }), []),
    numIterations: integer(1, 1, "optimizer steps per rollout (TRL's μ): 1 is on-policy; more reuse the rollout with its old log-probabilities and clipping"),
    epsilon: real(0.2, { min: 0, below: 1 }, 'lower clip ε: the ratio is clipped below at 1 − ε'),
    epsilonHigh: Default(Nullable(Type.Number({ minimum: 0, description: 'upper clip: the ratio is clipped above at 1 + epsilonHigh (DAPO clip-higher recommends 0.28); null uses epsilon' })), null),
    maskTruncatedCompletions: Default(Type.Boolean({ description: 'leave completions that reached maxCompletionLength without EOS or a stop string out of the loss (DAPO)' }), false),
  };
}

/** The optimizer, checkpoints, samples and the online loop. */
export function trainingFields() {
  return {
    lr: real(1e-6, { min: 0, max: 10 }, "peak learning rate of AdamW (TRL's default; LoRA usually wants far more, e.g. 1e-4)"),
    lrSchedule: Default(StringEnum(LR_SCHEDULES, { description: 'after warm-up: linear decay to 0 over steps (TrainingArguments default), constant, or cosine to 0' }), 'linear'),
    warmupSteps: integer(0, 0, 'optimizer steps of linear warm-up from 0 to lr'),
    weightDecay: real(0, { min: 0, max: 10 }, 'AdamW decoupled weight decay (matrices only)'),
    maxGradNorm: real(1, { min: 0 }, 'global gradient-norm clip; 0 disables'),
    gradientAccumulationSteps: integer(1, 1, 'micro-batches per optimizer step; promptsPerStep must be a multiple of it'),
    lora: Default(Nullable(LoraSchema, { description: 'LoRA adapters on the policy (the reference is then the same weights with the adapter off); null trains every weight' }), null),
    rewardBatchSize: integer(16, 1, 'completions scored per reward-model call'),
    saveEvery: integer(50, 1, 'write a checkpoint every this many optimizer steps (and at the end)'),
    keepCheckpoints: integer(2, 1, 'step checkpoints kept (final/ is always kept)'),
    sampleEvery: integer(10, 0, 'log a table of samples (prompt, completion, every reward) every this many steps; 0 never'),
    sampleRows: integer(4, 1, 'rows in each sample table'),
    seed: integer(0, 0, 'seed of sampling, prompt order and LoRA init'),
    onlineFeedback: Default(Nullable(OnlineFeedbackSchema, { description: 'the online human-feedback loop (rl/online/config.ts); null turns it off' }), null),
  };
}

/** A raw config with a single reward string taken as a list of one (the form PPO configs use). */
export function withRewardList(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const r = raw as Record<string, unknown>;
  return typeof r.reward === 'string' ? { ...r, reward: [r.reward] } : raw;
}

/** The resolved fields every online-RL config has that the cross-field checks read. */
export interface OnlineRlCommon {
  reward: string[];
  rewardWeights: number[] | null;
  steps: number;
  promptsPerStep: number;
  warmupSteps: number;
  gradientAccumulationSteps: number;
  lora: LoraConfig | null;
}

/** The rules between fields, each message naming them; LoRA targets deduplicated. */
export function checkOnlineRl<C extends OnlineRlCommon>(c: C, source: string, E: new (message: string) => Error): C {
  if (c.rewardWeights && c.rewardWeights.length !== c.reward.length) {
    throw new E(`${source}: rewardWeights has ${c.rewardWeights.length} entries for ${c.reward.length} reward${c.reward.length === 1 ? '' : 's'}; give one weight per reward`);
  }
  if (c.promptsPerStep % c.gradientAccumulationSteps !== 0) {
    throw new E(`${source}: promptsPerStep (${c.promptsPerStep}) must be a multiple of gradientAccumulationSteps (${c.gradientAccumulationSteps})`);
  }
  if (c.warmupSteps >= c.steps && c.warmupSteps > 0) {
    throw new E(`${source}: warmupSteps (${c.warmupSteps}) must be less than steps (${c.steps})`);
  }
  if (c.lora) c.lora = dedupeTargets(c.lora);
  return c;
}
