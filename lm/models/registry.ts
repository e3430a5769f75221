// The model families, by config: what a checkpoint's parameters are called and shaped, and the class that
// runs them. Loading, saving and LoRA ask here rather than naming a family.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../config.js';
import type { GPT } from '../model.js';
import { GPT2, gpt2ParameterShapes } from './gpt2.js';
import { Llama, llamaParameterShapes } from './llama.js';

/** Parameter names and shapes of a config's family (projections [in, out]), in Hugging Face order. */
export function parameterShapes(c: GPTConfig): [string, number[]][] {
  return c.modelType === 'gpt2' ? gpt2ParameterShapes(c) : llamaParameterShapes(c);
}

/** A model of the config's family over existing values (each copied into a tf.Variable). */
export function createModel(c: GPTConfig, values: Map<string, tf.Tensor>): GPT {
  return c.modelType === 'gpt2' ? new GPT2(c, values) : new Llama(c, values);
}

/** A freshly initialised model of the config's family. */
export function initModel(c: GPTConfig, seed = 0): GPT {
  return c.modelType === 'gpt2' ? GPT2.init(c, seed) : Llama.init(c, seed);
}

/**
 * Where a parameter lives in a Hugging Face checkpoint: its stored name, and whether it is stored
 * transposed (nn.Linear keeps [out, in]; GPT-2's Conv1D keeps [in, out] as we do).
 */
export function hfTensor(c: GPTConfig, name: string): { stored: string; transpose: boolean } {
  if (c.modelType === 'gpt2') return { stored: name, transpose: false };
  return { stored: name === 'lm_head.weight' ? name : 'model.' + name, transpose: /_proj\.weight$/.test(name) };
}

/** The adapted linear layers of one block, as prefixes below the block ('attn.c_attn', 'self_attn.q_proj', ...). */
export const BLOCK_LINEARS = {
  gpt2: { attn: ['attn.c_attn', 'attn.c_proj'], mlp: ['mlp.c_fc', 'mlp.c_proj'] },
  llama: { attn: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj'], mlp: ['mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'] },
} as const;

/** Block i's parameter prefix ('h.3.', 'layers.3.'). */
export function blockPrefix(c: GPTConfig, i: number): string {
  return c.modelType === 'gpt2' ? `h.${i}.` : `layers.${i}.`;
}

/** The linear layers of a block that LoRA `targets` select: attn / mlp, or modules by their last name (PEFT's rule). */
export function linearsFor(c: GPTConfig, targets: readonly string[]): string[] {
  const all = BLOCK_LINEARS[c.modelType === 'gpt2' ? 'gpt2' : 'llama'];
  const every = [...all.attn, ...all.mlp];
  return every.filter((m) => targets.some((t) => (t === 'attn' || t === 'mlp' ? (all[t] as readonly string[]).includes(m) : m.endsWith('.' + t))));
}

/** Where PEFT keeps the base model's modules in an adapter file. */
export function peftPrefix(c: GPTConfig): string {
  return c.modelType === 'gpt2' ? 'base_model.model.transformer.' : 'base_model.model.model.';
}
