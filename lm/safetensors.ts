// The safetensors format (https://github.com/huggingface/safetensors), read and written by hand:
//   8 bytes  little-endian u64 N, the header length
//   N bytes  UTF-8 JSON: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} }
//   rest     the byte buffer; offsets are relative to its start, little-endian values.
// Pure code, no tfjs: every check here names the file and the tensor so a bad checkpoint fails clearly.

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
      fail(`header is not valid JSON (${(e as Error).message})`);
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
}

/** Serialise float32 tensors (in the given order) into safetensors bytes, header padded to 8 bytes. */
export function serializeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (numel !== t.data.length) throw new SafetensorsError(`tensor '${t.name}': shape ${t.shape} does not match ${t.data.length} values`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * numel] };
    offset += 4 * numel;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
