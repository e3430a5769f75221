// Training data for SFT: plain text (language modelling on random windows) or JSONL prompt/completion
// pairs (loss on the completion and its EOS only). Every batch is a pure function of (seed, step, micro),
// so a resumed run sees exactly the batches an unbroken run would have.
import { readFileSync } from 'node:fs';
import { hash01, mix, Rng } from '../lm/rng.js';
import { Tokenizer } from '../lm/tokenizer.js';
import { jsonError } from '../lm/json-error.js';

export interface Batch {
  /** [B, T+1] token ids; inputs are [:, :-1], targets [:, 1:]. */
  ids: number[][];
  /** [B, T] 1 where the target counts in the loss; absent means all count. */
  lossMask?: number[][];
  /** [B, T+1] 1 for real tokens, 0 for right padding; absent means no padding. */
  attentionMask?: number[][];
}

export interface SftData {
  kind: 'text' | 'pairs';
  /** Training tokens (text) or examples (pairs). */
  trainSize: number;
  heldOutSize: number;
  /** The micro-batch of one optimizer step. */
  trainBatch(step: number, micro: number): Batch;
  /** Fixed held-out batches, the same at every evaluation. */
  evalBatches(count: number): Batch[];
}

export class DataError extends Error {}

/** Read the files named in a config: corpus texts are resolved by the caller and passed in `texts`. */
export function loadSftData(
  files: { name: string; text: string }[],
  tok: Tokenizer,
  o: { seqLen: number; batchSize: number; gradAccum: number; heldOut: number; seed: number },
): SftData {
  const pairs = files.filter((f) => f.name.endsWith('.jsonl'));
  if (pairs.length && pairs.length !== files.length) throw new DataError('mix of .jsonl pairs and plain text: train on one kind at a time');
  return pairs.length ? pairData(pairs, tok, o) : textData(files, tok, o);
}

/** Token ids of text files split into training and held-out parts: the last `heldOut` of each file is held out. */
export function splitText(files: { name: string; text: string }[], tok: Tokenizer, heldOut: number): { train: Int32Array; held: Int32Array } {
  const train: number[] = [];
  const held: number[] = [];
  for (const f of files) {
    const ids = tok.encode(f.text);
    if (tok.eosId !== null) ids.push(tok.eosId); // documents end with <|endoftext|>, as in GPT-2's training
    const cut = Math.floor(ids.length * (1 - heldOut));
    for (let i = 0; i < ids.length; i++) (i < cut ? train : held).push(ids[i]);
  }
  return { train: Int32Array.from(train), held: Int32Array.from(held) };
}

function textData(files: { name: string; text: string }[], tok: Tokenizer, o: { seqLen: number; batchSize: number; gradAccum: number; heldOut: number; seed: number }): SftData {
  const { train: trainIds, held: heldIds } = splitText(files, tok, o.heldOut);
  const T = o.seqLen;
  if (trainIds.length < T + 2) throw new DataError(`training text has ${trainIds.length} tokens, fewer than one window of ${T + 1}`);
  const window = (src: Int32Array, start: number) => Array.from(src.subarray(start, start + T + 1));
  return {
    kind: 'text',
    trainSize: trainIds.length,
    heldOutSize: heldIds.length,
    trainBatch(step, micro) {
      const rng = new Rng(mix(o.seed, step, micro));
      return { ids: Array.from({ length: o.batchSize }, () => window(trainIds, Math.floor(rng.next() * (trainIds.length - T)))) };
    },
    evalBatches(count) {
      if (heldIds.length < T + 1) return [];
      const n = count * o.batchSize;
      const stride = Math.max(1, Math.floor((heldIds.length - T - 1) / n)); // evenly spread windows
      const out: Batch[] = [];
      for (let b = 0; b < count; b++) {
        const ids = [];
        for (let j = 0; j < o.batchSize; j++) ids.push(window(heldIds, Math.min(((b * o.batchSize + j) * stride), heldIds.length - T - 1)));
        out.push({ ids });
      }
      return out;
    },
  };
}

interface Example {
  ids: number[];
  /** Index in ids of the first completion token. */
  start: number;
}

function pairData(files: { name: string; text: string }[], tok: Tokenizer, o: { seqLen: number; batchSize: number; gradAccum: number; heldOut: number; seed: number }): SftData {
  const train: Example[] = [];
  const held: Example[] = [];
  const eos = tok.eosId;
  const maxLen = o.seqLen + 1;
  for (const f of files) {
    f.text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch (e) {
        throw new DataError(`${f.name}:${i + 1}: ${jsonError(e)}`);
      }
      const { prompt, completion } = (j ?? {}) as Record<string, unknown>;
      if (typeof prompt !== 'string' || typeof completion !== 'string') throw new DataError(`${f.name}:${i + 1}: expected {"prompt": string, "completion": string}`);
      const p = tok.encode(prompt);
      let c = tok.encode(completion);
      if (eos !== null) c.push(eos);
      if (c.length + 1 > maxLen) c = c.slice(0, maxLen - 1); // keep at least one prompt token as context
      const keep = Math.max(1, maxLen - c.length);
      const pk = p.length ? p.slice(-keep) : eos !== null ? [eos] : [];
      if (!pk.length) throw new DataError(`${f.name}:${i + 1}: empty prompt and no EOS token to start from`);
      (hash01(prompt) < o.heldOut ? held : train).push({ ids: [...pk, ...c], start: pk.length });
    });
  }
  if (!train.length) throw new DataError('no training pairs (all held out or files empty)');
  const perms = new Map<number, Uint32Array>();
  const perm = (epoch: number) => {
    let p = perms.get(epoch);
    if (!p) {
      const rng = new Rng(mix(o.seed, epoch, 0x5eed));
      p = Uint32Array.from({ length: train.length }, (_, i) => i);
      for (let i = p.length - 1; i > 0; i--) {
        const k = Math.floor(rng.next() * (i + 1));
        [p[i], p[k]] = [p[k], p[i]];
      }
      perms.clear(); // only the current epoch is ever needed again
      perms.set(epoch, p);
    }
    return p;
  };
  const pad = eos ?? 0;
  const batchOf = (examples: Example[]): Batch => {
    const L = Math.max(...examples.map((e) => e.ids.length));
    return {
      ids: examples.map((e) => [...e.ids, ...new Array(L - e.ids.length).fill(pad)]),
      attentionMask: examples.map((e) => [...new Array(e.ids.length).fill(1), ...new Array(L - e.ids.length).fill(0)]),
      // target t (predicting ids[t+1]) counts when ids[t+1] is a completion token
      lossMask: examples.map((e) => Array.from({ length: L - 1 }, (_, t) => (t + 1 >= e.start && t + 1 < e.ids.length ? 1 : 0))),
    };
  };
  return {
    kind: 'pairs',
    trainSize: train.length,
    heldOutSize: held.length,
    trainBatch(step, micro) {
      const first = ((step - 1) * o.gradAccum + micro) * o.batchSize;
      return batchOf(Array.from({ length: o.batchSize }, (_, j) => {
        const g = first + j;
        return train[perm(Math.floor(g / train.length))[g % train.length]];
      }));
    },
    evalBatches(count) {
      const out: Batch[] = [];
      for (let b = 0; b < count && b * o.batchSize < held.length; b++) out.push(batchOf(held.slice(b * o.batchSize, (b + 1) * o.batchSize)));
      return out;
    },
  };
}

/** Read data paths: files from disk, corpus:NAME through the given resolver. */
export function readSources(paths: string[], corpus: (name: string) => string): { name: string; text: string }[] {
  return paths.map((p) => {
    if (p.startsWith('corpus:')) return { name: p, text: corpus(p.slice('corpus:'.length)) };
    try {
      return { name: p, text: readFileSync(p, 'utf8') };
    } catch (e) {
      throw new DataError(`${p}: ${(e as Error).message}`);
    }
  });
}
