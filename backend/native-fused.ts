// Fused GPT ops as tfjs kernels of the native backend: LayerNorm forward/backward, GELU forward/backward,
// attention probabilities forward/backward, cross-entropy forward/backward, and decoding attention over a
// KV cache (native/src/fused.cc); and the Llama family's (native-fused-llama.ts: RMSNorm, SwiGLU, RoPE,
// grouped-query decoding attention).
// lm/ops.ts uses a kernel when the current backend has it, and its tfjs composition otherwise.
import { UNARY } from './native-addon.js';
import { Be, f32, Fn, Info, out } from './fused-kernel.js';
import { FUSED_LLAMA } from './native-fused-llama.js';

const i32 = (be: Be, t: Info) => {
  const v = be.data.get(t.dataId).values;
  if (!(v instanceof Int32Array)) throw new Error('expected int32 targets');
  return v;
};

export const FUSED: Record<string, Fn> = {
  // -> [y, xhat, rstd], or [y] alone with `inference` (xhat then shares y's buffer and is overwritten by it)
  RlhfLayerNorm: ({ x, g, b }, { eps, inference }, addon, be) => {
    const C = x.shape[x.shape.length - 1];
    const N = x.shape.reduce((a, d) => a * d, 1) / C;
    const y = be.alloc(N * C);
    const [xhat, rstd] = [inference ? y : be.alloc(N * C), be.alloc(N)];
    addon.layerNorm(f32(be, x), f32(be, g), f32(be, b), y, xhat, rstd, N, C, Number(eps));
    if (inference) return [out(be, x.shape, y)];
    return [out(be, x.shape, y), out(be, x.shape, xhat), out(be, [...x.shape.slice(0, -1), 1], rstd)];
  },
  RlhfLayerNormGrad: ({ dy, xhat, rstd, g }, { params }, addon, be) => {
    const C = dy.shape[dy.shape.length - 1];
    const N = dy.shape.reduce((a, d) => a * d, 1) / C;
    const dx = be.alloc(N * C);
    const [dg, db] = params ? [be.alloc(C), be.alloc(C)] : [null, null];
    addon.layerNormGrad(f32(be, dy), f32(be, xhat), f32(be, rstd), f32(be, g), dx, dg, db, N, C);
    return params ? [out(be, dy.shape, dx), out(be, [C], dg!), out(be, [C], db!)] : [out(be, dy.shape, dx)];
  },
  RlhfGelu: ({ x }, _a, addon, be) => {
    const y = be.alloc(f32(be, x).length);
    addon.unary(UNARY.GeluTanh, f32(be, x), y);
    return out(be, x.shape, y);
  },
  RlhfGeluGrad: ({ dy, x }, _a, addon, be) => {
    const dx = be.alloc(f32(be, x).length);
    addon.geluGrad(f32(be, dy), f32(be, x), dx);
    return out(be, x.shape, dx);
  },
  // scores [B, H, Tq, Tk]; bias [1 or B, 1, Tq, Tk] (checked by the caller, lm/ops.ts)
  RlhfAttnProbs: ({ scores, bias }, { scale }, addon, be) => {
    const [B, H, Tq, Tk] = scores.shape;
    const p = be.alloc(B * H * Tq * Tk);
    addon.attnProbs(f32(be, scores), bias ? f32(be, bias) : null, p, B * H * Tq, Tk, Number(scale), H * Tq, bias ? bias.shape[0] : 1, Tq);
    return out(be, scores.shape, p);
  },
  // qkv [B*T, 3C]; keys transposed kCache [B, H, hd, cap] and vCache [B, H, cap, hd], written in place at
  // positions [past, past+T) (lm/model.ts KVCache owns them and shares them with no one);
  // bias [1 or B, 1, T, past+T] or absent. -> y [B*T, C]
  RlhfCachedAttn: ({ qkv, kCache, vCache, bias }, { past, scale }, addon, be) => {
    const [B, H, cap, hd] = vCache.shape;
    const k = kCache.shape;
    if (k[0] !== B || k[1] !== H || k[2] !== hd || k[3] !== cap) throw new Error(`RlhfCachedAttn: kCache [${k}] is not [${[B, H, hd, cap]}]`);
    const T = qkv.shape[0] / B;
    const y = be.alloc(B * T * H * hd);
    addon.cachedAttn(f32(be, qkv), f32(be, kCache), f32(be, vCache), bias ? f32(be, bias) : null, y, B, T, H, hd, Number(past), cap, Number(scale), bias ? bias.shape[0] : 1);
    return out(be, [B * T, H * hd], y);
  },
  RlhfAttnProbsGrad: ({ dp, p }, { scale }, addon, be) => {
    const n = p.shape[p.shape.length - 1];
    const ds = be.alloc(f32(be, p).length);
    addon.attnProbsGrad(f32(be, dp), f32(be, p), ds, ds.length / n, n, Number(scale));
    return out(be, p.shape, ds);
  },
  RlhfXent: ({ logits, targets }, _a, addon, be) => {
    const [N, V] = logits.shape;
    const nll = be.alloc(N);
    addon.xent(f32(be, logits), i32(be, targets), nll, N, V);
    return out(be, [N], nll);
  },
  RlhfXentGrad: ({ logits, targets, coef }, _a, addon, be) => {
    const [N, V] = logits.shape;
    const dz = be.alloc(N * V);
    addon.xentGrad(f32(be, logits), i32(be, targets), f32(be, coef), dz, N, V);
    return out(be, [N, V], dz);
  },
  ...FUSED_LLAMA,
};
