// Hugging Face config.json to and from our config, per family. Reading refuses, in one line naming the
// field, anything the layers do not implement (another model_type, activation, RoPE scaling rule), rather
// than run a model that would silently differ from transformers.
import { ConfigError, GPTConfig, MODEL_TYPES, ModelType, RopeScaling, StorageDtype, validateConfig } from './config.js';

type Json = Record<string, unknown>;

/** Activations we implement: GPT-2's tanh-approximated GELU under its HF names, SiLU for the Llama family. */
const TANH_GELU = new Set(['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast']);

const TORCH_DTYPES: Record<string, StorageDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
const DTYPE_NAMES: Record<StorageDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

const ARCHITECTURES: Record<ModelType, string> = {
  gpt2: 'GPT2LMHeadModel', llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', mistral: 'MistralForCausalLM',
};

/** Parse a Hugging Face config.json object. `file` names the source in error messages. */
export function configFromHF(j: unknown, file = 'config.json'): GPTConfig {
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new ConfigError(`${file}: expected a JSON object`);
  const h = j as Json;
  const type = h.model_type as ModelType;
  if (!MODEL_TYPES.includes(type)) {
    throw new ConfigError(`${file}: model_type ${JSON.stringify(h.model_type)} is not supported (supported: ${MODEL_TYPES.join(', ')})`);
  }
  try {
    return type === 'gpt2' ? gpt2FromHF(h, file) : llamaFromHF(h, type, file);
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith(file)) throw new ConfigError(`${file}: ${e.message}`);
    throw e;
  }
}

/** The config.json that Hugging Face transformers reads for this model. */
export function configToHF(c: GPTConfig): Json {
  return c.modelType === 'gpt2' ? gpt2ToHF(c) : llamaToHF(c);
}

const opt = <T>(v: unknown): T | undefined => (v ?? undefined) as T | undefined;

/** eos_token_id as a number or a list of numbers (Llama 3 instruct models list several). */
function eosIds(v: unknown): { eosTokenId?: number; eosTokenIds?: number[] } {
  if (v == null) return {};
  if (Array.isArray(v)) {
    if (!v.length) return {};
    return { eosTokenId: v[0] as number, eosTokenIds: v as number[] };
  }
  return { eosTokenId: v as number };
}

function dtypeOf(h: Json): StorageDtype | undefined {
  const d = h.torch_dtype ?? h.dtype;
  return typeof d === 'string' ? TORCH_DTYPES[d] : undefined;
}

function gpt2FromHF(h: Json, file: string): GPTConfig {
  const act = h.activation_function ?? 'gelu_new';
  if (typeof act !== 'string' || !TANH_GELU.has(act)) {
    throw new ConfigError(`${file}: activation_function ${JSON.stringify(act)} is not supported (use gelu_new)`);
  }
  // reorder_and_upcast_attn only changes fp16 numerics; our maths is fp32 throughout, so it is accepted as is.
  return validateConfig({
    modelType: 'gpt2',
    vocabSize: h.vocab_size as number,
    nPositions: (h.n_positions ?? h.n_ctx) as number,
    nEmbd: h.n_embd as number,
    nLayer: h.n_layer as number,
    nHead: h.n_head as number,
    nInner: opt(h.n_inner),
    layerNormEpsilon: opt(h.layer_norm_epsilon),
    bosTokenId: opt(h.bos_token_id),
    ...eosIds(h.eos_token_id),
    padTokenId: opt(h.pad_token_id),
    scaleAttnByInverseLayerIdx: h.scale_attn_by_inverse_layer_idx === true,
    dtype: dtypeOf(h),
  });
}

function gpt2ToHF(c: GPTConfig): Json {
  return {
    architectures: [ARCHITECTURES.gpt2],
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
    eos_token_id: c.eosTokenIds.length > 1 ? c.eosTokenIds : c.eosTokenId,
    ...(c.padTokenId !== null ? { pad_token_id: c.padTokenId } : {}),
    scale_attn_by_inverse_layer_idx: c.scaleAttnByInverseLayerIdx,
    // Dropout is not implemented (RLHF fine-tuning runs with it off); zeros say so to other readers.
    attn_pdrop: 0,
    embd_pdrop: 0,
    resid_pdrop: 0,
    initializer_range: 0.02,
    tie_word_embeddings: true,
    ...(c.dtype !== 'F32' ? { torch_dtype: DTYPE_NAMES[c.dtype] } : {}),
  };
}

/** HF rope_scaling (or transformers 5's rope_parameters): linear and llama3 are implemented, default is none. */
function ropeFromHF(h: Json, file: string): { ropeTheta?: number; ropeScaling: RopeScaling | null } {
  const params = (h.rope_parameters ?? null) as Json | null;
  const raw = (params ?? h.rope_scaling ?? null) as Json | null;
  const ropeTheta = opt<number>(params?.rope_theta ?? h.rope_theta);
  if (raw === null) return { ropeTheta, ropeScaling: null };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: rope_scaling must be an object or null`);
  const type = raw.rope_type ?? raw.type ?? 'default';
  if (type === 'default') return { ropeTheta, ropeScaling: null };
  if (type !== 'linear' && type !== 'llama3') {
    throw new ConfigError(`${file}: rope_scaling type ${JSON.stringify(type)} is not supported (supported: default, linear, llama3)`);
  }
  return {
    ropeTheta,
    ropeScaling: {
      type, factor: raw.factor as number, lowFreqFactor: (raw.low_freq_factor ?? 1) as number, highFreqFactor: (raw.high_freq_factor ?? 4) as number,
      originalMaxPositions: (raw.original_max_position_embeddings ?? 8192) as number,
    },
  };
}

function llamaFromHF(h: Json, type: ModelType, file: string): GPTConfig {
  for (const k of ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings']) {
    if (h[k] == null) throw new ConfigError(`${file}: ${k} is missing (a ${type} config needs it)`);
  }
  const act = h.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ConfigError(`${file}: hidden_act ${JSON.stringify(act)} is not supported (use silu)`);
  const nHead = h.num_attention_heads as number;
  // Mistral attends within sliding_window; Qwen2 only when use_sliding_window is set. Within the window
  // it is full attention, so contexts are capped there (validateConfig) and nothing else changes.
  const window = type === 'mistral' || (type === 'qwen2' && h.use_sliding_window === true) ? opt<number>(h.sliding_window) : undefined;
  const bias = h.attention_bias === true;
  return validateConfig({
    modelType: type,
    vocabSize: h.vocab_size as number,
    nPositions: h.max_position_embeddings as number,
    nEmbd: h.hidden_size as number,
    nLayer: h.num_hidden_layers as number,
    nHead,
    nKvHead: opt(h.num_key_value_heads) ?? nHead,
    headDim: opt(h.head_dim),
    nInner: h.intermediate_size as number,
    layerNormEpsilon: opt(h.rms_norm_eps),
    bosTokenId: opt(h.bos_token_id),
    ...eosIds(h.eos_token_id),
    padTokenId: opt(h.pad_token_id),
    ...ropeFromHF(h, file),
    tieWordEmbeddings: h.tie_word_embeddings === true,
    qkvBias: type === 'qwen2' ? true : bias,
    oBias: type === 'qwen2' ? false : bias, // Qwen2: q, k, v only; Llama and Qwen3: all four or none
    mlpBias: type === 'llama' && h.mlp_bias === true,
    qkNorm: type === 'qwen3',
    maxPositionEmbeddings: h.max_position_embeddings as number,
    slidingWindow: window,
    dtype: dtypeOf(h),
  });
}

function llamaToHF(c: GPTConfig): Json {
  const rs = c.ropeScaling;
  const out: Json = {
    architectures: [ARCHITECTURES[c.modelType]],
    model_type: c.modelType,
    hidden_act: 'silu',
    vocab_size: c.vocabSize,
    hidden_size: c.nEmbd,
    intermediate_size: c.nInner,
    num_hidden_layers: c.nLayer,
    num_attention_heads: c.nHead,
    num_key_value_heads: c.nKvHead,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.layerNormEpsilon,
    rope_theta: c.ropeTheta,
    rope_scaling: rs === null ? null : rs.type === 'linear' ? { rope_type: 'linear', factor: rs.factor } : {
      rope_type: 'llama3', factor: rs.factor, low_freq_factor: rs.lowFreqFactor, high_freq_factor: rs.highFreqFactor,
      original_max_position_embeddings: rs.originalMaxPositions,
    },
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length > 1 ? c.eosTokenIds : c.eosTokenId,
    ...(c.padTokenId !== null ? { pad_token_id: c.padTokenId } : {}),
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: DTYPE_NAMES[c.dtype],
  };
  if (c.modelType === 'llama') Object.assign(out, { attention_bias: c.qkvBias, mlp_bias: c.mlpBias });
  if (c.modelType === 'qwen3') out.attention_bias = c.qkvBias;
  if (c.modelType === 'mistral' || c.modelType === 'qwen2') {
    out.sliding_window = c.slidingWindow;
    if (c.modelType === 'qwen2') out.use_sliding_window = c.slidingWindow !== null;
  }
  return out;
}
