// Test helpers that build a Hugging Face model folder byte by byte, independently of lm/safetensors.ts:
// config.json, model.safetensors (or model-0000N-of-0000M.safetensors shards + model.safetensors.index.json),
// optionally tokenizer.json. Plus the float16 / bfloat16 rounding a loader's weights must then equal.
//
// safetensors layout: 8-byte little-endian u64 header length N, then N bytes of JSON
// {"__metadata__":{"format":"pt"}, name:{"dtype","shape","data_offsets":[begin,end]}, ...} padded with
// spaces so that N is a multiple of 8, then the tensors' raw little-endian bytes (offsets are relative to
// the end of the header, contiguous, in the order written).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LlamaRefConfig, llamaParameterShapes, Weights } from './reference-llama.js';

export type HfDtype = 'F32' | 'F16' | 'BF16';

const BYTES: Record<HfDtype, number> = { F32: 4, F16: 2, BF16: 2 };
const TORCH_DTYPE: Record<HfDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
const ARCHITECTURE: Record<string, string> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
};

// ---------------------------------------------------------------- rounding

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits of x, rounded to nearest, ties to even, directly from the float64 value (no double rounding through float32). */
export function toF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // 65520 is the tie between 65504 (odd mantissa) and 2^16: rounds to inf
  const roundEven = (q: number) => {
    const r = Math.floor(q);
    const f = q - r; // exact: q is a in units of a power of two
    return f > 0.5 || (f === 0.5 && r % 2 === 1) ? r + 1 : r;
  };
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal (1024 becomes the smallest normal, 0x0400)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  return sign | ((e + 15) << 10) | m;
}

/** The value of binary16 bits. */
export function fromF16Bits(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits of x: x rounded to float32, then its upper 16 bits rounded to nearest, ties to even (NaN stays a quiet NaN). */
export function toBF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if (Number.isNaN(f32[0])) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBF16Bits(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** The values a loader must produce from a tensor stored as dtype: float32, float16 or bfloat16 rounding, as float64. */
export function roundToDtype(values: ArrayLike<number>, dtype: HfDtype): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = dtype === 'F32' ? Math.fround(v) : dtype === 'F16' ? fromF16Bits(toF16Bits(v)) : fromBF16Bits(toBF16Bits(v));
  }
  return out;
}

/** Raw little-endian bytes of values stored as dtype. */
export function encodeTensor(values: ArrayLike<number>, dtype: HfDtype): Uint8Array {
  const buf = new Uint8Array(values.length * BYTES[dtype]);
  const dv = new DataView(buf.buffer);
  for (let i = 0; i < values.length; i++) {
    if (dtype === 'F32') dv.setFloat32(4 * i, values[i], true);
    else dv.setUint16(2 * i, dtype === 'F16' ? toF16Bits(values[i]) : toBF16Bits(values[i]), true);
  }
  return buf;
}

// ---------------------------------------------------------------- safetensors

export interface TensorSpec {
  name: string;
  shape: number[];
  values: ArrayLike<number>;
  /** Default: the file's dtype. */
  dtype?: HfDtype;
}

/** The bytes of one safetensors file holding tensors in the given order. */
export function safetensorsBytes(tensors: TensorSpec[], dtype: HfDtype, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const datas: Uint8Array[] = [];
  let off = 0;
  for (const t of tensors) {
    const dt = t.dtype ?? dtype;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.values.length) throw new Error(`hf-folder: ${t.name} has ${t.values.length} values for shape [${t.shape}]`);
    const data = encodeTensor(t.values, dt);
    header[t.name] = { dtype: dt, shape: t.shape, data_offsets: [off, off + data.length] };
    off += data.length;
    datas.push(data);
  }
  let json = JSON.stringify(header);
  const utf8 = new TextEncoder();
  let hb = utf8.encode(json);
  while (hb.length % 8) {
    json += ' ';
    hb = utf8.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const d of datas) {
    out.set(d, p);
    p += d.length;
  }
  return out;
}

export interface WriteHfOptions {
  dtype: HfDtype;
  /** Number of safetensors shards; 1 (default) writes model.safetensors and no index. */
  shards?: number;
  /** A tokenizer.json object to write (e.g. smallTokenizer().json from test/lm/fixtures.ts). */
  tokenizer?: Record<string, unknown>;
  /** Written as tokenizer_config.json when given. */
  tokenizerConfig?: Record<string, unknown>;
  /** Tensors outside llamaParameterShapes (e.g. a tied model's redundant lm_head.weight, or a stray buffer): name → shape. */
  extraShapes?: Record<string, number[]>;
  /** Per-tensor dtype overrides (a file may mix dtypes). */
  tensorDtypes?: Record<string, HfDtype>;
  /** Fields merged over config.json (a key set to undefined is dropped). */
  configOverrides?: Record<string, unknown>;
  /** Which key names the dtype in config.json: transformers 4 writes torch_dtype, 5 writes dtype. Default torch_dtype. */
  dtypeKey?: 'torch_dtype' | 'dtype';
}

export interface HfFolder {
  dir: string;
  /** safetensors file names written, in order. */
  files: string[];
  /** Σ tensor data bytes, as in the index's metadata.total_size. */
  totalSize: number;
  /** name → file it went to. */
  weightMap: Record<string, string>;
}

/**
 * Write dir/config.json (cfg + architectures, model_type, torch_dtype), the weights (in llamaParameterShapes
 * order, then extraShapes' order) as one model.safetensors or as `shards` files model-0000N-of-0000M.safetensors
 * split by bytes into contiguous runs, with model.safetensors.index.json {"metadata":{"total_size"},"weight_map"},
 * and tokenizer.json when opts.tokenizer is given.
 */
export function writeHfFolder(dir: string, cfg: LlamaRefConfig, weights: Weights, opts: WriteHfOptions): HfFolder {
  mkdirSync(dir, { recursive: true });
  const shapes: [string, number[]][] = [...llamaParameterShapes(cfg), ...Object.entries(opts.extraShapes ?? {})];
  const known = new Set(shapes.map(([n]) => n));
  for (const name of weights.keys()) if (!known.has(name)) throw new Error(`hf-folder: weight ${name} has no shape (give extraShapes)`);
  const tensors: TensorSpec[] = shapes.map(([name, shape]) => {
    const values = weights.get(name);
    if (!values) throw new Error(`hf-folder: missing weight ${name}`);
    return { name, shape, values, dtype: opts.tensorDtypes?.[name] };
  });
  const config: Record<string, unknown> = {
    architectures: [ARCHITECTURE[cfg.model_type] ?? 'LlamaForCausalLM'],
    hidden_act: 'silu',
    ...cfg,
    [opts.dtypeKey ?? 'torch_dtype']: TORCH_DTYPE[opts.dtype],
  };
  for (const [k, v] of Object.entries(opts.configOverrides ?? {})) {
    if (v === undefined) delete config[k];
    else config[k] = v;
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  if (opts.tokenizer) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(opts.tokenizer));
  if (opts.tokenizerConfig) writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(opts.tokenizerConfig, null, 2));

  const bytesOf = (t: TensorSpec) => t.values.length * BYTES[t.dtype ?? opts.dtype];
  const totalSize = tensors.reduce((a, t) => a + bytesOf(t), 0);
  const M = opts.shards ?? 1;
  if (!Number.isInteger(M) || M < 1 || M > tensors.length) throw new Error(`hf-folder: shards must be 1..${tensors.length}`);
  if (M === 1) {
    writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(tensors, opts.dtype));
    return { dir, files: ['model.safetensors'], totalSize, weightMap: Object.fromEntries(tensors.map((t) => [t.name, 'model.safetensors'])) };
  }
  // contiguous runs: shard k takes tensors while the running byte count stays under (k+1)/M of the total,
  // leaving at least one tensor for each later shard
  const groups: TensorSpec[][] = Array.from({ length: M }, () => []);
  let acc = 0;
  let k = 0;
  tensors.forEach((t, i) => {
    const left = tensors.length - i;
    if (k < M - 1 && groups[k].length && (acc >= ((k + 1) * totalSize) / M || left <= M - 1 - k)) k++;
    groups[k].push(t);
    acc += bytesOf(t);
  });
  const pad = (n: number) => String(n).padStart(5, '0');
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  groups.forEach((g, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(M)}.safetensors`;
    writeFileSync(join(dir, file), safetensorsBytes(g, opts.dtype));
    files.push(file);
    for (const t of g) weightMap[t.name] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  return { dir, files, totalSize, weightMap };
}
