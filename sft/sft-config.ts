// The one typed config of an SFT run: every field documented, validated with messages naming the field.
// The resolved copy is written into the run folder as sft-config.json.
import { fieldChecks } from '../train/config-checks.js';
import { LoraConfig } from '../lm/lora.js';

export interface InitConfig {
  /** tokenizer.json (or a folder holding one) for a model trained from scratch. */
  tokenizer: string;
  /** Width of the residual stream. */
  nEmbd: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads. */
  nHead: number;
  /** Context length of the position table. */
  nPositions: number;
}

export interface SftConfig {
  /** Checkpoint folder to fine-tune; null to start from `init`. */
  model: string | null;
  /** A fresh model's shape, used when `model` is null. */
  init: InitConfig | null;
  /** Training data: .txt files (language modelling), .jsonl files of {"prompt","completion"}, or corpus:NAME. */
  data: string[];
  /** Run folder: checkpoints, metrics.jsonl, sft-config.json, and final/. */
  out: string;
  /** Optimizer steps to run in total (a resumed run continues up to this). */
  steps: number;
  /** Sequences per micro-batch. */
  batchSize: number;
  /** Micro-batches whose gradients are averaged into one optimizer step. */
  gradAccum: number;
  /** Tokens per sequence (at most the model's n_positions). */
  seqLen: number;
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from 0 to lr. */
  warmupSteps: number;
  /** Cosine decay ends at lr * minLrRatio on the last step. */
  minLrRatio: number;
  /** AdamW decoupled weight decay (matrices and embeddings only). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Global gradient-norm clip; 0 disables. */
  maxGradNorm: number;
  /** Fraction of the data held out for evaluation (the end of each text file; a hash split of pairs by prompt). */
  heldOut: number;
  /** Evaluate every this many steps (and at the end); 0 only at the end. */
  evalEvery: number;
  /** Held-out batches per evaluation. */
  evalBatches: number;
  /** Write a checkpoint every this many steps (and at the end). */
  saveEvery: number;
  /** Older step checkpoints beyond this many are deleted (final/ is always kept). */
  keepCheckpoints: number;
  /** Seed of initialisation, data order and LoRA init. */
  seed: number;
  /** LoRA adapters instead of full fine-tuning; null trains every weight. */
  lora: LoraConfig | null;
}

export const SFT_DEFAULTS: Omit<SftConfig, 'data' | 'out'> = {
  model: null, init: null, steps: 1000, batchSize: 8, gradAccum: 1, seqLen: 128, lr: 3e-4, warmupSteps: 50,
  minLrRatio: 0.1, weightDecay: 0.1, beta1: 0.9, beta2: 0.99, maxGradNorm: 1, heldOut: 0.05, evalEvery: 100,
  evalBatches: 8, saveEvery: 200, keepCheckpoints: 2, seed: 0, lora: null,
};

export class SftConfigError extends Error {}

/** Merge defaults, check every field, and return the resolved config. */
export function resolveSftConfig(raw: Record<string, unknown>, source = 'config'): SftConfig {
  const c = { ...SFT_DEFAULTS, ...raw } as SftConfig;
  const { known, fail, int, num, lora } = fieldChecks(c, source, SftConfigError);
  known(raw, [...Object.keys(SFT_DEFAULTS), 'data', 'out']);
  if (!Array.isArray(c.data) || !c.data.length || !c.data.every((d) => typeof d === 'string')) fail('data', 'a non-empty list of file paths or corpus:NAME');
  if (typeof c.out !== 'string' || !c.out) fail('out', 'a folder path');
  if ((c.model == null) === (c.init == null)) throw new SftConfigError(`${source}: give exactly one of model (a checkpoint folder) or init (a fresh model's shape)`);
  if (c.model != null && typeof c.model !== 'string') fail('model', 'a checkpoint folder path');
  if (c.init) {
    const i = c.init as unknown as Record<string, unknown>;
    for (const k of ['nEmbd', 'nLayer', 'nHead', 'nPositions']) {
      if (typeof i[k] !== 'number' || !Number.isInteger(i[k]) || (i[k] as number) < 1) throw new SftConfigError(`${source}: init.${k} must be an integer >= 1, got ${JSON.stringify(i[k])}`);
    }
    if (typeof i.tokenizer !== 'string') throw new SftConfigError(`${source}: init.tokenizer must be a path to tokenizer.json`);
  }
  for (const f of ['steps', 'batchSize', 'gradAccum', 'seqLen', 'evalBatches', 'saveEvery', 'keepCheckpoints'] as const) int(f, 1);
  for (const f of ['warmupSteps', 'evalEvery', 'seed'] as const) int(f, 0);
  num('lr', 0, 10);
  num('minLrRatio', 0, 1);
  num('weightDecay', 0, 10);
  num('beta1', 0, 0.999999);
  num('beta2', 0, 0.999999);
  num('maxGradNorm', 0, Infinity);
  num('heldOut', 0, 0.5);
  if (c.lora) c.lora = lora(c.lora);
  return c;
}
