// Batched sampling from a GPT: left-padded prompts, a KV cache, EOS and stop strings, seeded draws.
// Each step runs one tidy'd forward of the newest token per row, reads that step's logits [B, V] once,
// and samples in JS (see sampling.ts). With several completions per prompt (GRPO, RLOO), each prompt is
// encoded once and its KV cache copied to the rows of its group.
import * as tf from '@tensorflow/tfjs';
import { GPT, KVCache } from './model.js';
import { repeatRows } from './kv-cache.js';
import { Rng } from './rng.js';
import { readView, vectorMath } from '../backend/accel.js';
import { checkSampling, sampleRows, SamplingOptions } from './sampling.js';
import { Tokenizer } from './tokenizer.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to add per row. */
  maxNewTokens: number;
  /** Seed of the sampling RNG; the same seed, model and prompts give the same completions. */
  seed: number;
  /** Token that ends a row (included in ids, left out of text); null disables. Default: the model's eos ids (all of them). */
  eosId?: number | null;
  /** Several tokens that end a row (generation_config.json may list several); overrides eosId. */
  eosIds?: number[];
  /** Strings that end a row; the text is cut before the first one. Needs a tokenizer. */
  stop?: string[];
  /** false recomputes the whole sequence every step (for benchmarks and tests). Default true. */
  useCache?: boolean;
  /**
   * Completions per prompt (transformers' name; default 1). The result holds prompts.length × G
   * completions, prompt-major (all G of prompt 0, then prompt 1, …), the same as repeating each prompt G
   * times in `prompts` with the same seed; but the prompt's prefill runs once and its cache is shared.
   */
  numReturnSequences?: number;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface Completion {
  prompt: string;
  promptIds: number[];
  /** Sampled ids, including a final EOS when there was one. */
  ids: number[];
  /** Decoded ids without the EOS, cut before any stop string. Empty when no tokenizer was given. */
  text: string;
  /** logprobs[i] is the log-probability of ids[i] under the distribution it was sampled from. */
  logprobs: number[];
  finishReason: FinishReason;
}

/** Sample completions for prompts given as text (needs the tokenizer) or as token ids. */
export async function generate(
  model: GPT,
  tokenizer: Tokenizer | null,
  prompts: (string | number[])[],
  opts: GenerateOptions,
): Promise<Completion[]> {
  checkSampling(opts);
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) throw new Error(`max new tokens must be an integer >= 1, got ${opts.maxNewTokens}`);
  const G = opts.numReturnSequences ?? 1;
  if (!Number.isInteger(G) || G < 1) throw new Error(`numReturnSequences must be an integer >= 1, got ${G}`);
  const c = model.config;
  const stop = opts.stop ?? [];
  if (stop.length && !tokenizer) throw new Error('stop strings need a tokenizer');
  // By default every end-of-sequence id the model's config and its tokenizer's generation_config name.
  const eosSet = new Set(opts.eosIds ?? (opts.eosId === undefined ? [...c.eosTokenIds, ...(tokenizer?.eosIds ?? [])] : opts.eosId === null ? [] : [opts.eosId]));
  const eos = eosSet.size ? [...eosSet][0] : null; // padding for finished rows
  const promptIds = prompts.map((p) => {
    if (typeof p !== 'string') return p;
    if (!tokenizer) throw new Error('text prompts need a tokenizer');
    return tokenizer.encode(p);
  });
  // An empty prompt starts from BOS, as GPT-2 was trained to begin documents after <|endoftext|>.
  const rows = promptIds.map((ids) => (ids.length ? ids : [c.bosTokenId]));
  for (const r of rows) {
    for (const id of r) if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new Error(`token id ${id} is outside the vocabulary (0..${c.vocabSize - 1})`);
  }
  const Tp = Math.max(...rows.map((r) => r.length));
  if (Tp + opts.maxNewTokens > c.nPositions) {
    throw new Error(`prompt (${Tp} tokens) + max new tokens (${opts.maxNewTokens}) exceeds the model's ${c.nPositions} positions`);
  }
  const pad = eos ?? 0;
  // Left padding: every row's last prompt token sits in the last column, so one slice gives next-token logits.
  const seq0 = rows.map((r) => [...new Array(Tp - r.length).fill(pad), ...r]);
  const mask0 = rows.map((r) => [...new Array(Tp - r.length).fill(0), ...new Array(r.length).fill(1)]);
  // Row b of the B·G decoded rows continues prompt ⌊b / G⌋.
  const group = (a: number[][]) => (G === 1 ? a : a.flatMap((r) => Array.from({ length: G }, () => [...r])));
  const seqs = group(seq0);
  const mask = group(mask0);
  const B = seqs.length;
  const out = seqs.map(() => ({ ids: [] as number[], logprobs: [] as number[], done: null as FinishReason | null, text: '' }));
  const rng = new Rng(opts.seed);
  const cache = opts.useCache === false ? null : new KVCache(Tp + opts.maxNewTokens);
  // With a cache the prefill runs on the distinct prompts only; its logits row p serves rows p·G .. p·G+G−1
  // until the cache has been repeated for the first decoding step. Without one every step sees all rows.
  let share = cache ? G : 1;

  let next: tf.Tensor | null = null;
  try {
    next = share > 1 ? nextLogits(model, seq0, mask0, cache, Tp) : nextLogits(model, seqs, mask, cache, Tp);
    if (share > 1) repeatRows(cache!, G);
    for (let step = 0; step < opts.maxNewTokens; step++) {
      const V = c.vocabSize;
      // Read the logits where they lie (no copy: [16, 50257] is 3.2 MB of fresh pages per token) and
      // sample before the tensor is freed; sampling allocates no tensors, so the view stays valid.
      const logits = readView(next);
      const live = out.flatMap((o, b) => (o.done ? [] : [b]));
      // Draws in the order of the B·G rows, as the same prompts repeated would take them.
      const src = share > 1 ? live.map((b) => Math.floor(b / share)) : live;
      const picks = sampleRows(logits, V, src, opts, rng, vectorMath());
      share = 1;
      for (const [j, b] of live.entries()) {
        const o = out[b];
        const pick = picks[j];
        o.ids.push(pick.token);
        o.logprobs.push(pick.logprob);
        if (eosSet.has(pick.token)) o.done = 'eos';
        else if (stop.length) {
          const text = tokenizer!.decode(o.ids);
          const at = Math.min(...stop.map((s) => text.indexOf(s)).filter((i) => i >= 0));
          if (Number.isFinite(at)) {
            o.done = 'stop';
            o.text = text.slice(0, at);
          }
        }
      }
      next.dispose();
      next = null;
      if (out.every((o) => o.done) || step === opts.maxNewTokens - 1) break;
      for (let b = 0; b < B; b++) {
        seqs[b].push(out[b].done ? pad : out[b].ids.at(-1)!); // finished rows idle on padding
        mask[b].push(1);
      }
      next = nextLogits(model, seqs, mask, cache, 1);
    }
  } finally {
    next?.dispose();
    cache?.dispose();
  }
  return out.map((o, row) => {
    const b = Math.floor(row / G);
    const finishReason = o.done ?? 'length';
    let text = o.text;
    if (tokenizer && finishReason !== 'stop') text = tokenizer.decode(finishReason === 'eos' ? o.ids.slice(0, -1) : o.ids);
    const prompt = typeof prompts[b] === 'string' ? (prompts[b] as string) : tokenizer ? tokenizer.decode(promptIds[b]) : '';
    return { prompt, promptIds: G === 1 ? promptIds[b] : [...promptIds[b]], ids: o.ids, text, logprobs: o.logprobs, finishReason };
  });
}

/** Run the model on the last `fresh` columns (all columns without a cache): the final logits [B, 1, V], owned by the caller. */
function nextLogits(model: GPT, seqs: number[][], mask: number[][], cache: KVCache | null, fresh: number): tf.Tensor {
  const B = seqs.length;
  const T = seqs[0].length;
  const take = cache ? fresh : T;
  return tf.tidy(() => {
    const ids = tf.tensor2d(seqs.map((s) => s.slice(T - take)), [B, take], 'int32');
    const m = tf.tensor2d(mask, [B, T], 'int32');
    return model.forward(ids, { attentionMask: m, cache: cache ?? undefined, logits: 'last' }).logits!;
  });
}
