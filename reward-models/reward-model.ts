// A reward model: a GPT-2 backbone plus a scalar head `score` [1, C] read at the last non-pad token of
// prompt+completion+EOS, the layout of Hugging Face's GPT2ForSequenceClassification with num_labels = 1.
// It keeps its own tokenizer: callers pass text, never token ids, so the policy may tokenize differently.
// Scores come out normalised, (raw − mean) / std, with mean and std measured on policy samples after
// training and stored in config.json, so PPO sees rewards of a known scale.
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError, hfTensorToWrite, readConfig, readWeights, writeFileAtomic } from '../lm/checkpoint.js';
import type { GPTConfig, StorageDtype } from '../lm/config.js';
import { configToHF } from '../lm/hf-config.js';
import type { GPT } from '../lm/model.js';
import { createModel, parameterShapes } from '../lm/models/registry.js';
import { serializeSafetensors } from '../lm/safetensors.js';
import { Tokenizer } from '../lm/tokenizer.js';

/** Affine map from raw head outputs to the scores PPO sees: (raw − mean) / std. */
export interface Normalization {
  mean: number;
  std: number;
  /** How many policy samples mean and std were measured on (0: not normalised yet). */
  samples: number;
}

/** The config.json field that marks a folder as one of our reward models. */
export const RM_FIELD = 'rlhf_reward_model';

export class RewardModel {
  /** [1, C]: HF's score.weight (no bias). */
  readonly head: tf.Variable;
  norm: Normalization = { mean: 0, std: 1, samples: 0 };

  constructor(readonly backbone: GPT, readonly tokenizer: Tokenizer, head?: tf.Tensor) {
    const C = backbone.config.nEmbd;
    const init = head ?? tf.tidy(() => tf.randomNormal([1, C], 0, 0.02, 'float32', 1234));
    this.head = tf.variable(init, true, 'score.weight_' + Math.random().toString(36).slice(2));
    if (!head) init.dispose();
  }

  /** Every trainable tensor by name: the backbone's HF names plus `score.weight`. */
  params(): Map<string, tf.Variable> {
    return new Map([...this.backbone.params, ['score.weight', this.head]]);
  }

  /**
   * Token ids of prompt + completion + EOS. The head reads the EOS position: the same token in every
   * sequence, so the attention that gathers evidence from the text is learned once for all inputs
   * (reading at whatever word happens to come last invites memorising pairs instead). Over-long texts
   * keep their end, which the head reads.
   */
  encode(prompt: string, completion: string): number[] {
    const ids = [...this.tokenizer.encode(prompt + completion), this.backbone.config.eosTokenId];
    const n = this.backbone.config.nPositions;
    return ids.length > n ? ids.slice(ids.length - n) : ids;
  }

  /** Raw rewards [B] of right-padded ids [B, T] with mask [B, T]. Call inside tf.tidy. */
  rewards(ids: tf.Tensor2D, mask: tf.Tensor2D, lengths: number[]): tf.Tensor1D {
    const [B, T] = ids.shape;
    const { hidden } = this.backbone.forward(ids, { attentionMask: mask, logits: 'none' }); // [B, T, C]
    // Select each row's last real token with a one-hot matrix product (its gradient is a matMul too).
    const sel = new Float32Array(B * T);
    lengths.forEach((n, b) => (sel[b * T + n - 1] = 1));
    const last = tf.reshape(tf.matMul(tf.tensor3d(sel, [B, 1, T]), hidden), [B, this.backbone.config.nEmbd]); // [B, C]
    return tf.reshape(tf.matMul(last, this.head, false, true), [B]) as tf.Tensor1D; // [B]
  }

  /** Right-padded tensors for a list of id sequences. Call inside tf.tidy. */
  static pad(seqs: number[][], padId: number): { ids: tf.Tensor2D; mask: tf.Tensor2D; lengths: number[] } {
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = new Int32Array(seqs.length * T).fill(padId);
    const mask = new Int32Array(seqs.length * T);
    seqs.forEach((s, b) => {
      ids.set(s, b * T);
      mask.fill(1, b * T, b * T + s.length);
    });
    return { ids: tf.tensor2d(ids, [seqs.length, T], 'int32'), mask: tf.tensor2d(mask, [seqs.length, T], 'int32'), lengths: seqs.map((s) => s.length) };
  }

  /** Raw head outputs for texts, in batches of similar length (less padding). */
  async scoreRaw(prompts: string[], completions: string[], batchSize = 32): Promise<number[]> {
    if (prompts.length !== completions.length) throw new Error(`${prompts.length} prompts but ${completions.length} completions`);
    const seqs = prompts.map((p, i) => this.encode(p, completions[i]));
    const order = seqs.map((_, i) => i).sort((a, b) => seqs[a].length - seqs[b].length);
    const out = new Array<number>(seqs.length);
    for (let s = 0; s < order.length; s += batchSize) {
      const idx = order.slice(s, s + batchSize);
      const r = tf.tidy(() => {
        const { ids, mask, lengths } = RewardModel.pad(idx.map((i) => seqs[i]), this.backbone.config.eosTokenId);
        return this.rewards(ids, mask, lengths);
      });
      const v = await r.data();
      r.dispose();
      idx.forEach((i, k) => (out[i] = v[k]));
    }
    return out;
  }

  /** Normalised scores for (prompt, completion) texts: what PPO optimises. */
  async score(prompts: string[], completions: string[], batchSize = 32): Promise<number[]> {
    const raw = await this.scoreRaw(prompts, completions, batchSize);
    return raw.map((r) => (r - this.norm.mean) / this.norm.std);
  }

  /** Set the normalisation from raw scores of a reference set of policy samples. */
  normalizeOn(raw: number[]): Normalization {
    if (raw.length < 2) throw new Error(`normalisation needs at least 2 reference samples, got ${raw.length}`);
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const std = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / (raw.length - 1));
    this.norm = { mean, std: std > 1e-8 ? std : 1, samples: raw.length };
    return this.norm;
  }

  /** Hugging Face layout: config.json, model.safetensors with `score.weight` beside the backbone, tokenizer.json. */
  /** `override` replaces some backbone weights as written (LoRA's merged weights). */
  async save(dir: string, dtype?: StorageDtype, override?: Map<string, tf.Tensor>): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const c = this.backbone.config;
    const d = dtype ?? c.dtype;
    const tensors = [];
    for (const [name, shape] of parameterShapes(c)) tensors.push(await hfTensorToWrite(c, name, shape, override?.get(name) ?? this.backbone.p(name), d));
    tensors.push({ name: 'score.weight', shape: [1, c.nEmbd], dtype: d, data: (await this.head.data()) as Float32Array });
    // Weights first, config last: a reader that finds the new config.json also finds matching weights.
    writeFileAtomic(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
    for (const [name, text] of Object.entries(this.tokenizer.files())) writeFileAtomic(join(dir, name), text);
    const hf = configToHF({ ...c, dtype: d });
    const cfg = {
      ...hf,
      architectures: [(hf.architectures as string[])[0].replace(/(LMHeadModel|ForCausalLM)$/, 'ForSequenceClassification')],
      num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 },
      // transformers reads each row's last non-pad token, which must be our EOS: GPT-2 with no pad id reads
      // the last position; the Llama family refuses batches without one, so it gets an id that is not EOS.
      pad_token_id: c.modelType === 'gpt2' ? null : scorePadId(c),
      [RM_FIELD]: { input: 'prompt + completion + eos', readout: 'last token (the eos)', normalization: this.norm },
    };
    writeFileAtomic(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  }

  /** Load a reward-model folder; errors name the file and what is wrong with it. */
  static load(dir: string): RewardModel {
    const config = readConfig(dir);
    const cfgFile = join(dir, 'config.json');
    const raw = JSON.parse(readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
    const meta = raw[RM_FIELD] as { normalization?: Partial<Normalization> } | undefined;
    if (!meta || raw.num_labels !== 1) throw new CheckpointError(`${cfgFile}: not a reward model (needs num_labels 1 and a "${RM_FIELD}" field; train one with rlhf train-rm)`);
    const n = meta.normalization ?? {};
    if (!Number.isFinite(n.mean) || !Number.isFinite(n.std) || !(n.std! > 0)) {
      throw new CheckpointError(`${cfgFile}: ${RM_FIELD}.normalization needs a finite mean and a positive std, got ${JSON.stringify(n)}`);
    }
    const weights = readWeights(dir, config, [['score.weight', [1, config.nEmbd]]]);
    if (!existsSync(join(dir, 'tokenizer.json'))) throw new CheckpointError(`${join(dir, 'tokenizer.json')}: not found (a reward model keeps its own tokenizer)`);
    const tok = Tokenizer.load(dir);
    const values = new Map<string, tf.Tensor>();
    for (const [name, w] of weights) if (name !== 'score.weight') values.set(name, tf.tensor(w.data, w.shape, 'float32'));
    const head = tf.tensor(weights.get('score.weight')!.data, [1, config.nEmbd]);
    try {
      const rm = new RewardModel(createModel(config, values), tok, head);
      rm.norm = { mean: n.mean!, std: n.std!, samples: n.samples ?? 0 };
      return rm;
    } finally {
      tf.dispose([...values.values(), head]);
    }
  }

  dispose(): void {
    this.backbone.dispose();
    this.head.dispose();
  }
}

/** A padding id for batched scoring in transformers: the model's own unless it is an EOS id, else the first id that is not one. */
function scorePadId(c: GPTConfig): number {
  if (c.padTokenId !== null && !c.eosTokenIds.includes(c.padTokenId)) return c.padTokenId;
  let id = 0;
  while (c.eosTokenIds.includes(id)) id++;
  return id;
}
