// What every online-RL loop (PPO, GRPO, RLOO) does between sampling and the loss: prompts encoded to the
// policy's context, the end-of-sequence ids, and forwards over a packed batch in row chunks that are read
// back as flat arrays (no gradient; bounded memory).
import * as tf from '@tensorflow/tfjs';
import type { GPTConfig } from '../lm/config.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { Packed, rowsOf } from './policy.js';

/**
 * Prompt text -> query ids: the last maxPromptTokens tokens, a leading BOS kept where the tokenizer puts
 * one (Llama 3), and BOS for an empty prompt (as generate starts one).
 */
export function queryEncoder(tok: Tokenizer, cfg: GPTConfig, maxPromptTokens: number): (prompt: string) => number[] {
  return (p) => {
    const all = tok.encode(p);
    const bos = tok.addBos && all[0] === tok.bosId && all.length > maxPromptTokens ? [all[0]] : [];
    const ids = [...bos, ...all.slice(-(maxPromptTokens - bos.length))];
    return ids.length ? ids : [cfg.bosTokenId];
  };
}

/** Every id that ends a completion: the config's and generation_config.json's (which may list more). */
export function eosIdsOf(cfg: GPTConfig, tok: Tokenizer): number[] {
  return [...new Set([...cfg.eosTokenIds, ...tok.eosIds])];
}

/** Refuse prompt sets whose longest query plus the completion budget exceeds the model's positions. */
export function checkContext(file: string, queries: number[][], maxNew: number, cfg: GPTConfig, fields: [string, string]): void {
  const longest = Math.max(...queries.map((q) => q.length));
  if (longest + maxNew > cfg.nPositions) {
    throw new Error(`prompts ${file}: the longest prompt (${longest} tokens) + ${fields[1]} (${maxNew}) exceeds the model's ${cfg.nPositions} positions; lower ${fields[0]} or ${fields[1]}`);
  }
}

/** Run a forward in row chunks (bounded memory) and read each output back as one flat array. */
export async function forwardChunks(p: Packed, chunk: number, f: (p: Packed) => tf.Tensor[]): Promise<Float32Array[]> {
  const B = p.ids.length;
  const parts: Float32Array[][] = [];
  for (let s = 0; s < B; s += chunk) {
    const sub = rowsOf(p, Array.from({ length: Math.min(chunk, B - s) }, (_, i) => s + i));
    const outs = tf.tidy(() => f(sub));
    try {
      parts.push(await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array)));
    } finally {
      tf.dispose(outs);
    }
  }
  return parts[0].map((_, k) => {
    const all = new Float32Array(parts.reduce((n, ps) => n + ps[k].length, 0));
    let off = 0;
    for (const ps of parts) {
      all.set(ps[k], off);
      off += ps[k].length;
    }
    return all;
  });
}

/** Split [B][R]-shaped flat data into rows. */
export function rows(flat: Float32Array | number[], B: number, R: number): number[][] {
  return Array.from({ length: B }, (_, b) => Array.from(flat.slice(b * R, (b + 1) * R)));
}
