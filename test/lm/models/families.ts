// The Llama-family configs the tests run on: every feature of the family at least once (tied and untied
// heads, grouped-query attention, q/k/v and o biases, MLP biases, Qwen3's q/k norm with a head_dim that is
// not hidden/heads, linear and llama3 RoPE scaling, Mistral's sliding window), and a loader for the
// folders test/lm/models/hf-folder.ts writes byte by byte.
import type { LlamaRefConfig } from './reference-llama.js';

const base = { vocab_size: 300, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, max_position_embeddings: 64, rms_norm_eps: 1e-6, bos_token_id: 299, eos_token_id: 299 };

export const FAMILIES: Record<string, LlamaRefConfig> = {
  'llama, GQA, tied': { ...base, model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true, rope_theta: 10000 },
  'llama, untied, attention and MLP biases, linear RoPE': {
    ...base, model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 4, attention_bias: true, mlp_bias: true, rope_theta: 500000,
    rope_scaling: { rope_type: 'linear', factor: 2 },
  },
  'llama 3 RoPE scaling, one KV head': {
    ...base, model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 1, tie_word_embeddings: true, rope_theta: 500000,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  'qwen2, q/k/v biases, tied': { ...base, model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: true, rope_theta: 1000000 },
  'qwen3, q/k norm, head_dim 12, untied': { ...base, model_type: 'qwen3', num_attention_heads: 4, num_key_value_heads: 2, head_dim: 12, tie_word_embeddings: false, rope_theta: 1000000 },
  'mistral, sliding window': { ...base, model_type: 'mistral', num_attention_heads: 4, num_key_value_heads: 2, sliding_window: 32, rope_theta: 10000 },
};
