// The one typed config of a reward-model run: every field documented, validated with messages naming the
// field. The resolved copy is written into the run folder as rm-config.json.
import { fieldChecks } from '../train/config-checks.js';
import { LoraConfig } from '../lm/lora.js';
import type { TiePolicy } from './bt-loss.js';

export interface RmConfig {
  /** Backbone checkpoint folder (a GPT-2 LM, e.g. the SFT model), or a reward model to train further. */
  model: string;
  /** Preference data: a label store (SQLite file). Exactly one of db and data. */
  db: string | null;
  /** Preference data: JSONL files of {"prompt","chosen","rejected"} or full-export lines. */
  data: string[];
  /** Run folder: checkpoints, metrics.jsonl, rm-config.json, and final/ (the best model by validation accuracy). */
  out: string;
  /** Passes over the training comparisons (each pass shuffled by seed and epoch). Default 4: at the default lr the
   *  best validation accuracy fell in the second to fourth pass, 6 passes did not help, and the best checkpoint
   *  by validation accuracy is what final/ holds. */
  epochs: number;
  /** Comparisons per optimizer step (all K completions of each are scored in one batch). */
  batchSize: number;
  /**
   * Peak learning rate. Default 5e-4, tuned for the starter-sized backbones of this project (4 layers × 192;
   * a much larger pretrained backbone usually wants 1e-5 to 5e-5). Measured on the end-to-end recipe (starter
   * completions, sentiment rule, 10% of labels flipped; 4 epochs, batch 16, native backend), held-out accuracy
   * against the noise-free rule on the first 1,000 preference labels, mean of 3 data-order seeds (validation
   * accuracy on the noisy labels in brackets): lr 1e-4 83.0% (75.8%), 2e-4 85.3% (77.0%), 3e-4 85.5% (77.3%),
   * 5e-4 85.8% (78.4%), 1e-3 83.3% (77.8%, one seed). On fresh labels (labeling seed 2) 5e-4 gave 85.5% against
   * 83.0% at 1e-4; on the end-to-end test's ~1,050 labels 88.8% against 85.5%. A zero or N(0, 1/√(C+1)) head,
   * a 10× head lr, batch 8 or weight decay 0.1 (each at lr 1e-4), and 6 epochs (at lr 5e-5, 2e-4, 3e-4) did not
   * beat it (BENCHMARKS.md, "Reward model").
   */
  lr: number;
  /** The fresh scalar head learns at lr × this (the pretrained body at lr). */
  headLrScale: number;
  /** Steps of linear warm-up from 0 to lr; then linear decay to lr * minLrRatio at the last step. */
  warmupSteps: number;
  minLrRatio: number;
  /** AdamW decoupled weight decay (matrices and embeddings). */
  weightDecay: number;
  /** Global gradient-norm clip; 0 disables. */
  maxGradNorm: number;
  /** How tie labels train: "drop" leaves them out, "equal" trains the two scores towards each other. */
  ties: TiePolicy;
  /** Required gap r(chosen) − r(rejected) in the loss −log σ(Δ − margin); a line's own "margin" adds to it. */
  margin: number;
  /** Fraction of prompts held out for validation (split by a hash of the prompt: no prompt on both sides). */
  valFraction: number;
  /** Validate every this many steps, and at the end of each epoch. */
  evalEvery: number;
  /** Stop after this many validations without a better accuracy; 0 never stops early. */
  patience: number;
  /** Checkpoint (weights, optimizer, position) every this many steps. */
  saveEvery: number;
  /** Seed of the head's initialisation, the data order and the split. */
  seed: number;
  /** Reference policy samples for normalisation, JSONL {"prompt","completion"}; null uses every completion in the data. */
  reference: string | null;
  /** Sequences per forward pass when scoring (validation, normalisation). */
  scoreBatchSize: number;
  /** LoRA adapters on the backbone (the head always trains); null trains every weight. */
  lora: LoraConfig | null;
}

export const RM_DEFAULTS: Omit<RmConfig, 'model' | 'out'> = {
  db: null, data: [], epochs: 4, batchSize: 16, lr: 5e-4, headLrScale: 1, warmupSteps: 10, minLrRatio: 0.1, weightDecay: 0, maxGradNorm: 1,
  ties: 'drop', margin: 0, valFraction: 0.1, evalEvery: 50, patience: 0, saveEvery: 100, seed: 0, reference: null,
  scoreBatchSize: 64, lora: null,
};

export class RmConfigError extends Error {}

/** Merge defaults, check every field, and return the resolved config. */
export function resolveRmConfig(raw: Record<string, unknown>, source = 'config'): RmConfig {
  const c = { ...RM_DEFAULTS, ...raw } as RmConfig;
  const { known, fail, int, num, lora } = fieldChecks(c, source, RmConfigError);
  known(raw, [...Object.keys(RM_DEFAULTS), 'model', 'out']);
  if (typeof c.model !== 'string' || !c.model) fail('model', 'a checkpoint folder');
  if (typeof c.out !== 'string' || !c.out) fail('out', 'a folder path');
  if (!Array.isArray(c.data) || !c.data.every((d) => typeof d === 'string')) fail('data', 'a list of JSONL files');
  if (c.db !== null && (typeof c.db !== 'string' || !c.db)) fail('db', 'a SQLite file or null');
  if ((c.db !== null) === (c.data.length > 0)) throw new RmConfigError(`${source}: give exactly one of db (a label store) or data (JSONL files)`);
  if (c.ties !== 'drop' && c.ties !== 'equal') fail('ties', '"drop" or "equal"');
  if (c.reference !== null && typeof c.reference !== 'string') fail('reference', 'a JSONL file or null');
  for (const f of ['epochs', 'batchSize', 'evalEvery', 'saveEvery', 'scoreBatchSize'] as const) int(f, 1);
  for (const f of ['warmupSteps', 'patience', 'seed'] as const) int(f, 0);
  num('lr', 0, 10);
  num('headLrScale', 0, 1000);
  num('minLrRatio', 0, 1);
  num('weightDecay', 0, 10);
  num('maxGradNorm', 0, Infinity);
  num('margin', -100, 100);
  num('valFraction', 0, 0.9);
  if (c.lora) c.lora = lora(c.lora);
  return c;
}
