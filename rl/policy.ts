// The models of a PPO run and their batched forward passes: the policy (full or LoRA), the frozen
// reference (the policy with its adapter off under LoRA, else a frozen copy), and the value head on
// either the policy's backbone, a separate critic copy, or a critic initialised from the reward model
// (its backbone, and its score head as the value head). Sequences are [left-padded query | response
// padded on the right]; position t of the response is predicted from the hidden state just before it.
import * as tf from '@tensorflow/tfjs';
import { CheckpointError, loadCheckpoint } from '../lm/checkpoint.js';
import { Lora, LoraConfig } from '../lm/lora.js';
import { GPT } from '../lm/model.js';
import { linear } from '../lm/ops.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { RewardModel } from '../reward-models/reward-model.js';
import { headLogprobsAndEntropy } from './logprobs.js';

/** A batch packed for the forward passes. Rows share Tp (query width) and R (response width). */
export interface Packed {
  /** [B][Tp + R]: query left-padded, response right-padded. */
  ids: number[][];
  /** [B][Tp + R]: 1 on real tokens. */
  attn: number[][];
  Tp: number;
  R: number;
  /** [B][R]: response ids (padding filled with the pad id). */
  responses: number[][];
  /** [B][R]: 1 on real response tokens (up to and including EOS). */
  mask: number[][];
}

export function pack(queries: number[][], responses: number[][], pad: number): Packed {
  const Tp = Math.max(...queries.map((q) => q.length));
  const R = Math.max(1, ...responses.map((r) => r.length));
  const out: Packed = { ids: [], attn: [], Tp, R, responses: [], mask: [] };
  queries.forEach((q, b) => {
    const r = responses[b];
    const lp = Tp - q.length;
    const rp = R - r.length;
    const resp = [...r, ...new Array(rp).fill(pad)];
    out.ids.push([...new Array(lp).fill(pad), ...q, ...resp]);
    out.attn.push([...new Array(lp).fill(0), ...new Array(q.length + r.length).fill(1), ...new Array(rp).fill(0)]);
    out.responses.push(resp);
    out.mask.push([...new Array(r.length).fill(1), ...new Array(rp).fill(0)]);
  });
  return out;
}

/** Rows of a packed batch (a minibatch), keeping Tp and R. */
export function rowsOf(p: Packed, idx: number[]): Packed {
  const pick = <T>(a: T[]) => idx.map((i) => a[i]);
  return { ids: pick(p.ids), attn: pick(p.attn), Tp: p.Tp, R: p.R, responses: pick(p.responses), mask: pick(p.mask) };
}

/** Linear value head on hidden states: [N, C] -> [N]. Zero-initialised, so the first values are 0. */
export class ValueHead {
  readonly params = new Map<string, tf.Variable>();
  constructor(nEmbd: number) {
    // tidy disposes the initial values (a variable keeps its own reference to the data)
    this.params.set('v_head.weight', tf.tidy(() => tf.variable(tf.zeros([nEmbd, 1]), true, uniq('v_head.weight'))));
    this.params.set('v_head.bias', tf.tidy(() => tf.variable(tf.zeros([1]), true, uniq('v_head.bias'))));
  }
  /** Set the head to h·w + b: w [C] (a reward model's score row, scaled), b a scalar. */
  assign(w: Float32Array, b: number): void {
    const weight = this.params.get('v_head.weight')!;
    if (w.length !== weight.shape[0]) throw new Error(`value head: ${w.length} weights for a width of ${weight.shape[0]}`);
    tf.tidy(() => {
      weight.assign(tf.tensor2d(w, [w.length, 1]));
      this.params.get('v_head.bias')!.assign(tf.tensor1d([b]));
    });
  }
  forward(h: tf.Tensor2D): tf.Tensor1D {
    const w = this.params.get('v_head.weight')! as tf.Tensor as tf.Tensor2D;
    const b = this.params.get('v_head.bias')! as tf.Tensor as tf.Tensor1D;
    return tf.reshape(linear(h, w, b), [-1]) as tf.Tensor1D;
  }
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** Hidden states that predict the response tokens: [B*R, C]. Call inside tf.tidy. */
export function responseHidden(model: GPT, p: Packed): tf.Tensor2D {
  const B = p.ids.length;
  const L = p.Tp + p.R;
  const ids = tf.tensor2d(p.ids.map((r) => r.slice(0, L - 1)), [B, L - 1], 'int32');
  const attn = tf.tensor2d(p.attn.map((r) => r.slice(0, L - 1)), [B, L - 1], 'int32');
  const { hidden } = model.forward(ids, { attentionMask: attn, logits: 'none' }); // [B, L-1, C]
  const C = model.config.nEmbd;
  return tf.reshape(tf.slice(hidden, [0, p.Tp - 1, 0], [B, p.R, C]), [B * p.R, C]) as tf.Tensor2D;
}

export interface PolicyOut {
  /** [N, 2]: log π(y_t) at the sampling temperature, and the entropy of π_t. N = B * R. */
  le: tf.Tensor2D;
  /** [N] values, or null when the critic is separate. */
  values: tf.Tensor1D | null;
}

export class PpoModels {
  private constructor(
    readonly policy: GPT,
    readonly tokenizer: Tokenizer,
    readonly lora: Lora | null,
    /** Frozen copy for full fine-tuning; null under LoRA (the adapter is switched off instead). */
    readonly ref: GPT | null,
    /** Separate critic backbone, or null when the head sits on the policy. */
    readonly critic: GPT | null,
    readonly head: ValueHead,
  ) {}

  /**
   * Load from the config's model folder. When resuming, `policyFrom` / `adapterFrom` / `criticFrom`
   * give the checkpoint's weights instead; the reference always comes from the original model.
   * `criticFromRewardModel` (with separateCritic) starts the critic from a reward-model folder instead of
   * the policy: see criticFromRewardModel below; a resume's criticFrom (and value_head) take precedence.
   */
  static load(
    model: string,
    opts: { lora: LoraConfig | null; separateCritic: boolean; seed: number; policyFrom?: string; adapterFrom?: string; criticFrom?: string; criticFromRewardModel?: string },
  ): PpoModels {
    const base = loadCheckpoint(opts.policyFrom ?? model);
    if (!base.tokenizer) throw new Error(`${opts.policyFrom ?? model}: no tokenizer.json (PPO needs text for the reward)`);
    let lora: Lora | null = null;
    let ref: GPT | null = null;
    if (opts.lora) lora = opts.adapterFrom ? Lora.load(opts.adapterFrom, base.model) : Lora.attach(base.model, opts.lora, opts.seed);
    else {
      ref = loadCheckpoint(model).model;
      ref.setFrozen(true);
    }
    let critic: GPT | null = null;
    let head: ValueHead;
    try {
      if (opts.separateCritic && opts.criticFromRewardModel && !opts.criticFrom) ({ critic, head } = criticFromRewardModel(opts.criticFromRewardModel, base.tokenizer));
      else {
        if (opts.separateCritic) critic = loadCheckpoint(opts.criticFrom ?? model).model;
        head = new ValueHead((critic ?? base.model).config.nEmbd); // the head reads the critic's hidden states
      }
    } catch (e) {
      lora?.dispose();
      base.model.dispose();
      ref?.dispose();
      critic?.dispose();
      throw e;
    }
    return new PpoModels(base.model, base.tokenizer, lora, ref, critic, head);
  }

  /** Every trained variable under one optimizer: policy (or adapter), value head, and the critic. */
  trainable(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>(this.lora ? this.lora.params : this.policy.params);
    for (const [k, v] of this.head.params) out.set(k, v);
    if (this.critic) for (const [k, v] of this.critic.params) out.set('critic.' + k, v);
    return out;
  }

  /** Policy logprobs and entropy (and values on a shared backbone). Call inside tf.tidy. */
  policyForward(p: Packed, temperature: number): PolicyOut {
    const h = responseHidden(this.policy, p);
    const targets = tf.tensor1d(p.responses.flat(), 'int32');
    const le = headLogprobsAndEntropy(h, this.policy.headWeight(), targets, temperature); // [N, 2], logits never whole when large
    return { le, values: this.critic ? null : this.head.forward(h) };
  }

  /** Values from the separate critic. Call inside tf.tidy. */
  criticForward(p: Packed): tf.Tensor1D {
    return this.head.forward(responseHidden(this.critic!, p));
  }

  /** Reference logprobs [N] at the sampling temperature. Call inside tf.tidy. */
  refLogprobs(p: Packed, temperature: number): tf.Tensor1D {
    return referenceLogprobs(this.ref ?? this.policy, this.lora, p, temperature);
  }

  dispose(): void {
    this.lora?.dispose();
    this.policy.dispose();
    this.ref?.dispose();
    this.critic?.dispose();
    this.head.dispose();
  }
}

/**
 * Reference log-probabilities [N] of a packed batch at the temperature: `model` (a frozen copy, or the
 * policy itself) with `lora` switched off for the call, so the policy's weights serve as the reference
 * without a second copy. Call inside tf.tidy.
 */
export function referenceLogprobs(model: GPT, lora: Lora | null, p: Packed, temperature: number): tf.Tensor1D {
  if (lora) lora.enabled = false;
  try {
    const le = headLogprobsAndEntropy(responseHidden(model, p), model.headWeight(), tf.tensor1d(p.responses.flat(), 'int32'), temperature);
    return tf.reshape(tf.slice(le, [0, 0], [-1, 1]), [-1]) as tf.Tensor1D;
  } finally {
    if (lora) lora.enabled = true;
  }
}

/**
 * A critic from a reward-model folder (TRL and the N+ details start the value model from the reward model):
 * its backbone, and its score head as the value head. The reward PPO sees is the normalised score
 * (raw − mean) / std, so the head becomes w / std with bias −mean / std: the critic's first value at the
 * last token is then the score itself. The critic reads the policy's token ids, so the reward model must
 * share the policy's vocabulary.
 */
export function criticFromRewardModel(dir: string, policyTok: Tokenizer): { critic: GPT; head: ValueHead } {
  let rm: RewardModel;
  try {
    rm = RewardModel.load(dir);
  } catch (e) {
    throw new CheckpointError(`valueModel 'reward-model' starts the critic from the reward model, and ${(e as Error).message}`);
  }
  try {
    const same = rm.tokenizer.vocabSize === policyTok.vocabSize && rm.backbone.config.vocabSize >= policyTok.vocabSize
      && JSON.stringify(rm.tokenizer.json.model) === JSON.stringify(policyTok.json.model)
      && JSON.stringify(rm.tokenizer.json.added_tokens ?? []) === JSON.stringify(policyTok.json.added_tokens ?? []);
    if (!same) throw new CheckpointError(`${dir}: valueModel 'reward-model' needs the reward model to share the policy's tokenizer (the critic reads the policy's token ids); this one has another vocabulary`);
  } catch (e) {
    rm.dispose();
    throw e;
  }
  const head = new ValueHead(rm.backbone.config.nEmbd);
  const w = rm.head.dataSync() as Float32Array; // [1, C]
  const { mean, std } = rm.norm;
  head.assign(Float32Array.from(w, (x) => x / std), -mean / std);
  rm.head.dispose(); // the backbone lives on as the critic
  return { critic: rm.backbone, head };
}

function uniq(name: string): string {
  return name + '_' + Math.random().toString(36).slice(2);
}
