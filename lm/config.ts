// GPT-2 model configuration, and its mapping to and from Hugging Face's config.json.

export interface GPTConfig {
  /** Number of token ids the embedding holds (HF `vocab_size`). */
  vocabSize: number;
  /** Longest sequence the learned position table covers (HF `n_positions`). */
  nPositions: number;
  /** Width of the residual stream (HF `n_embd`). */
  nEmbd: number;
  /** Number of transformer blocks (HF `n_layer`). */
  nLayer: number;
  /** Attention heads per block; must divide nEmbd (HF `n_head`). */
  nHead: number;
  /** Hidden width of the MLP; GPT-2 uses 4 * nEmbd (HF `n_inner`, null meaning 4 * nEmbd). */
  nInner: number;
  /** Epsilon inside every LayerNorm (HF `layer_norm_epsilon`). */
  layerNormEpsilon: number;
  /** Id that starts a document (HF `bos_token_id`). */
  bosTokenId: number;
  /** Id that ends a document; generation stops on it (HF `eos_token_id`). */
  eosTokenId: number;
  /** GPT-2's option to scale attention scores by 1/(layer index + 1) as well (HF `scale_attn_by_inverse_layer_idx`). */
  scaleAttnByInverseLayerIdx: boolean;
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
  const vocabSize = int('vocabSize', c.vocabSize, 1);
  const nPositions = int('nPositions', c.nPositions, 1);
  const nEmbd = int('nEmbd', c.nEmbd, 1);
  const nLayer = int('nLayer', c.nLayer, 1);
  const nHead = int('nHead', c.nHead, 1);
  if (nEmbd % nHead !== 0) throw new ConfigError(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
  const nInner = c.nInner == null ? 4 * nEmbd : int('nInner', c.nInner, 1);
  const eps = c.layerNormEpsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw new ConfigError(`layerNormEpsilon must be a positive number, got ${JSON.stringify(eps)}`);
  }
  const eosTokenId = c.eosTokenId == null ? vocabSize - 1 : int('eosTokenId', c.eosTokenId, 0);
  const bosTokenId = c.bosTokenId == null ? eosTokenId : int('bosTokenId', c.bosTokenId, 0);
  for (const [k, v] of [['eosTokenId', eosTokenId], ['bosTokenId', bosTokenId]] as const) {
    if (v >= vocabSize) throw new ConfigError(`${k} (${v}) must be < vocabSize (${vocabSize})`);
  }
  return {
    vocabSize, nPositions, nEmbd, nLayer, nHead, nInner, layerNormEpsilon: eps, bosTokenId, eosTokenId,
    scaleAttnByInverseLayerIdx: c.scaleAttnByInverseLayerIdx ?? false,
  };
}

/** Activations we implement: GPT-2's tanh-approximated GELU under its HF names. */
const TANH_GELU = new Set(['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast']);

/** Parse a Hugging Face GPT-2 config.json object. `file` names the source in error messages. */
export function configFromHF(j: unknown, file = 'config.json'): GPTConfig {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ConfigError(`${file}: expected a JSON object`);
  const h = j as Record<string, unknown>;
  if (h.model_type !== 'gpt2') {
    throw new ConfigError(`${file}: model_type must be "gpt2", got ${JSON.stringify(h.model_type)}`);
  }
  const act = h.activation_function ?? 'gelu_new';
  if (typeof act !== 'string' || !TANH_GELU.has(act)) {
    throw new ConfigError(`${file}: activation_function ${JSON.stringify(act)} is not supported (use gelu_new)`);
  }
  // reorder_and_upcast_attn only changes fp16 numerics; our maths is fp32 throughout, so it is accepted as is.
  try {
    return validateConfig({
      vocabSize: h.vocab_size as number,
      nPositions: (h.n_positions ?? h.n_ctx) as number,
      nEmbd: h.n_embd as number,
      nLayer: h.n_layer as number,
      nHead: h.n_head as number,
      nInner: (h.n_inner ?? undefined) as number | undefined,
      layerNormEpsilon: (h.layer_norm_epsilon ?? undefined) as number | undefined,
      bosTokenId: (h.bos_token_id ?? undefined) as number | undefined,
      eosTokenId: (h.eos_token_id ?? undefined) as number | undefined,
      scaleAttnByInverseLayerIdx: h.scale_attn_by_inverse_layer_idx === true,
    });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}

/** The config.json that Hugging Face transformers reads for this model. */
export function configToHF(c: GPTConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    vocab_size: c.vocabSize,
    n_positions: c.nPositions,
    n_ctx: c.nPositions,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: c.nInner === 4 * c.nEmbd ? null : c.nInner,
    layer_norm_epsilon: c.layerNormEpsilon,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    scale_attn_by_inverse_layer_idx: c.scaleAttnByInverseLayerIdx,
    // Dropout is not implemented (RLHF fine-tuning runs with it off); zeros say so to other readers.
    attn_pdrop: 0,
    embd_pdrop: 0,
    resid_pdrop: 0,
    initializer_range: 0.02,
    tie_word_embeddings: true,
  };
}
