// Trains a byte-level BPE tokenizer (GPT-2's scheme) and emits a Hugging Face tokenizer.json.
// Words are counted once; each merge then touches only the words that contain the merged pair,
// and a max-heap with lazy deletion finds the most frequent pair.
import { BYTE_TO_CHAR, byteLevelPieces } from './byte-level.js';

export interface BpeTrainOptions {
  /** Final vocabulary size, special tokens included. At least 256 + number of special tokens. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged. */
  minFrequency?: number;
  /** Added at the end of the vocabulary, in order; GPT-2 has only <|endoftext|>. */
  specialTokens?: string[];
}

interface Word {
  sym: number[];
  count: number;
}

/** Max-heap of [count, pairKey], ties broken by the smaller key so training is deterministic. */
class PairHeap {
  private h: [number, number][] = [];
  push(e: [number, number]): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): [number, number] | undefined {
    const h = this.h;
    if (!h.length) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.above(h[l], h[m])) m = l;
        if (r < h.length && this.above(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
  private above(a: [number, number], b: [number, number]): boolean {
    return a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
  }
}

const SHIFT = 1 << 20; // symbol ids stay below 2^20, so a pair (a, b) packs into one number a * 2^20 + b

/** Count byte-level words in the texts. Call repeatedly to stream a corpus; pass the same map. */
export function countWords(text: string, counts: Map<string, number> = new Map()): Map<string, number> {
  for (const w of byteLevelPieces(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** Learn merges from word counts and return the tokenizer.json object. */
export function trainBpe(wordCounts: Map<string, number>, opts: BpeTrainOptions): Record<string, unknown> {
  const specials = opts.specialTokens ?? ['<|endoftext|>'];
  const minFreq = opts.minFrequency ?? 2;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 + specials.length) {
    throw new Error(`vocab size must be an integer >= ${256 + specials.length} (256 bytes + special tokens), got ${opts.vocabSize}`);
  }
  if (opts.vocabSize >= SHIFT) throw new Error(`vocab size must be < ${SHIFT}`);
  const tokens: string[] = [...BYTE_TO_CHAR];
  const charId = new Map(tokens.map((t, i) => [t, i]));
  const words: Word[] = [...wordCounts].map(([w, count]) => ({ sym: [...w].map((ch) => charId.get(ch)!), count }));

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const addPairs = (wi: number, sign: 1 | -1, touched: Set<number>) => {
    const { sym, count } = words[wi];
    for (let j = 0; j + 1 < sym.length; j++) {
      const key = sym[j] * SHIFT + sym[j + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * count);
      if (sign > 0) {
        let s = pairWords.get(key);
        if (!s) pairWords.set(key, (s = new Set()));
        s.add(wi);
      }
      touched.add(key);
    }
  };
  const init = new Set<number>();
  words.forEach((_, wi) => addPairs(wi, 1, init));
  for (const key of init) heap.push([pairCount.get(key)!, key]);

  const merges: string[] = [];
  const target = opts.vocabSize - specials.length;
  while (tokens.length < target) {
    const top = heap.pop();
    if (!top) break;
    const [cnt, key] = top;
    if (pairCount.get(key) !== cnt) continue; // stale heap entry
    if (cnt < minFreq) break;
    const a = Math.floor(key / SHIFT);
    const b = key % SHIFT;
    const id = tokens.length;
    tokens.push(tokens[a] + tokens[b]);
    merges.push(`${tokens[a]} ${tokens[b]}`);
    const touched = new Set<number>();
    for (const wi of pairWords.get(key) ?? []) {
      const w = words[wi];
      addPairs(wi, -1, touched);
      const next: number[] = [];
      for (let j = 0; j < w.sym.length; j++) {
        if (j + 1 < w.sym.length && w.sym[j] === a && w.sym[j + 1] === b) {
          next.push(id);
          j++;
        } else next.push(w.sym[j]);
      }
      w.sym = next;
      addPairs(wi, 1, touched);
    }
    pairWords.delete(key);
    pairCount.delete(key);
    touched.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push([c, k]);
      else {
        pairCount.delete(k);
        pairWords.delete(k);
      }
    }
  }

  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const addedTokens = specials.map((content, i) => {
    vocab[content] = tokens.length + i;
    return { id: tokens.length + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}
