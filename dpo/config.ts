// The one typed config of a DPO run, as a schema (train/config-schema.ts): TRL's DPOConfig (and the
// TrainingArguments it inherits) in camelCase, with TRL's defaults where TRL has the option (TRL at
// f2cd577, July 2026; rpoAlpha, maxPromptLength and reference-free from TRL 0.x, which had them). The
// type, the check, the CLI flags, the launch form and the OpenAPI component come from it. No tfjs here:
// the server reads this schema. The resolved copy is written into the run folder as dpo-config.json.
//
// Batch units. A micro-batch is batchSize comparisons (a pair, or a ranking of K whose K(K-1)/2 pairs
// share its weight of 1, as the reward model weighs them); an optimizer step is gradientAccumulationSteps
// micro-batches; an epoch is one pass over the training comparisons in a seeded order.
import { Type } from '@sinclair/typebox';
import { dedupeTargets, LoraSchema } from '../lm/lora-config.js';
import { preferenceOptionsError, RANKING_MODELS, RANKINGS_DESCRIPTION, TIE_POLICIES, TIE_STRENGTH_DESCRIPTION } from '../reward-models/preference-options.js';
import { Default, Nullable, Resolved, resolveConfig, StringEnum } from '../train/config-schema.js';
import { DpoOnlineFeedbackSchema } from './online-config.js';

const integer = (def: number, min: number, description: string) => Default(Type.Integer({ minimum: min, description }), def);
const real = (def: number, lo: number, hi: number, description: string) => Default(Type.Number({ minimum: lo, maximum: hi, description }), def);

export const LOSS_TYPES = ['sigmoid', 'ipo', 'hinge', 'robust', 'sigmoid_norm'] as const;
export type LossType = (typeof LOSS_TYPES)[number];
/** How tie labels train (reward-models/preference-options.ts; the losses in dpo/losses.ts). */
export const TIE_OPTIONS = TIE_POLICIES;
/** The losses that are a Bradley-Terry likelihood of βΔ, which the tie models and Plackett-Luce replace. */
export const LIKELIHOOD_LOSSES: readonly LossType[] = ['sigmoid', 'sigmoid_norm'];
export const REFERENCES = ['auto', 'adapter-off', 'copy', 'none'] as const;

export const DpoConfigSchema = Type.Object({
  model: Type.String({ minLength: 1, description: 'policy checkpoint folder (any family); also the reference model' }),
  db: Default(Nullable(Type.String({ minLength: 1 }), { description: 'preference data: a label store (SQLite file), read-only; exactly one of db and data' }), null),
  data: Default(Type.Array(Type.String({ minLength: 1 }), {
    description: 'preference data: JSONL files of {"prompt","chosen","rejected"}, HH-RLHF {"chosen","rejected"} (shared prompt split off), our full export, or TRL conversations {"prompt":[...],"chosen":[...],"rejected":[...]}',
  }), []),
  out: Type.String({ minLength: 1, description: 'run folder: checkpoints, metrics, the data snapshot, cached reference log-probabilities, best/ and final/' }),
  beta: Default(Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: "deviation from the reference: higher stays closer (IPO's τ for ipo)" }), 0.1),
  lossType: Default(StringEnum(LOSS_TYPES, {
    description: 'sigmoid (DPO; cDPO with labelSmoothing), ipo, hinge (SLiC), robust (rDPO, unbiased under label flips of rate labelSmoothing), sigmoid_norm (DPO on per-token mean log-ratios)',
  }), 'sigmoid'),
  labelSmoothing: Default(Type.Number({ minimum: 0, exclusiveMaximum: 0.5, description: 'assumed rate of flipped labels, for sigmoid (cDPO) and robust only' }), 0),
  rpoAlpha: Default(Nullable(Type.Number({ minimum: 0, maximum: 1000 }), { description: 'weight of an SFT term (NLL of the chosen completions) added to the loss (RPO); null turns it off' }), null),
  reference: Default(StringEnum(REFERENCES, {
    description: "the reference policy: auto (adapter-off under LoRA, else copy), adapter-off (the policy's LoRA off), copy (the starting model), none (reference-free: log π_ref = 0)",
  }), 'auto'),
  maxLength: Default(Nullable(Type.Integer({ minimum: 2 }), { description: "most tokens of prompt + completion (the completion is cut); null: the model's context" }), 1024),
  maxPromptLength: Default(Nullable(Type.Integer({ minimum: 1 }), { description: 'most prompt tokens (cut by truncationMode); null: no limit of its own' }), 512),
  truncationMode: Default(StringEnum(['keep_end', 'keep_start'] as const, { description: 'which end of a long prompt is kept' }), 'keep_end'),
  ties: Default(StringEnum(TIE_OPTIONS, {
    description: 'how tie labels train: drop leaves them out; equal trains the tied implicit rewards towards each other (−½ log σ(βΔ) − ½ log σ(−βΔ); Δ² under ipo); davidson and rao-kupper train every pair as the likelihood of its outcome (win, tie, loss) at βΔ (DPO-D, DPO-RK of Chen et al. 2024; lossType sigmoid or sigmoid_norm)',
  }), 'drop'),
  tieStrength: Default(Nullable(Type.Number({ minimum: 0, maximum: 1000 }), { description: TIE_STRENGTH_DESCRIPTION }), null),
  rankings: Default(StringEnum(RANKING_MODELS, { description: `${RANKINGS_DESCRIPTION}, on the implicit rewards β × log-ratio (lossType sigmoid or sigmoid_norm)` }), 'all-pairs'),
  lr: real(1e-6, 0, 10, "peak learning rate of AdamW (TRL's default, for large pretrained models; LoRA or a starter-sized model wants far more, e.g. 1e-4 to 1e-3)"),
  lrSchedule: Default(StringEnum(['linear', 'constant', 'cosine'] as const, { description: 'after warm-up: linear decay to 0 (TrainingArguments default), constant, or cosine to 0' }), 'linear'),
  warmupSteps: integer(0, 0, 'optimizer steps of linear warm-up from 0 to lr'),
  epochs: integer(3, 1, 'passes over the training comparisons (TrainingArguments num_train_epochs); a resumed run may raise it'),
  batchSize: integer(8, 1, 'comparisons per micro-batch (per_device_train_batch_size); all K completions of each are scored in one forward'),
  gradientAccumulationSteps: integer(1, 1, 'micro-batches per optimizer step'),
  weightDecay: real(0, 0, 10, 'AdamW decoupled weight decay (matrices and embeddings)'),
  adamBeta1: real(0.9, 0, 0.999999, 'AdamW beta1'),
  adamBeta2: real(0.999, 0, 0.999999, 'AdamW beta2'),
  adamEpsilon: Default(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'AdamW epsilon' }), 1e-8),
  maxGradNorm: Default(Type.Number({ minimum: 0, description: 'global gradient-norm clip; 0 disables' }), 1),
  loggingSteps: integer(10, 1, 'log the training metrics, averaged over pairs, every this many optimizer steps (and at the last)'),
  valFraction: real(0.1, 0, 0.9, 'fraction of prompts held out for validation (split by a hash of the prompt: no prompt on both sides)'),
  evalEvery: integer(50, 0, 'evaluate on the whole validation set every this many optimizer steps, and at the end; 0 only at the end'),
  evalBatchSize: integer(8, 1, 'comparisons per forward pass in evaluation (per_device_eval_batch_size)'),
  precomputeRefBatchSize: Default(Nullable(Type.Integer({ minimum: 1 }), { description: 'comparisons per forward pass when computing the reference log-probabilities; null uses batchSize' }), null),
  patience: integer(0, 0, 'stop after this many evaluations without a lower eval loss (early_stopping_patience); 0 never stops early'),
  sampleRows: integer(8, 0, 'validation pairs (prompt, chosen, rejected, implicit rewards) in the table logged at each evaluation; 0 for none'),
  saveEvery: integer(100, 1, 'write a checkpoint (weights, optimizer, data position) every this many optimizer steps (and at the end)'),
  keepCheckpoints: integer(2, 1, 'step checkpoints kept (best/ and final/ are always kept)'),
  seed: integer(0, 0, 'seed of the data order, the split and LoRA init'),
  lora: Default(Nullable(LoraSchema, { description: 'LoRA adapters on the policy; null trains every weight' }), null),
  // online iterative DPO (dpo/online-config.ts, dpo/online.ts)
  onlineFeedback: Default(Nullable(DpoOnlineFeedbackSchema, { description: 'online iterative DPO (dpo/online-config.ts): policy samples go to the labeling queue and a DPO round trains on each roundEveryLabels new labels; null turns it off' }), null),
}, { additionalProperties: false, title: 'DpoConfig', description: 'the config of a DPO run (rlhf dpo --config FILE)' });

export type DpoConfig = Resolved<typeof DpoConfigSchema>;
/** The reference a resolved config uses (auto made concrete). */
export type ReferenceKind = 'adapter-off' | 'copy' | 'none';

export class DpoConfigError extends Error {}

/** Fill the defaults, check every field and the rules between them, and return the resolved config. */
export function resolveDpoConfig(raw: Record<string, unknown>, source = 'config'): DpoConfig {
  const c = resolveConfig(DpoConfigSchema, raw, source, DpoConfigError);
  if ((c.db !== null) === (c.data.length > 0)) throw new DpoConfigError(`${source}: give exactly one of db (a label store) or data (JSONL files)`);
  if (c.labelSmoothing > 0 && c.lossType !== 'sigmoid' && c.lossType !== 'robust') {
    throw new DpoConfigError(`${source}: labelSmoothing applies to lossType sigmoid and robust only, not ${c.lossType}`);
  }
  const bad = preferenceOptionsError(c);
  if (bad) throw new DpoConfigError(`${source}: ${bad}`);
  const likelihood = LIKELIHOOD_LOSSES.includes(c.lossType) && c.labelSmoothing === 0;
  if ((c.ties === 'davidson' || c.ties === 'rao-kupper') && !likelihood) {
    throw new DpoConfigError(`${source}: ties ${c.ties} replaces the Bradley-Terry likelihood of lossType sigmoid or sigmoid_norm (labelSmoothing 0), not ${c.lossType}${c.labelSmoothing ? ` with labelSmoothing ${c.labelSmoothing}` : ''}`);
  }
  if (c.rankings === 'plackett-luce' && !likelihood) {
    throw new DpoConfigError(`${source}: rankings plackett-luce replaces the Bradley-Terry likelihood of lossType sigmoid or sigmoid_norm (labelSmoothing 0), not ${c.lossType}${c.labelSmoothing ? ` with labelSmoothing ${c.labelSmoothing}` : ''}`);
  }
  if (c.ties === 'equal' && c.lossType === 'hinge') throw new DpoConfigError(`${source}: ties equal has no hinge form (SLiC has no target for a tie); use lossType sigmoid, robust, ipo or sigmoid_norm, or ties drop`);
  if (c.reference === 'adapter-off' && !c.lora) throw new DpoConfigError(`${source}: reference adapter-off needs lora (without adapters there is nothing to switch off; use copy)`);
  if (c.maxLength !== null && c.maxPromptLength !== null && c.maxPromptLength >= c.maxLength) {
    throw new DpoConfigError(`${source}: maxPromptLength (${c.maxPromptLength}) must be less than maxLength (${c.maxLength}), leaving room for the completion`);
  }
  if (c.lora) c.lora = dedupeTargets(c.lora);
  return c;
}

/** The concrete reference of a config. */
export function referenceOf(c: Pick<DpoConfig, 'reference' | 'lora'>): ReferenceKind {
  return c.reference === 'auto' ? (c.lora ? 'adapter-off' : 'copy') : c.reference;
}
