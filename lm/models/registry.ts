// The model families, by config: what a checkpoint's parameters are called and shaped, and the class that
// runs them. Loading, saving and LoRA ask here rather than naming a family.
import * as tf from '@tensorflow/tfjs';
import { GPTConfig } from '../config.js';
import type { GPT } from '../model.js';
import { GPT2, gpt2ParameterShapes } from './gpt2.js';

/** Parameter names and shapes of a config's family, in Hugging Face order. */
export function parameterShapes(c: GPTConfig): [string, number[]][] {
  return gpt2ParameterShapes(c);
}

/** A model of the config's family over existing values (each copied into a tf.Variable). */
export function createModel(c: GPTConfig, values: Map<string, tf.Tensor>): GPT {
  return new GPT2(c, values);
}

/** A freshly initialised model of the config's family. */
export function initModel(c: GPTConfig, seed = 0): GPT {
  return GPT2.init(c, seed);
}
