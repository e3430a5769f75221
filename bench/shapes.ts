// The benchmark shapes of the LM core, and the FLOP counts used to turn tokens/s into GFLOP/s.
import { GPTConfig, validateConfig } from '../lm/config.js';

export interface Shape {
  name: string;
  config: GPTConfig;
  /** Training batch (sequences of nPositions tokens). */
  batch: number;
}

export const SHAPES: Record<string, Shape> = {
  S: { name: 'S', batch: 8, config: validateConfig({ vocabSize: 4096, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4 }) },
  M: { name: 'M', batch: 8, config: validateConfig({ vocabSize: 8192, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6 }) },
  G: { name: 'G', batch: 4, config: validateConfig({ vocabSize: 50257, nPositions: 128, nEmbd: 768, nLayer: 12, nHead: 12 }) },
  /** GPT-2 small at batch 8 and context 256: issue 8's "train it without checkpointing tricks" shape. */
  G256: { name: 'G256', batch: 8, config: validateConfig({ vocabSize: 50257, nPositions: 256, nEmbd: 768, nLayer: 12, nHead: 12 }) },
};

/**
 * Forward FLOPs for one token that attends over `ctx` keys: 2 per multiply-add of the linear layers
 * (qkv, proj, fc, fc-proj: 12·C² per layer), the tied head (V·C), and attention's q·kᵀ and p·v (2·ctx·C per layer).
 */
export function forwardFlopsPerToken(c: GPTConfig, ctx: number): number {
  const C = c.nEmbd;
  return 2 * (c.nLayer * (4 * C * C + 2 * C * c.nInner)) + 2 * c.vocabSize * C + 4 * c.nLayer * ctx * C;
}

/** Training = forward + backward (twice the forward), over a full context. */
export function trainFlopsPerToken(c: GPTConfig): number {
  return 3 * forwardFlopsPerToken(c, c.nPositions);
}
