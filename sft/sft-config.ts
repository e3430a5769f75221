// The one typed config of an SFT run, as a schema (train/config-schema.ts): every field documented, with
// its default; the type, the check, the CLI flags, the launch form and the OpenAPI component come from it.
// The resolved copy is written into the run folder as sft-config.json.
import { Type } from '@sinclair/typebox';
import { dedupeTargets, LoraSchema } from '../lm/lora-config.js';
import { Default, Nullable, Resolved, resolveConfig } from '../train/config-schema.js';

const count = (description: string, def: number, minimum = 1) => Default(Type.Integer({ minimum, description }), def);

export const InitSchema = Type.Object({
  tokenizer: Type.String({ minLength: 1, description: 'tokenizer.json (or a folder holding one) for a model trained from scratch' }),
  nEmbd: Type.Integer({ minimum: 1, description: 'width of the residual stream' }),
  nLayer: Type.Integer({ minimum: 1, description: 'transformer blocks' }),
  nHead: Type.Integer({ minimum: 1, description: 'attention heads' }),
  nPositions: Type.Integer({ minimum: 1, description: 'context length (of the position table, for gpt2)' }),
  modelType: Type.Optional(Type.Union(['gpt2', 'llama', 'qwen2', 'qwen3', 'mistral'].map((t) => Type.Literal(t)), { description: 'the family (default gpt2)' })),
  nKvHead: Type.Optional(Type.Integer({ minimum: 1, description: 'key/value heads (llama family; fewer than nHead is grouped-query attention)' })),
  nInner: Type.Optional(Type.Integer({ minimum: 1, description: 'MLP hidden width (default 4 * nEmbd)' })),
  ropeTheta: Type.Optional(Type.Number({ exclusiveMinimum: 1, description: 'RoPE base (llama family; default 10000)' })),
  tieWordEmbeddings: Type.Optional(Type.Boolean({ description: 'LM head tied to the token embedding (llama family; default true for a fresh model)' })),
}, { additionalProperties: false, description: "a fresh model's shape" });

export const SftConfigSchema = Type.Object({
  model: Default(Nullable(Type.String({ minLength: 1 }), { description: 'checkpoint folder to fine-tune; null to start from init' }), null),
  init: Default(Nullable(InitSchema, { description: "a fresh model's shape, used when model is null" }), null),
  data: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'training data: .txt files (language modelling), .jsonl files of {"prompt","completion"}, or corpus:NAME' }),
  out: Type.String({ minLength: 1, description: 'run folder: checkpoints, metrics.jsonl, sft-config.json, and final/' }),
  steps: count('optimizer steps in total (a resumed run continues up to this)', 1000),
  batchSize: count('sequences per micro-batch', 8),
  gradAccum: count('micro-batches whose gradients are averaged into one optimizer step', 1),
  seqLen: count("tokens per sequence (at most the model's n_positions)", 128, 2),
  lr: Default(Type.Number({ minimum: 0, maximum: 10, description: 'peak learning rate' }), 3e-4),
  warmupSteps: count('steps of linear warm-up from 0 to lr', 50, 0),
  minLrRatio: Default(Type.Number({ minimum: 0, maximum: 1, description: 'cosine decay ends at lr * minLrRatio on the last step' }), 0.1),
  weightDecay: Default(Type.Number({ minimum: 0, maximum: 10, description: 'AdamW decoupled weight decay (matrices and embeddings only)' }), 0.1),
  beta1: Default(Type.Number({ minimum: 0, maximum: 0.999999, description: 'AdamW beta1' }), 0.9),
  beta2: Default(Type.Number({ minimum: 0, maximum: 0.999999, description: 'AdamW beta2' }), 0.99),
  maxGradNorm: Default(Type.Number({ minimum: 0, description: 'global gradient-norm clip; 0 disables' }), 1),
  heldOut: Default(Type.Number({ minimum: 0, maximum: 0.5, description: 'fraction of the data held out for evaluation (the end of each text file; a hash split of pairs by prompt)' }), 0.05),
  evalEvery: count('evaluate every this many steps (and at the end); 0 only at the end', 100, 0),
  evalBatches: count('held-out batches per evaluation', 8),
  saveEvery: count('write a checkpoint every this many steps (and at the end)', 200),
  keepCheckpoints: count('older step checkpoints beyond this many are deleted (final/ is always kept)', 2),
  seed: count('seed of initialisation, data order and LoRA init', 0, 0),
  lora: Default(Nullable(LoraSchema, { description: 'LoRA adapters instead of full fine-tuning; null trains every weight' }), null),
}, { additionalProperties: false, title: 'SftConfig', description: 'the config of an SFT run (rlhf sft --config FILE)' });

export type SftConfig = Resolved<typeof SftConfigSchema>;
export type InitConfig = Resolved<typeof InitSchema>;

export class SftConfigError extends Error {}

/** Fill the defaults, check every field, and return the resolved config. */
export function resolveSftConfig(raw: Record<string, unknown>, source = 'config'): SftConfig {
  const c = resolveConfig(SftConfigSchema, raw, source, SftConfigError);
  if ((c.model == null) === (c.init == null)) throw new SftConfigError(`${source}: give exactly one of model (a checkpoint folder) or init (a fresh model's shape)`);
  if (c.lora) c.lora = dedupeTargets(c.lora);
  return c;
}
