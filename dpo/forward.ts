// The one forward pass DPO makes: every completion of a batch of comparisons, each after its prompt, as
// right-padded rows [prompt | completion | pad]; per row the summed log-probability of its completion
// tokens (what the loss sees), and for the metrics the summed entropy and the summed mean logit (the mean
// over the vocabulary at each completion position, TRL's logits/chosen) of the same tokens. Rows are
// right-padded, not [left-padded prompt | completion], so a batch is as long as its longest row.
// Log-probabilities go through rl/logprobs.ts headLogprobsAndEntropy: with a large vocabulary (Qwen's
// 151,936) the [tokens, V] logits are never whole. The mean logit needs no logits at all: the mean over V
// of h · w_v is h · mean_v(w_v).
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../lm/model.js';
import { headLogprobsAndEntropy } from '../rl/logprobs.js';
import type { DpoExample } from './data.js';

/** Rows of a forward pass: example i's completions are rows offsets[i] .. offsets[i] + K_i − 1. */
export interface SeqBatch {
  /** [N][T] prompt + completion, right-padded. */
  ids: number[][];
  /** [N][T] 1 on real tokens. */
  attn: number[][];
  /** [N][T − 1] 1 where the target ids[t + 1] is a completion token. */
  target: number[][];
  /** [N] completion tokens of each row. */
  lengths: number[];
  offsets: number[];
  /** Real tokens of every row (prompt included): TRL's num_tokens counts these. */
  tokens: number;
}

export function seqBatch(examples: DpoExample[], pad: number): SeqBatch {
  const rows = examples.flatMap((e) => e.completionIds.map((c) => ({ p: e.promptIds.length, ids: [...e.promptIds, ...c] })));
  const T = Math.max(...rows.map((r) => r.ids.length));
  const offsets: number[] = [];
  examples.reduce((o, e) => (offsets.push(o), o + e.completionIds.length), 0);
  return {
    ids: rows.map((r) => [...r.ids, ...new Array(T - r.ids.length).fill(pad)]),
    attn: rows.map((r) => Array.from({ length: T }, (_, t) => (t < r.ids.length ? 1 : 0))),
    target: rows.map((r) => Array.from({ length: T - 1 }, (_, t) => (t + 1 >= r.p && t + 1 < r.ids.length ? 1 : 0))),
    lengths: rows.map((r) => r.ids.length - r.p),
    offsets,
    tokens: rows.reduce((a, r) => a + r.ids.length, 0),
  };
}

export interface SeqStats {
  /** [N, 2] per row: Σ log π(y_t) and Σ H(π_t) over the completion tokens. */
  stats: tf.Tensor2D;
  /** [N] per row: Σ mean_v logit_v over the completion tokens (metrics only: not on the loss's path, so no gradient flows). */
  meanLogit: tf.Tensor1D;
}

/** Per-row statistics of a batch. Call inside tf.tidy. */
export function sequenceStats(model: GPT, b: SeqBatch): SeqStats {
  const N = b.ids.length;
  const T = b.ids[0].length - 1;
  const C = model.config.nEmbd;
  const ids = tf.tensor2d(b.ids.map((r) => r.slice(0, T)), [N, T], 'int32');
  const attn = tf.tensor2d(b.attn.map((r) => r.slice(0, T)), [N, T], 'int32');
  const { hidden } = model.forward(ids, { attentionMask: attn, logits: 'none' }); // [N, T, C]
  const h = tf.reshape(hidden, [N * T, C]) as tf.Tensor2D;
  const w = model.headWeight(); //                                                   [V, C]
  const targets = tf.tensor1d(b.ids.flatMap((r) => r.slice(1)), 'int32'); //        [N*T]
  const le = headLogprobsAndEntropy(h, w, targets, 1); //                            [N*T, 2]
  const mask = tf.tensor2d(b.target, [N, T]);
  const stats = tf.sum(tf.mul(tf.reshape(le, [N, T, 2]), tf.expandDims(mask, 2)), 1) as tf.Tensor2D; // [N, 2]
  // Σ_t mask_t h_t · mean_v w_v: [N, C] · [C]
  const hSum = tf.sum(tf.mul(hidden, tf.expandDims(mask, 2)), 1); //                 [N, C]
  const meanLogit = tf.reshape(tf.matMul(hSum, tf.reshape(tf.mean(w, 0), [C, 1])), [N]) as tf.Tensor1D;
  return { stats, meanLogit };
}

/** Column 0 of sequenceStats for every completion of `examples`, in batches without gradients. */
export function completionLogps(model: GPT, examples: DpoExample[], batchSize: number, pad: number): Float32Array {
  const out: number[] = [];
  for (let i = 0; i < examples.length; i += batchSize) {
    const b = seqBatch(examples.slice(i, i + batchSize), pad);
    const t = tf.tidy(() => tf.slice(sequenceStats(model, b).stats, [0, 0], [-1, 1]));
    out.push(...t.dataSync());
    t.dispose();
  }
  return Float32Array.from(out);
}
