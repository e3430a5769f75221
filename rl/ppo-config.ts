// The one typed config of a PPO run: every field documented, validated with messages naming the field.
// Defaults follow TRL's PPOConfig where it has the option. FIELDS drives both the validation and the
// CLI flags (cli/ppo.ts makes --kebab-case from each key), so every field is overridable from a flag.
// The resolved copy is written into the run folder as ppo-config.json.
import { LoraConfig, validateLora } from '../lm/lora.js';
import type { KlEstimator } from './kl.js';
import { OnlineFeedbackConfig, resolveOnlineFeedback } from './online/config.js';

export interface PpoConfig {
  /** Policy checkpoint folder (a Hugging Face GPT-2 folder with tokenizer.json); also the reference model. */
  model: string;
  /** Prompts: a .txt file (one per line) or a .jsonl file of {"prompt": ...}. */
  prompts: string;
  /** Reward source: `sentiment` or `length` (built-in rules), a reward-model folder, or a JS/TS module exporting score(prompt, completion). */
  reward: string;
  /** A programmatic gold reward (rule name or module) logged as objective/gold_scores, never optimised; null for none. */
  goldReward: string | null;
  /** Run folder: checkpoints, ppo-config.json, and final/. */
  out: string;
  /** PPO iterations (rollout + optimisation) in total; a resumed run continues up to this. */
  steps: number;
  /** Rollouts (prompts) per iteration. */
  batchSize: number;
  /** Rollouts per gradient update; batchSize must be a multiple of it. */
  miniBatchSize: number;
  /** Passes over each iteration's rollouts (TRL num_ppo_epochs). */
  ppoEpochs: number;
  /** Most tokens per completion (TRL response_length). */
  maxNewTokens: number;
  /** Prompts longer than this keep their last tokens. */
  maxPromptTokens: number;
  /** Sampling temperature; logprobs for the PPO ratio and the KL use the same temperature. */
  temperature: number;
  /** Strings that end a completion (the text is cut before one); EOS always ends it. */
  stop: string[];
  /** Peak learning rate (AdamW). */
  lr: number;
  /** `linear` decays to 0 over `steps` iterations (TRL's default), `constant` keeps lr. */
  lrSchedule: 'linear' | 'constant';
  /** AdamW decoupled weight decay (matrices only). */
  weightDecay: number;
  /** Global gradient-norm clip; 0 disables. */
  maxGradNorm: number;
  /** KL coefficient β (the initial value when adaptive). */
  klCoef: number;
  /** Per-token KL estimator for the penalty: k1 (log ratio) or k3 (always >= 0). */
  klEstimator: KlEstimator;
  /** Adaptive KL (Ziegler et al.): the summed-per-sequence KL to aim for; null keeps β fixed. */
  klTarget: number | null;
  /** Adaptive KL horizon, in episodes. */
  klHorizon: number;
  /** Policy ratio clip ε. */
  cliprange: number;
  /** Value clip around the rollout values. */
  cliprangeValue: number;
  /** Weight of the value loss. */
  vfCoef: number;
  /** Weight of the entropy bonus (0 disables). */
  entCoef: number;
  /** Discount. */
  gamma: number;
  /** GAE λ. */
  lam: number;
  /** Whiten the token rewards (mean kept) before GAE. */
  whitenRewards: boolean;
  /** Clip scores to [−c, c] before use; 0 disables. */
  scoreClip: number;
  /** Subtracted from the score of a completion that reached maxNewTokens without EOS or a stop string; 0 disables. */
  missingEosPenalty: number;
  /** Stop the iteration's remaining updates once policy/approxkl exceeds 1.5 × this; null never stops early. */
  targetKl: number | null;
  /** Skip a minibatch whose mean ratio exceeds this (a sign of a broken update); 0 disables. */
  ratioThreshold: number;
  /** Value head on the policy's backbone (`shared`) or on a separate critic copy of the model (`separate`). */
  valueModel: 'shared' | 'separate';
  /** LoRA adapters on the policy (the reference is then the same weights with the adapter off); null trains every weight. */
  lora: LoraConfig | null;
  /** Completions scored per reward-model call. */
  rewardBatchSize: number;
  /** Write a checkpoint every this many iterations (and at the end). */
  saveEvery: number;
  /** Step checkpoints kept (final/ is always kept). */
  keepCheckpoints: number;
  /** Log a table of samples every this many iterations; 0 never. */
  sampleEvery: number;
  /** Rows in each sample table. */
  sampleRows: number;
  /** Seed of sampling, prompt order, minibatch order and LoRA init. */
  seed: number;
  /** The online human-feedback loop (rl/online/config.ts); null turns it off. */
  onlineFeedback: OnlineFeedbackConfig | null;
}

export type FieldKind = 'str' | 'int' | 'num' | 'bool' | 'list' | 'enum';
export interface FieldSpec {
  kind: FieldKind;
  /** Smallest (and largest) allowed number. */
  min?: number;
  max?: number;
  choices?: string[];
  nullable?: boolean;
  help: string;
}

export const PPO_DEFAULTS: Omit<PpoConfig, 'model' | 'prompts' | 'reward' | 'out'> = {
  goldReward: null, steps: 200, batchSize: 64, miniBatchSize: 16, ppoEpochs: 4, maxNewTokens: 24, maxPromptTokens: 64,
  temperature: 0.7, stop: [], lr: 1e-5, lrSchedule: 'linear', weightDecay: 0, maxGradNorm: 1, klCoef: 0.05,
  klEstimator: 'k1', klTarget: null, klHorizon: 10000, cliprange: 0.2, cliprangeValue: 0.2, vfCoef: 0.1, entCoef: 0,
  gamma: 1, lam: 0.95, whitenRewards: false, scoreClip: 0, missingEosPenalty: 0, targetKl: null, ratioThreshold: 10,
  valueModel: 'shared', lora: null, rewardBatchSize: 16, saveEvery: 50, keepCheckpoints: 2, sampleEvery: 10,
  sampleRows: 4, seed: 0, onlineFeedback: null,
};

/** Every scalar field (lora is set through --lora-rank/--lora-alpha/--lora-targets). */
export const FIELDS: Record<Exclude<keyof PpoConfig, 'lora' | 'onlineFeedback'>, FieldSpec> = {
  model: { kind: 'str', help: 'policy checkpoint folder' },
  prompts: { kind: 'str', help: 'prompts file (.txt, one per line, or .jsonl of {"prompt"})' },
  reward: { kind: 'str', help: 'sentiment | length | reward-model folder | module path' },
  goldReward: { kind: 'str', nullable: true, help: 'gold rule logged as objective/gold_scores' },
  out: { kind: 'str', help: 'run folder' },
  steps: { kind: 'int', min: 1, help: 'PPO iterations' },
  batchSize: { kind: 'int', min: 1, help: 'rollouts per iteration' },
  miniBatchSize: { kind: 'int', min: 1, help: 'rollouts per gradient update' },
  ppoEpochs: { kind: 'int', min: 1, help: 'passes over each batch' },
  maxNewTokens: { kind: 'int', min: 1, help: 'tokens per completion' },
  maxPromptTokens: { kind: 'int', min: 1, help: 'prompt tokens kept (the last ones)' },
  temperature: { kind: 'num', min: 1e-6, max: 100, help: 'sampling temperature' },
  stop: { kind: 'list', help: 'stop string (repeat for several)' },
  lr: { kind: 'num', min: 0, max: 10, help: 'learning rate' },
  lrSchedule: { kind: 'enum', choices: ['linear', 'constant'], help: 'learning-rate schedule' },
  weightDecay: { kind: 'num', min: 0, max: 10, help: 'AdamW weight decay' },
  maxGradNorm: { kind: 'num', min: 0, help: 'gradient clipping, 0 off' },
  klCoef: { kind: 'num', min: 0, help: 'KL coefficient' },
  klEstimator: { kind: 'enum', choices: ['k1', 'k3'], help: 'per-token KL estimator' },
  klTarget: { kind: 'num', min: 1e-9, nullable: true, help: 'adaptive KL target (nats per sequence)' },
  klHorizon: { kind: 'num', min: 1, help: 'adaptive KL horizon (episodes)' },
  cliprange: { kind: 'num', min: 0, max: 10, help: 'policy ratio clip' },
  cliprangeValue: { kind: 'num', min: 0, help: 'value clip' },
  vfCoef: { kind: 'num', min: 0, help: 'value loss weight' },
  entCoef: { kind: 'num', min: 0, help: 'entropy bonus weight' },
  gamma: { kind: 'num', min: 0, max: 1, help: 'discount' },
  lam: { kind: 'num', min: 0, max: 1, help: 'GAE lambda' },
  whitenRewards: { kind: 'bool', help: 'whiten token rewards' },
  scoreClip: { kind: 'num', min: 0, help: 'clip scores to [-c, c], 0 off' },
  missingEosPenalty: { kind: 'num', min: 0, help: 'penalty for a completion without EOS' },
  targetKl: { kind: 'num', min: 1e-9, nullable: true, help: 'early-stop an iteration at approxkl > 1.5 x this' },
  ratioThreshold: { kind: 'num', min: 0, help: 'skip minibatches with mean ratio above this, 0 off' },
  valueModel: { kind: 'enum', choices: ['shared', 'separate'], help: 'value head on the policy backbone or a separate critic' },
  rewardBatchSize: { kind: 'int', min: 1, help: 'completions per reward-model call' },
  saveEvery: { kind: 'int', min: 1, help: 'checkpoint every n iterations' },
  keepCheckpoints: { kind: 'int', min: 1, help: 'step checkpoints kept' },
  sampleEvery: { kind: 'int', min: 0, help: 'sample table every n iterations, 0 off' },
  sampleRows: { kind: 'int', min: 1, help: 'rows per sample table' },
  seed: { kind: 'int', min: 0, help: 'seed' },
};

export class PpoConfigError extends Error {}

/** Merge defaults, check every field, and return the resolved config. */
export function resolvePpoConfig(raw: Record<string, unknown>, source = 'config'): PpoConfig {
  for (const k of Object.keys(raw)) if (!Object.hasOwn(FIELDS, k) && k !== 'lora' && k !== 'onlineFeedback') throw new PpoConfigError(`${source}: unknown field '${k}'`);
  const c = { ...PPO_DEFAULTS, ...raw } as unknown as Record<string, unknown>;
  for (const [key, f] of Object.entries(FIELDS)) {
    const v = c[key];
    const fail = (want: string): never => {
      throw new PpoConfigError(`${source}: ${key} must be ${want}${f.nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
    };
    if (v === undefined) throw new PpoConfigError(`${source}: ${key} is required (${f.help})`);
    if (v === null && f.nullable) continue;
    const range = `${f.min ?? -Infinity}..${f.max ?? Infinity}`;
    if (f.kind === 'str' && (typeof v !== 'string' || !v)) fail('a non-empty string');
    if (f.kind === 'int' && (typeof v !== 'number' || !Number.isInteger(v) || v < (f.min ?? -Infinity) || v > (f.max ?? Infinity))) fail(`an integer in ${range}`);
    if (f.kind === 'num' && (typeof v !== 'number' || !Number.isFinite(v) || v < (f.min ?? -Infinity) || v > (f.max ?? Infinity))) fail(`a number in ${range}`);
    if (f.kind === 'bool' && typeof v !== 'boolean') fail('true or false');
    if (f.kind === 'list' && (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s))) fail('a list of non-empty strings');
    if (f.kind === 'enum' && !f.choices!.includes(v as string)) fail(`one of ${f.choices!.join(', ')}`);
  }
  const cfg = c as unknown as PpoConfig;
  if (cfg.batchSize % cfg.miniBatchSize !== 0) {
    throw new PpoConfigError(`${source}: batchSize (${cfg.batchSize}) must be a multiple of miniBatchSize (${cfg.miniBatchSize})`);
  }
  if (cfg.onlineFeedback) cfg.onlineFeedback = resolveOnlineFeedback(cfg.onlineFeedback, source, { rmBase: 'previous' });
  if (cfg.lora) {
    try {
      cfg.lora = validateLora(cfg.lora);
    } catch (e) {
      throw new PpoConfigError(`${source}: ${(e as Error).message}`);
    }
  }
  return cfg;
}
