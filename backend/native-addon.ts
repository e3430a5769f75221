// Loads the native CPU backend's addon (built from native/src by scripts/build-native.mjs at install).
// When it is missing, the reason recorded by the build is returned so `--backend auto` can say it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The addon's functions; every array argument is used in place (see native/src/addon.cc). */
export interface NativeAddon {
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, M: number, N: number, K: number,
    transA: boolean, transB: boolean, aOffsets: number[], bOffsets: number[]): void;
  biasActivation(y: Float32Array, bias: Float32Array | null, rows: number, cols: number, act: number): void;
  binary(op: number, a: Float32Array, aStrides: number[], b: Float32Array, bStrides: number[], out: Float32Array, outShape: number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha?: number): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, inner: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  copy(x: Float32Array, out: Float32Array, outShape: number[], inStrides: number[], offset: number): void;
  gather(x: Float32Array, ids: Int32Array, out: Float32Array, outer: number, axisDim: number, inner: number): void;
  segmentSum(updates: Float32Array, ids: Int32Array, out: Float32Array, rows: number, inner: number): void;
  adamw(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number,
    eps: number, decayFactor: number, bc1: number, bc2: number, clip: number): void;
  sumSquares(x: Float32Array): number;
  layerNorm(x: Float32Array, g: Float32Array, b: Float32Array, y: Float32Array, xhat: Float32Array, rstd: Float32Array, N: number, C: number, eps: number): void;
  layerNormGrad(dy: Float32Array, xhat: Float32Array, rstd: Float32Array, g: Float32Array, dx: Float32Array, dg: Float32Array | null, db: Float32Array | null, N: number, C: number): void;
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  attnProbs(s: Float32Array, bias: Float32Array | null, p: Float32Array, rows: number, n: number, scale: number, groupRows: number, biasGroups: number, tq: number): void;
  /** Decoding attention over a KV cache, writing the new keys/values into the caches in place (native/src/fused.h). */
  cachedAttn(qkv: Float32Array, kCache: Float32Array, vCache: Float32Array, bias: Float32Array | null, y: Float32Array, B: number, T: number, H: number, hd: number, past: number, cap: number, scale: number, biasB: number): void;
  /** One token per listed row of logits [*, V] from softmax(logits / T) with uniforms u (native/src/sample.h). */
  sampleRows(logits: Float32Array, V: number, rows: Int32Array, T: number, u: Float64Array, token: Int32Array, logprob: Float64Array): void;
  attnProbsGrad(dp: Float32Array, p: Float32Array, ds: Float32Array, rows: number, n: number, scale: number): void;
  xent(z: Float32Array, targets: Int32Array, nll: Float32Array, N: number, V: number): void;
  xentGrad(z: Float32Array, targets: Int32Array, coef: Float32Array, dz: Float32Array, N: number, V: number): void;
  // The Llama family's fused ops (native/src/llama-fused.h).
  /** RMSNorm rows of C: y = x * rstd * g, rstd [N]. */
  rmsNorm(x: Float32Array, g: Float32Array, y: Float32Array, rstd: Float32Array, N: number, C: number, eps: number): void;
  /** Its backward from the forward's input x and rstd; dg (Σ over rows of dy * x * rstd) only when given. */
  rmsNormGrad(dy: Float32Array, x: Float32Array, rstd: Float32Array, g: Float32Array, dx: Float32Array, dg: Float32Array | null, N: number, C: number): void;
  /** y = silu(gate) * up. */
  swiglu(gate: Float32Array, up: Float32Array, y: Float32Array): void;
  swigluGrad(dy: Float32Array, gate: Float32Array, up: Float32Array, dgate: Float32Array, dup: Float32Array): void;
  /** Half-split rotary embedding of x [rows, H, d]; row r uses table row r % cosRows of cos, sin [cosRows, d]; inverse rotates by -θ. */
  rope(x: Float32Array, cos: Float32Array, sin: Float32Array, y: Float32Array, rows: number, cosRows: number, H: number, d: number, inverse: boolean): void;
  /** Decoding attention with grouped-query heads over a KV cache of the Hkv KV heads, written in place (native/src/llama-fused.h). */
  cachedAttnGqa(q: Float32Array, k: Float32Array, v: Float32Array, kCache: Float32Array, vCache: Float32Array, bias: Float32Array | null, y: Float32Array,
    B: number, T: number, H: number, Hkv: number, hd: number, past: number, cap: number, scale: number, biasB: number): void;
  /** An ArrayBuffer in a 2 MiB-aligned mapping with transparent huge pages (freed when collected). */
  allocBuffer(bytes: number): ArrayBuffer;
  /** Detach an ArrayBuffer made by allocBuffer and unmap it now; false if it is not one of ours. */
  releaseBuffer(buffer: ArrayBuffer): boolean;
  info(): { isa: string; isas: string; blas: string | null; threads: number };
  setThreads(n: number): void;
  setIsa(name: string): boolean;
  setUseBlas(on: boolean): boolean;
}

export const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Pow: 7 } as const;
export const UNARY = {
  Exp: 0, Log: 1, Neg: 2, Sigmoid: 3, Tanh: 4, Sqrt: 5, Rsqrt: 6, Square: 7, Relu: 8, Abs: 9, Reciprocal: 10,
  GeluTanh: 11, Log1p: 12, Elu: 13, Softplus: 14, Scale: 15,
} as const;
export const REDUCE = { Sum: 0, Mean: 1, Max: 2, Min: 3 } as const;

const root = join(import.meta.dirname, '..');
let cached: { ok: true; addon: NativeAddon } | { ok: false; why: string } | null = null;

/** The addon file loadNativeAddon loads: RLHF_NATIVE_ADDON points at another build (or at nothing, to see the fallback). */
export function nativeAddonFile(): string {
  return process.env.RLHF_NATIVE_ADDON ?? join(root, 'build', 'Release', 'rlhf_native.node');
}

export function loadNativeAddon(): { ok: true; addon: NativeAddon } | { ok: false; why: string } {
  if (cached) return cached;
  const file = nativeAddonFile();
  if (!existsSync(file)) {
    let why = 'addon not built';
    try {
      why = `addon not built: ${JSON.parse(readFileSync(join(root, 'build', 'native-status.json'), 'utf8')).why}`;
    } catch {
      why = 'addon not built (run `npm run build:native`)';
    }
    return (cached = { ok: false, why });
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    return (cached = { ok: true, addon });
  } catch (e) {
    return (cached = { ok: false, why: `addon failed to load: ${(e as Error).message.split('\n')[0]}` });
  }
}
