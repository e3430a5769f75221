// A Hugging Face checkpoint's weights, read and checked against a config: one model.safetensors or the
// shards a model.safetensors.index.json lists; F32, F16, BF16 (and F64) converted to float32; names
// with or without the family's prefix (`transformer.`, `model.`); nn.Linear weights transposed to our
// [in, out]. Every tensor is checked (present, shape, finite, nothing unexpected) before the caller
// creates any tf.Variable, and every message names the file and the tensor.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GPTConfig, StorageDtype } from './config.js';
import { hfTensor, parameterShapes } from './models/registry.js';
import { SafetensorsError, SafetensorsFile } from './safetensors.js';
import { jsonError } from './json-error.js';

export class WeightsError extends Error {}

/** HF buffers that are not parameters: GPT-2's causal-mask tables, old Llama exports' RoPE frequencies. */
const IGNORED = /^(h\.\d+\.attn\.(bias|masked_bias)|layers\.\d+\.self_attn\.rotary_emb\.inv_freq)$/;
const PREFIX: Record<string, string> = { gpt2: 'transformer.' };
const prefixOf = (c: GPTConfig) => PREFIX[c.modelType] ?? 'model.';

export interface Weights {
  /** our name -> float32 values in our shapes */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** The dtype most of the stored bytes had (what a save writes back by default). */
  dtype: StorageDtype;
}

/** The safetensors files of a folder: name in file -> the file holding it. */
function openFiles(dir: string): Map<string, SafetensorsFile> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const where = new Map<string, SafetensorsFile>();
  if (existsSync(single)) {
    const st = new SafetensorsFile(readFileSync(single), single);
    for (const name of st.entries.keys()) where.set(name, st);
    return where;
  }
  if (!existsSync(index)) throw new WeightsError(`${single}: not found (nor ${index})`);
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(index, 'utf8'));
  } catch (e) {
    throw new WeightsError(`${index}: ${jsonError(e)}`);
  }
  const map = (j as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new WeightsError(`${index}: weight_map must be an object of tensor name -> file`);
  const shards = new Map<string, SafetensorsFile>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !/^[\w.-]+\.safetensors$/.test(shard)) throw new WeightsError(`${index}: tensor '${name}' maps to ${JSON.stringify(shard)}, not a .safetensors file in this folder`);
    let st = shards.get(shard);
    if (!st) {
      const file = join(dir, shard);
      if (!existsSync(file)) throw new WeightsError(`${file}: not found (listed in ${index} for tensor '${name}')`);
      shards.set(shard, (st = new SafetensorsFile(readFileSync(file), file)));
    }
    if (!st.entries.has(name)) throw new WeightsError(`${st.file}: missing tensor '${name}' (listed in ${index})`);
    where.set(name, st);
  }
  for (const st of shards.values()) {
    for (const name of st.entries.keys()) {
      if (where.get(name) !== st) throw new WeightsError(`${st.file}: tensor '${name}' is not mapped to this file in ${index}`);
    }
  }
  return where;
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * Read and check the weights of `config`'s family from `dir`. `extra` names tensors outside the backbone
 * that must be present too (a reward model's `score.weight`), stored without a prefix.
 */
export function readWeights(dir: string, config: GPTConfig, extra: [string, number[]][] = []): Weights {
  try {
    const where = openFiles(dir);
    const prefix = prefixOf(config);
    const byName = new Map<string, string>(); // our name -> name in file
    for (const stored of where.keys()) {
      const name = stored.startsWith(prefix) ? stored.slice(prefix.length) : stored;
      if (byName.has(name)) throw new WeightsError(`${where.get(stored)!.file}: tensor '${name}' appears twice (with and without prefix)`);
      byName.set(name, stored);
    }
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    const bytes: Record<string, number> = {};
    const expected: [string, number[], boolean][] = [
      ...parameterShapes(config).map(([n, s]) => [n, s, hfTensor(config, n).transpose] as [string, number[], boolean]),
      ...extra.map(([n, s]) => [n, s, false] as [string, number[], boolean]),
    ];
    for (const [name, shape, flip] of expected) {
      const stored = byName.get(name);
      const st = stored ? where.get(stored)! : [...where.values()][0];
      if (!stored) throw new WeightsError(`${st?.file ?? dir}: missing tensor '${hfTensor(config, name).stored}'`);
      const e = st.entries.get(stored)!;
      const want = flip ? [shape[1], shape[0]] : shape;
      if (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i])) {
        throw new WeightsError(`${st.file}: tensor '${stored}' has shape [${e.shape}], config.json implies [${want}]`);
      }
      const raw = st.float32(stored);
      for (let i = 0; i < raw.length; i++) {
        if (!Number.isFinite(raw[i])) throw new WeightsError(`${st.file}: tensor '${stored}' holds a non-finite value at index ${i}`);
      }
      bytes[e.dtype] = (bytes[e.dtype] ?? 0) + (e.offsets[1] - e.offsets[0]);
      tensors.set(name, { shape, data: flip ? transpose(raw, want[0], want[1]) : raw });
    }
    for (const [name, stored] of byName) {
      if (tensors.has(name) || IGNORED.test(name)) continue;
      // A tied model's stored lm_head must be the embedding it is tied to (else config.json is wrong).
      if (name === 'lm_head.weight' && config.tieWordEmbeddings) {
        const st = where.get(stored)!;
        const head = st.float32(stored);
        const emb = tensors.get(config.modelType === 'gpt2' ? 'wte.weight' : 'embed_tokens.weight')!.data;
        if (head.length !== emb.length || head.some((v, i) => v !== emb[i])) {
          throw new WeightsError(`${st.file}: tensor '${stored}' differs from ${config.modelType === 'gpt2' ? 'wte' : 'embed_tokens'}, but config.json ties them (tie_word_embeddings)`);
        }
        continue;
      }
      throw new WeightsError(`${where.get(stored)!.file}: unexpected tensor '${stored}' for this config`);
    }
    const top = Object.entries(bytes).sort((a, b) => b[1] - a[1])[0]?.[0];
    return { tensors, dtype: top === 'F16' || top === 'BF16' ? top : 'F32' };
  } catch (e) {
    if (e instanceof SafetensorsError) throw new WeightsError(e.message);
    throw e;
  }
}
