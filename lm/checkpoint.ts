// Hugging Face GPT-2 folders: config.json + model.safetensors + tokenizer.json.
// Loading validates every file and every tensor before any tf.Variable exists, so a bad checkpoint
// fails with a message naming the file and tensor, never with a half-loaded model.
// Saving writes each file to a temporary name, fsyncs it, then renames it into place.
import * as tf from '@tensorflow/tfjs';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, configFromHF, configToHF, GPTConfig } from './config.js';
import type { GPT } from './model.js';
import { createModel, parameterShapes } from './models/registry.js';
import { SafetensorsError, SafetensorsFile, serializeSafetensors } from './safetensors.js';
import { Tokenizer } from './tokenizer.js';
import { jsonError } from './json-error.js';

export class CheckpointError extends Error {}

/** HF buffers that are not parameters: the causal-mask tables of older GPT-2 exports. */
const IGNORED = /^h\.\d+\.attn\.(bias|masked_bias)$/;

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
 * Read and check model.safetensors against a config: name -> float32 values in GPT-2's shapes.
 * Accepts names with or without the `transformer.` prefix; a tied `lm_head.weight` must equal wte.
 * `extra` names tensors outside the backbone that must be present too (a reward model's `score`).
 */
export function readWeights(dir: string, config: GPTConfig, extra: [string, number[]][] = []): Map<string, { shape: number[]; data: Float32Array }> {
  const file = join(dir, 'model.safetensors');
  if (!existsSync(file)) throw new CheckpointError(`${file}: not found`);
  try {
    const st = new SafetensorsFile(readFileSync(file), file);
    const byName = new Map<string, string>(); // our name -> name in file
    let lmHead: string | null = null;
    for (const stored of st.entries.keys()) {
      const name = stored.startsWith('transformer.') ? stored.slice('transformer.'.length) : stored;
      if (name === 'lm_head.weight') lmHead = stored;
      else if (byName.has(name)) throw new CheckpointError(`${file}: tensor '${name}' appears twice (with and without prefix)`);
      else byName.set(name, stored);
    }
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    const expected = [...parameterShapes(config), ...extra];
    for (const [name, shape] of expected) {
      const stored = byName.get(name);
      if (!stored) throw new CheckpointError(`${file}: missing tensor '${name}'`);
      const e = st.entries.get(stored)!;
      if (!tf.util.arraysEqual(e.shape, shape)) {
        throw new CheckpointError(`${file}: tensor '${stored}' has shape [${e.shape}], config.json implies [${shape}]`);
      }
      const data = st.float32(stored);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new CheckpointError(`${file}: tensor '${stored}' holds a non-finite value at index ${i}`);
      }
      out.set(name, { shape, data });
    }
    const known = new Set(expected.map(([n]) => n));
    for (const [name, stored] of byName) {
      if (!known.has(name) && !IGNORED.test(name)) throw new CheckpointError(`${file}: unexpected tensor '${stored}' for this config`);
    }
    if (lmHead) {
      const head = st.float32(lmHead);
      const wte = out.get('wte.weight')!.data;
      if (head.length !== wte.length || head.some((v, i) => v !== wte[i])) {
        throw new CheckpointError(`${file}: tensor '${lmHead}' differs from wte; untied LM heads are not supported`);
      }
    }
    return out;
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
}

export interface Checkpoint {
  model: GPT;
  /** null when the folder has no tokenizer.json. */
  tokenizer: Tokenizer | null;
}

/** Load a GPT-2 folder. Throws CheckpointError, naming file and tensor, on any malformed input. */
export function loadCheckpoint(dir: string): Checkpoint {
  const config = readConfig(dir);
  const weights = readWeights(dir, config);
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

/** Save a model (and tokenizer) as a Hugging Face GPT-2 folder; dtype F16/BF16 halves the file. */
export async function saveCheckpoint(dir: string, model: GPT, tokenizer: Tokenizer | null, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors = [];
  for (const [name, shape] of parameterShapes(model.config)) {
    tensors.push({ name, shape, dtype, data: (await model.p(name).data()) as Float32Array });
  }
  // Weights first, config last: a reader that finds the new config.json also finds matching weights.
  writeFileAtomic(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  if (tokenizer) writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.json));
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(configToHF(model.config), null, 2) + '\n');
}
