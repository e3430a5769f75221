// The benchmark shapes of the LM core, and the FLOP counts used to turn tokens/s into GFLOP/s.
import { GPTConfig, validateConfig } from '../lm/config.js';

export interface Shape {
  name: string;
  config: GPTConfig;
  /** Training batch (sequences of nPositions tokens). */
  batch: number;
  /** New tokens timed when generation recomputes the whole sequence per token (default 64; fewer where a token takes seconds). */
  recomputeTokens?: number;
  /** What the shape stands for, for the record. */
  about?: string;
}

export const SHAPES: Record<string, Shape> = {
  S: { name: 'S', batch: 8, config: validateConfig({ vocabSize: 4096, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4 }) },
  M: { name: 'M', batch: 8, config: validateConfig({ vocabSize: 8192, nPositions: 256, nEmbd: 384, nLayer: 6, nHead: 6 }) },
  // Recomputing the whole sequence for every token of G takes about 10 s per token here: time 16 of them.
  G: { name: 'G', batch: 4, recomputeTokens: 16, config: validateConfig({ vocabSize: 50257, nPositions: 128, nEmbd: 768, nLayer: 12, nHead: 12 }) },
  /** GPT-2 small at batch 8 and context 256: issue 8's "train it without checkpointing tricks" shape. */
  G256: { name: 'G256', batch: 8, config: validateConfig({ vocabSize: 50257, nPositions: 256, nEmbd: 768, nLayer: 12, nHead: 12 }) },
  // The Llama family (issue 16). Random weights; the shapes of the named checkpoints at context 128.
  L: {
    name: 'L', batch: 8, about: 'a small Llama: S\'s size with GQA (4 heads, 2 KV), SwiGLU (intermediate 344 ≈ 4·d·2/3), untied head',
    config: validateConfig({ modelType: 'llama', vocabSize: 4096, nPositions: 128, nEmbd: 128, nLayer: 4, nHead: 4, nKvHead: 2, nInner: 344, tieWordEmbeddings: false, layerNormEpsilon: 1e-5 }),
  },
  Smol: {
    name: 'Smol', batch: 8, recomputeTokens: 16, about: 'SmolLM2-135M: Llama, 30 layers, d 576, 9 heads / 3 KV, intermediate 1536, tied, RoPE θ 100000',
    config: validateConfig({ modelType: 'llama', vocabSize: 49152, nPositions: 128, nEmbd: 576, nLayer: 30, nHead: 9, nKvHead: 3, nInner: 1536, tieWordEmbeddings: true, ropeTheta: 100000, layerNormEpsilon: 1e-5 }),
  },
  // Batch 4, as G: training keeps the weights, their gradients and AdamW's two moments (16 bytes per parameter,
  // 7.9 GB for 494M) beside the activations; batch 4 peaked at 10.4 GB of RSS here, batch 8 would near the 24 GiB machine's limit.
  Qwen: {
    name: 'Qwen', batch: 4, recomputeTokens: 8, about: 'Qwen2.5-0.5B: Qwen2, 24 layers, d 896, 14 heads / 2 KV, intermediate 4864, q/k/v biases, tied, RoPE θ 1e6',
    config: validateConfig({ modelType: 'qwen2', vocabSize: 151936, nPositions: 128, nEmbd: 896, nLayer: 24, nHead: 14, nKvHead: 2, nInner: 4864, tieWordEmbeddings: true, qkvBias: true, ropeTheta: 1000000, layerNormEpsilon: 1e-6 }),
  },
};

/**
 * Forward FLOPs for one token that attends over `ctx` keys, 2 per multiply-add: per layer the q and o
 * projections (C·H·hd each), k and v (C·Hkv·hd each: grouped-query attention's narrower keys and values),
 * the MLP (GPT-2: fc and fc-proj, 2·C·I; Llama family: gate, up and down, 3·C·I) and attention's q·kᵀ and
 * p·v (2·ctx·H·hd); then the LM head (V·C, tied or not). For GPT-2 (H·hd = C, Hkv = H) that is 12·C² + ...
 * per layer as before. Biases, norms, RoPE and the activation are left out.
 */
export function forwardFlopsPerToken(c: GPTConfig, ctx: number): number {
  const C = c.nEmbd;
  const q = c.nHead * c.headDim;
  const kv = c.nKvHead * c.headDim;
  const mlpMatrices = c.modelType === 'gpt2' ? 2 : 3;
  const perLayer = C * q + 2 * C * kv + q * C + mlpMatrices * C * c.nInner + 2 * ctx * q;
  return 2 * (c.nLayer * perLayer + c.vocabSize * C);
}

/** Training = forward + backward (twice the forward), over a full context. */
export function trainFlopsPerToken(c: GPTConfig): number {
  return 3 * forwardFlopsPerToken(c, c.nPositions);
}

export const isLlamaFamily = (s: Shape) => s.config.modelType !== 'gpt2';
