// A model's configuration, for every family: what the layers need, with defaults filled and every field
// checked. Hugging Face's config.json maps to and from it in hf-config.ts.

/** The families we run: GPT-2, and the Llama family (RoPE, RMSNorm, SwiGLU, grouped-query attention). */
export type ModelType = 'gpt2' | 'llama' | 'qwen2' | 'qwen3' | 'mistral';
export const MODEL_TYPES: ModelType[] = ['gpt2', 'llama', 'qwen2', 'qwen3', 'mistral'];
export const LLAMA_FAMILY: ModelType[] = ['llama', 'qwen2', 'qwen3', 'mistral'];

/** RoPE frequency scaling (HF `rope_scaling`): positions divided by `factor`, or Llama 3's band-wise rule. */
export interface RopeScaling {
  type: 'linear' | 'llama3';
  factor: number;
  /** llama3: wavelengths above originalMaxPositions / lowFreqFactor are scaled by 1/factor ... */
  lowFreqFactor: number;
  /** ... those below originalMaxPositions / highFreqFactor are kept, and the band between is interpolated. */
  highFreqFactor: number;
  originalMaxPositions: number;
}

export type StorageDtype = 'F32' | 'F16' | 'BF16';

export interface GPTConfig {
  /** Which family's layers and checkpoint names (HF `model_type`). */
  modelType: ModelType;
  /** Number of token ids the embedding holds (HF `vocab_size`). */
  vocabSize: number;
  /** Longest sequence the model attends over (HF `n_positions` / `max_position_embeddings`, capped at a sliding window). */
  nPositions: number;
  /** Width of the residual stream (HF `n_embd` / `hidden_size`). */
  nEmbd: number;
  /** Number of transformer blocks (HF `n_layer` / `num_hidden_layers`). */
  nLayer: number;
  /** Attention (query) heads per block (HF `n_head` / `num_attention_heads`). */
  nHead: number;
  /** Key/value heads; fewer than nHead is grouped-query attention (HF `num_key_value_heads`; GPT-2: nHead). */
  nKvHead: number;
  /** Width of one head (HF `head_dim`; by default nEmbd / nHead). */
  headDim: number;
  /** Hidden width of the MLP (HF `n_inner`, null meaning 4 * nEmbd / `intermediate_size`). */
  nInner: number;
  /** Epsilon inside every LayerNorm (HF `layer_norm_epsilon`) or RMSNorm (`rms_norm_eps`). */
  layerNormEpsilon: number;
  /** Id that starts a document (HF `bos_token_id`). */
  bosTokenId: number;
  /** Id that ends a document (HF `eos_token_id`, its first entry when a list). */
  eosTokenId: number;
  /** Every id that ends generation (HF `eos_token_id` may be a list); includes eosTokenId. */
  eosTokenIds: number[];
  /** Padding id written for batched sequence classification (HF `pad_token_id`); null when unset. */
  padTokenId: number | null;
  /** GPT-2's option to scale attention scores by 1/(layer index + 1) as well (HF `scale_attn_by_inverse_layer_idx`). */
  scaleAttnByInverseLayerIdx: boolean;
  /** RoPE base (HF `rope_theta`; Llama family). */
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  /** LM head shares the token embedding (GPT-2 always; HF `tie_word_embeddings`). */
  tieWordEmbeddings: boolean;
  /** Biases on the q, k, v projections (Qwen2 always; Llama's `attention_bias`). */
  qkvBias: boolean;
  /** Bias on the attention output projection (Llama's `attention_bias`). */
  oBias: boolean;
  /** Biases on the MLP projections (Llama's `mlp_bias`). */
  mlpBias: boolean;
  /** Per-head RMSNorm of queries and keys before RoPE (Qwen3). */
  qkNorm: boolean;
  /** HF `max_position_embeddings` as the file gave it (written back unchanged; nPositions may be a window below it). */
  maxPositionEmbeddings: number;
  /** HF `sliding_window` (Mistral, Qwen2 with use_sliding_window): contexts stay within it, where it equals full attention. */
  slidingWindow: number | null;
  /** The dtype the weights were stored in; saving keeps it unless told otherwise. */
  dtype: StorageDtype;
}

export class ConfigError extends Error {}

function int(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Check a config and fill defaults; throws ConfigError naming the first bad field. */
export function validateConfig(c: Partial<GPTConfig>): GPTConfig {
  const modelType = c.modelType ?? 'gpt2';
  if (!MODEL_TYPES.includes(modelType)) throw new ConfigError(`modelType must be one of ${MODEL_TYPES.join(', ')}, got ${JSON.stringify(modelType)}`);
  const gpt2 = modelType === 'gpt2';
  const vocabSize = int('vocabSize', c.vocabSize, 1);
  const nPositions = int('nPositions', c.nPositions, 1);
  const nEmbd = int('nEmbd', c.nEmbd, 1);
  const nLayer = int('nLayer', c.nLayer, 1);
  const nHead = int('nHead', c.nHead, 1);
  // GPT-2's head width and KV heads follow from the rest; the Llama family may set them (Qwen3's head_dim).
  if ((gpt2 || c.headDim == null) && nEmbd % nHead !== 0) throw new ConfigError(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
  const headDim = gpt2 || c.headDim == null ? nEmbd / nHead : int('headDim', c.headDim, 1);
  const nKvHead = gpt2 || c.nKvHead == null ? nHead : int('nKvHead', c.nKvHead, 1);
  if (nHead % nKvHead !== 0) throw new ConfigError(`nHead (${nHead}) must be a multiple of nKvHead (${nKvHead})`);
  if (!gpt2 && headDim % 2 !== 0) throw new ConfigError(`headDim (${headDim}) must be even for rotary embeddings`);
  const nInner = c.nInner == null ? 4 * nEmbd : int('nInner', c.nInner, 1);
  const eps = c.layerNormEpsilon ?? (gpt2 ? 1e-5 : 1e-6);
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw new ConfigError(`layerNormEpsilon must be a positive number, got ${JSON.stringify(eps)}`);
  }
  const eosTokenId = c.eosTokenId == null ? (c.eosTokenIds?.[0] ?? vocabSize - 1) : int('eosTokenId', c.eosTokenId, 0);
  const bosTokenId = c.bosTokenId == null ? eosTokenId : int('bosTokenId', c.bosTokenId, 0);
  const eosTokenIds = [...new Set([eosTokenId, ...(c.eosTokenIds ?? []).map((v, i) => int(`eosTokenIds[${i}]`, v, 0))])];
  const padTokenId = c.padTokenId == null ? null : int('padTokenId', c.padTokenId, 0);
  for (const [k, v] of [['eosTokenId', eosTokenId], ['bosTokenId', bosTokenId], ['padTokenId', padTokenId ?? 0], ...eosTokenIds.map((v) => ['eosTokenIds', v] as const)] as const) {
    if (v >= vocabSize) throw new ConfigError(`${k} (${v}) must be < vocabSize (${vocabSize})`);
  }
  const ropeTheta = c.ropeTheta ?? 10000;
  if (typeof ropeTheta !== 'number' || !(ropeTheta > 1) || !Number.isFinite(ropeTheta)) throw new ConfigError(`ropeTheta must be a number > 1, got ${JSON.stringify(ropeTheta)}`);
  const rs = c.ropeScaling ?? null;
  if (rs) {
    if (rs.type !== 'linear' && rs.type !== 'llama3') throw new ConfigError(`ropeScaling.type must be linear or llama3, got ${JSON.stringify(rs.type)}`);
    if (!(rs.factor >= 1)) throw new ConfigError(`ropeScaling.factor must be >= 1, got ${JSON.stringify(rs.factor)}`);
    if (rs.type === 'llama3' && !(rs.lowFreqFactor > 0 && rs.highFreqFactor > rs.lowFreqFactor && rs.originalMaxPositions >= 1)) {
      throw new ConfigError('ropeScaling (llama3) needs low_freq_factor > 0, high_freq_factor > low_freq_factor and original_max_position_embeddings >= 1');
    }
  }
  const slidingWindow = c.slidingWindow == null ? null : int('slidingWindow', c.slidingWindow, 1);
  return {
    modelType, vocabSize, nPositions: slidingWindow ? Math.min(nPositions, slidingWindow) : nPositions, nEmbd, nLayer, nHead, nKvHead, headDim, nInner,
    layerNormEpsilon: eps, bosTokenId, eosTokenId, eosTokenIds, padTokenId,
    scaleAttnByInverseLayerIdx: c.scaleAttnByInverseLayerIdx ?? false,
    ropeTheta, ropeScaling: rs ? { ...rs } : null,
    tieWordEmbeddings: gpt2 ? true : (c.tieWordEmbeddings ?? false),
    qkvBias: c.qkvBias ?? modelType === 'qwen2', oBias: c.oBias ?? false, mlpBias: c.mlpBias ?? false,
    qkNorm: c.qkNorm ?? modelType === 'qwen3',
    maxPositionEmbeddings: c.maxPositionEmbeddings ?? nPositions, slidingWindow,
    dtype: c.dtype ?? 'F32',
  };
}
