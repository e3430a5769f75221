// Fused ops of the Llama family as tfjs kernels of the native backend (native/src/llama-fused.cc):
// RMSNorm forward/backward, SwiGLU forward/backward, rotary embeddings (forward, and the rotation by −θ
// that is their backward), and decoding attention with grouped-query heads over an in-place KV cache.
// native-fused.ts adds them to FUSED, which native-backend.ts registers. lm/ops.ts, lm/rope.ts and
// lm/models/llama.ts use a kernel when the current backend has it, and their tfjs composition otherwise.
import { f32, Fn, Info, out } from './fused-kernel.js';
const size = (s: number[]) => s.reduce((a, d) => a * d, 1);
const sameShape = (a: Info, b: Info, what: string) => {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) throw new Error(`${what}: shapes [${a.shape}] and [${b.shape}] differ`);
};

export const FUSED_LLAMA: Record<string, Fn> = {
  // x [..., C], g [C] -> [y, rstd [..., 1]], or [y] alone with `inference`. The backward reads x itself
  // (the caller saves it), so nothing of [N, C] is saved beyond what already exists.
  RlhfRmsNorm: ({ x, g }, { eps, inference }, addon, be) => {
    const C = x.shape[x.shape.length - 1];
    const N = size(x.shape) / C;
    const y = be.alloc(N * C);
    const rstd = new Float32Array(N);
    addon.rmsNorm(f32(be, x), f32(be, g), y, rstd, N, C, Number(eps));
    if (inference) return [out(be, x.shape, y)];
    return [out(be, x.shape, y), out(be, [...x.shape.slice(0, -1), 1], rstd)];
  },
  // -> [dx], or [dx, dg] with `params`
  RlhfRmsNormGrad: ({ dy, x, rstd, g }, { params }, addon, be) => {
    const C = dy.shape[dy.shape.length - 1];
    const N = size(dy.shape) / C;
    const dx = be.alloc(N * C);
    const dg = params ? new Float32Array(C) : null;
    addon.rmsNormGrad(f32(be, dy), f32(be, x), f32(be, rstd), f32(be, g), dx, dg, N, C);
    return dg ? [out(be, dy.shape, dx), out(be, [C], dg)] : [out(be, dy.shape, dx)];
  },
  // y = silu(gate) · up, same shapes
  RlhfSwiglu: ({ gate, up }, _a, addon, be) => {
    sameShape(gate, up, 'RlhfSwiglu');
    const y = be.alloc(size(gate.shape));
    addon.swiglu(f32(be, gate), f32(be, up), y);
    return out(be, gate.shape, y);
  },
  // -> [dgate, dup]
  RlhfSwigluGrad: ({ dy, gate, up }, _a, addon, be) => {
    sameShape(gate, up, 'RlhfSwigluGrad');
    sameShape(dy, gate, 'RlhfSwigluGrad');
    const n = size(gate.shape);
    const [dg, du] = [be.alloc(n), be.alloc(n)];
    addon.swigluGrad(f32(be, dy), f32(be, gate), f32(be, up), dg, du);
    return [out(be, gate.shape, dg), out(be, gate.shape, du)];
  },
  // x [B, T, H, d]; cos, sin [1 or B, T, 1, d] (checked by the caller, lm/rope.ts); inverse: rotate by −θ
  RlhfRope: ({ x, cos, sin }, { inverse }, addon, be) => {
    const [B, T, H, d] = x.shape;
    const y = be.alloc(B * T * H * d);
    addon.rope(f32(be, x), f32(be, cos), f32(be, sin), y, B * T, cos.shape[0] * T, H, d, Boolean(inverse));
    return out(be, x.shape, y);
  },
  // q [B*T, H*hd] (rotated), k, v [B*T, Hkv*hd] (k rotated); keys transposed kCache [B, Hkv, hd, cap] and
  // vCache [B, Hkv, cap, hd], written in place at positions [past, past+T) (lm/kv-cache.ts owns them and
  // shares them with no one); bias [1 or B, 1, T, past+T] or absent. -> y [B*T, H*hd]
  RlhfCachedAttnGqa: ({ q, k, v, kCache, vCache, bias }, { past, scale }, addon, be) => {
    const [B, Hkv, cap, hd] = vCache.shape;
    const kc = kCache.shape;
    if (kc[0] !== B || kc[1] !== Hkv || kc[2] !== hd || kc[3] !== cap) throw new Error(`RlhfCachedAttnGqa: kCache [${kc}] is not [${[B, Hkv, hd, cap]}]`);
    const T = q.shape[0] / B;
    const H = q.shape[1] / hd;
    if (!Number.isInteger(T) || !Number.isInteger(H) || k.shape[0] !== B * T || k.shape[1] !== Hkv * hd) {
      throw new Error(`RlhfCachedAttnGqa: q [${q.shape}] and k [${k.shape}] do not fit caches of ${B} rows, ${Hkv} KV heads of ${hd}`);
    }
    sameShape(k, v, 'RlhfCachedAttnGqa k, v');
    const y = be.alloc(B * T * H * hd);
    addon.cachedAttnGqa(f32(be, q), f32(be, k), f32(be, v), f32(be, kCache), f32(be, vCache), bias ? f32(be, bias) : null, y,
      B, T, H, Hkv, hd, Number(past), cap, Number(scale), bias ? bias.shape[0] : 1);
    return out(be, [B * T, H * hd], y);
  },
};
