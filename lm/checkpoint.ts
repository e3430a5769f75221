// Hugging Face model folders of every family: config.json + safetensors weights + tokenizer.json.
// Loading validates every file and every tensor before any tf.Variable exists, so a bad checkpoint
// fails with a message naming the file and tensor, never with a half-loaded model.
// Saving writes each file to a temporary name, fsyncs it, then renames it into place.
import * as tf from '@tensorflow/tfjs';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, GPTConfig, StorageDtype } from './config.js';
import { configFromHF, configToHF } from './hf-config.js';
import type { GPT } from './model.js';
import { createModel, hfTensor, parameterShapes } from './models/registry.js';
import { readWeights as readHfWeights, Weights, WeightsError } from './hf-weights.js';
import { serializeSafetensors, type TensorToWrite } from './safetensors.js';
import { Tokenizer } from './tokenizer.js';
import { jsonError } from './json-error.js';

export class CheckpointError extends Error {}

export function readConfig(dir: string): GPTConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new CheckpointError(`${file}: not found (is ${dir} a model folder?)`);
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: ${jsonError(e)}`);
  }
  try {
    return configFromHF(j, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(e.message);
    throw e;
  }
}

/**
 * Read and check a folder's weights against a config: name -> float32 values in our shapes (hf-weights.ts).
 * `extra` names tensors outside the backbone that must be present too (a reward model's `score`).
 */
export function readWeights(dir: string, config: GPTConfig, extra: [string, number[]][] = []): Map<string, { shape: number[]; data: Float32Array }> {
  return readStoredWeights(dir, config, extra).tensors;
}

/** As readWeights, plus the dtype the weights were stored in. */
export function readStoredWeights(dir: string, config: GPTConfig, extra: [string, number[]][] = []): Weights {
  try {
    return readHfWeights(dir, config, extra);
  } catch (e) {
    if (e instanceof WeightsError) throw new CheckpointError(e.message);
    throw e;
  }
}

export interface Checkpoint {
  model: GPT;
  /** null when the folder has no tokenizer.json. */
  tokenizer: Tokenizer | null;
}

/** Load a model folder of any family. Throws CheckpointError, naming file and tensor, on any malformed input. */
export function loadCheckpoint(dir: string): Checkpoint {
  const stored = readConfig(dir);
  const { tensors: weights, dtype } = readStoredWeights(dir, stored);
  const config = { ...stored, dtype }; // saving writes the dtype the file had
  const tokFile = join(dir, 'tokenizer.json');
  let tokenizer: Tokenizer | null = null;
  if (existsSync(tokFile)) {
    try {
      tokenizer = Tokenizer.load(tokFile);
    } catch (e) {
      throw new CheckpointError((e as Error).message);
    }
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new CheckpointError(`${tokFile}: ${tokenizer.vocabSize} tokens do not fit the model's vocab_size ${config.vocabSize}`);
    }
  }
  const values = new Map<string, tf.Tensor>();
  for (const [name, w] of weights) values.set(name, tf.tensor(w.data, w.shape, 'float32'));
  try {
    return { model: createModel(config, values), tokenizer };
  } finally {
    for (const t of values.values()) t.dispose();
  }
}

/** Write bytes to path atomically: temp file in the same folder, fsync, rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // and the folder entry, so the rename itself survives a power cut
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Save a model (and tokenizer) as a Hugging Face folder that transformers loads: its family's names,
 * nn.Linear weights back in [out, in], config.json last. The dtype is the one the model was loaded from
 * unless given (F16/BF16 halve the file).
 */
export async function saveCheckpoint(dir: string, model: GPT, tokenizer: Tokenizer | null, dtype?: StorageDtype): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const c = model.config;
  const d = dtype ?? c.dtype;
  const tensors: TensorToWrite[] = [];
  for (const [name, shape] of parameterShapes(c)) tensors.push(await hfTensorToWrite(c, name, shape, model.p(name), d));
  // Weights first, config last: a reader that finds the new config.json also finds matching weights.
  writeFileAtomic(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  // tokenizer.json and, where the model came with them, tokenizer_config.json (chat template, special tokens) and generation_config.json
  if (tokenizer) for (const [name, text] of Object.entries(tokenizer.files())) writeFileAtomic(join(dir, name), text);
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(configToHF({ ...c, dtype: d }), null, 2) + '\n');
}

/** One parameter as the checkpoint stores it: its HF name, and [out, in] where nn.Linear keeps that. */
export async function hfTensorToWrite(c: GPTConfig, name: string, shape: number[], t: tf.Tensor, dtype: StorageDtype): Promise<TensorToWrite> {
  const { stored, transpose } = hfTensor(c, name);
  if (!transpose) return { name: stored, shape, dtype, data: (await t.data()) as Float32Array };
  const flipped = tf.transpose(t);
  try {
    return { name: stored, shape: [shape[1], shape[0]], dtype, data: (await flipped.data()) as Float32Array };
  } finally {
    flipped.dispose();
  }
}
