// The safetensors format (https://github.com/huggingface/safetensors), read and written by hand:
//   8 bytes  little-endian u64 N, the header length
//   N bytes  UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} }
//   rest     the byte buffer; offsets are relative to its start, little-endian values.
// Pure code, no tfjs: every check here names the file and the tensor so a bad checkpoint fails clearly.
import { jsonError } from './json-error.js';

export const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);
/** Headers larger than this are refused rather than parsed (the reference reader uses the same bound). */
const MAX_HEADER = 100_000_000;

export class SafetensorsError extends Error {}

export interface TensorEntry {
  dtype: string;
  shape: number[];
  /** Byte offsets [begin, end) into the data buffer. */
  offsets: [number, number];
}

export class SafetensorsFile {
  readonly file: string;
  readonly entries: Map<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  private readonly data: Uint8Array;

  /** Parse and validate the header of `buf`; tensor data is converted on demand by `float32`. */
  constructor(buf: Uint8Array, file = 'model.safetensors') {
    this.file = file;
    const fail = (msg: string): never => { throw new SafetensorsError(`${file}: ${msg}`); };
    if (buf.length < 8) fail(`file is ${buf.length} bytes, shorter than the 8-byte header length`);
    const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
    if (n > MAX_HEADER) fail(`header length ${n} is larger than the ${MAX_HEADER}-byte limit`);
    if (8 + n > buf.length) fail(`header length ${n} runs past the end of the ${buf.length}-byte file`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
    } catch (e) {
      fail(`header is not valid JSON${jsonError(e).slice('bad JSON'.length)}`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
    this.data = buf.subarray(8 + n);
    this.entries = new Map();
    this.metadata = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof raw !== 'object' || raw === null) fail('__metadata__ must be an object of strings');
        Object.assign(this.metadata, raw);
        continue;
      }
      const at = `tensor '${name}'`;
      if (typeof raw !== 'object' || raw === null) fail(`${at}: entry is not an object`);
      const { dtype, shape, data_offsets: off } = raw as Record<string, unknown>;
      if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(`${at}: unknown dtype ${JSON.stringify(dtype)}`);
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        fail(`${at}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
      }
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
        fail(`${at}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
      }
      const [b, e] = off as [number, number];
      const want = (shape as number[]).reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype as string];
      if (e - b !== want) fail(`${at}: shape ${JSON.stringify(shape)} ${dtype} needs ${want} bytes but data_offsets span ${e - b}`);
      if (e > this.data.length) {
        fail(`${at}: truncated, its data ends at byte ${e} but the data buffer has ${this.data.length} bytes`);
      }
      this.entries.set(name, { dtype: dtype as string, shape: shape as number[], offsets: [b, e] });
    }
    const spans = [...this.entries].sort((x, y) => x[1].offsets[0] - y[1].offsets[0]);
    for (let i = 1; i < spans.length; i++) {
      if (spans[i][1].offsets[0] < spans[i - 1][1].offsets[1]) fail(`tensors '${spans[i - 1][0]}' and '${spans[i][0]}' overlap`);
    }
  }

  /** The tensor's values as float32, converted from F32, F16, BF16 or F64. */
  float32(name: string): Float32Array {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(`${this.file}: missing tensor '${name}'`);
    if (!FLOAT_DTYPES.has(e.dtype)) {
      throw new SafetensorsError(`${this.file}: tensor '${name}' has dtype ${e.dtype}; expected F32, F16, BF16 or F64`);
    }
    // Copy into a fresh, aligned buffer: offsets in the file need not be multiples of 4. (new Uint8Array
    // copies; Buffer#slice would not, and a Node Buffer's .buffer is a shared pool.)
    const bytes = new Uint8Array(this.data.subarray(e.offsets[0], e.offsets[1]));
    const count = bytes.length / DTYPE_BYTES[e.dtype];
    if (e.dtype === 'F32') return new Float32Array(bytes.buffer, 0, count);
    if (e.dtype === 'F64') return Float32Array.from(new Float64Array(bytes.buffer, 0, count));
    const half = new Uint16Array(bytes.buffer, 0, count);
    const out = new Float32Array(count);
    if (e.dtype === 'BF16') {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u[i] = half[i] << 16;
    } else {
      for (let i = 0; i < count; i++) out[i] = f16ToF32(half[i]);
    }
    return out;
  }
}

/** IEEE 754 half precision to a JS number, including subnormals, infinities and NaN. */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Stored precision; F32 unless given. F16 and BF16 round to nearest even. */
  dtype?: 'F32' | 'F16' | 'BF16';
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE half bits, round to nearest even; overflow gives ±Inf, tiny values subnormals or ±0. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the right rounding
  return h;
}

/** float32 -> bfloat16 bits, round to nearest even (NaN kept NaN). */
export function f32ToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Serialise float32 tensors (in the given order, each stored as its dtype) into safetensors bytes, header padded to 8 bytes. */
export function serializeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (numel !== t.data.length) throw new SafetensorsError(`tensor '${t.name}': shape ${t.shape} does not match ${t.data.length} values`);
    const bytes = DTYPE_BYTES[t.dtype ?? 'F32'] * numel;
    header[t.name] = { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    let bytes: Uint8Array;
    if (t.dtype === 'F16' || t.dtype === 'BF16') {
      const conv = t.dtype === 'F16' ? f32ToF16 : f32ToBf16;
      bytes = new Uint8Array(Uint16Array.from(t.data, conv).buffer);
    } else bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}
