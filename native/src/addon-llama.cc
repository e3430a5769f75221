// Node-API entry points of the Llama family's fused ops (llama-fused.h); backend/native-fused-llama.ts
// registers them as tfjs kernels of the native backend and lm/ops.ts, lm/rope.ts and lm/models/llama.ts
// use them when they exist. Every size is checked against the arrays first (napi-args.h).
#include "llama-fused.h"
#include "napi-args.h"

namespace rlhf {
namespace {

bool isNull(Args& a, size_t i) {
  napi_valuetype t = napi_null;
  if (i < a.argc) napi_typeof(a.env, a.argv[i], &t);
  return t == napi_null;
}

// rmsNorm(x, g, y, rstd, N, C, eps)
napi_value RmsNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(4, "N"), C = a.count(5, "C");
  double eps = a.num(6, "eps");
  const int64_t n = a.size("rmsNorm x (N x C)", {N, C});
  const float* x = a.f32(0, n, "x");
  const float* g = a.f32(1, C, "g");
  float* y = a.f32(2, n, "y");
  float* rstd = a.f32(3, N, "rstd");
  if (a.failed) return nullptr;
  if (n == 0) return undefinedValue(env);
  rmsNormFwd(x, g, y, rstd, N, C, static_cast<float>(eps));
  return undefinedValue(env);
}

// rmsNormGrad(dy, x, rstd, g, dx, dg|null, N, C)
napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(6, "N"), C = a.count(7, "C");
  const int64_t n = a.size("rmsNormGrad dy (N x C)", {N, C});
  const float* dy = a.f32(0, n, "dy");
  const float* x = a.f32(1, n, "x");
  const float* rstd = a.f32(2, N, "rstd");
  const float* g = a.f32(3, C, "g");
  float* dx = a.f32(4, n, "dx");
  float* dg = isNull(a, 5) ? nullptr : a.f32(5, C, "dg");
  if (a.failed) return nullptr;
  if (n == 0) {
    if (dg) std::fill(dg, dg + C, 0.0f);  // a sum over no rows (C may be non-zero when N is 0)
    return undefinedValue(env);
  }
  rmsNormBwd(dy, x, rstd, g, dx, dg, N, C);
  return undefinedValue(env);
}

// swiglu(g, u, y)
napi_value Swiglu(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* g = a.f32(0, 0, "gate");
  const int64_t n = a.length(0);
  const float* u = a.f32(1, n, "up");
  float* y = a.f32(2, n, "y");
  if (a.failed) return nullptr;
  swigluFwdAll(g, u, y, n);
  return undefinedValue(env);
}

// swigluGrad(dy, g, u, dg, du)
napi_value SwigluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* g = a.f32(1, 0, "gate");
  const int64_t n = a.length(1);
  const float* dy = a.f32(0, n, "dy");
  const float* u = a.f32(2, n, "up");
  float* dg = a.f32(3, n, "dgate");
  float* du = a.f32(4, n, "dup");
  if (a.failed) return nullptr;
  swigluBwdAll(dy, g, u, dg, du, n);
  return undefinedValue(env);
}

// rope(x, cos, sin, y, rows, cosRows, H, d, inverse)
napi_value Rope(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(4, "rows"), cosRows = a.count(5, "cosRows"), H = a.count(6, "H"), d = a.count(7, "d");
  const bool inverse = a.flag(8);
  if (!a.failed && (d % 2 != 0 || (rows > 0 && (cosRows == 0 || rows % cosRows != 0)))) {
    return a.range("rope: d must be even and rows a multiple of cosRows (the tables' rows)");
  }
  const int64_t n = a.size("rope x (rows x H x d)", {rows, H, d});
  const int64_t tn = a.size("rope tables (cosRows x d)", {cosRows, d});
  const float* x = a.f32(0, n, "x");
  const float* c = a.f32(1, tn, "cos");
  const float* s = a.f32(2, tn, "sin");
  float* y = a.f32(3, n, "y");
  if (a.failed) return nullptr;
  if (n == 0) return undefinedValue(env);
  ropeAll(x, c, s, y, rows, cosRows, H, d, inverse);
  return undefinedValue(env);
}

// cachedAttnGqa(q, k, v, kCache, vCache, bias|null, y, B, T, H, Hkv, hd, past, cap, scale, biasB)
napi_value CachedAttnGqa(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t B = a.count(7, "B"), T = a.count(8, "T"), H = a.count(9, "H"), Hkv = a.count(10, "Hkv"), hd = a.count(11, "hd");
  int64_t past = a.count(12, "past"), cap = a.count(13, "cap");
  double scale = a.num(14, "scale");
  int64_t biasB = a.count(15, "biasB");
  // past and T are below 2^53, so past + T cannot overflow.
  if (!a.failed && (past + T > cap || (biasB != 1 && biasB != B))) return a.range("cachedAttnGqa: past + T exceeds the cache, or bias batch is neither 1 nor B");
  if (!a.failed && (Hkv == 0 || H % Hkv != 0)) return a.range("cachedAttnGqa: H must be a positive multiple of Hkv");
  const int64_t C = a.size("cachedAttnGqa C (H x hd)", {H, hd}), Ckv = a.size("cachedAttnGqa KV width (Hkv x hd)", {Hkv, hd}), Tk = past + T;
  const float* q = a.f32(0, a.size("cachedAttnGqa q (B x T x C)", {B, T, C}), "q");
  const int64_t kvSize = a.size("cachedAttnGqa k, v (B x T x Hkv x hd)", {B, T, Ckv});
  const float* k = a.f32(1, kvSize, "k");
  const float* v = a.f32(2, kvSize, "v");
  const int64_t cache = a.size("cachedAttnGqa caches (B x Hkv x cap x hd)", {B, Hkv, cap, hd});
  float* kc = a.f32(3, cache, "kCache");
  float* vc = a.f32(4, cache, "vCache");
  const float* bias = isNull(a, 5) ? nullptr : a.f32(5, a.size("cachedAttnGqa bias (biasB x T x Tk)", {biasB, T, Tk}), "bias");
  const int64_t ySize = a.size("cachedAttnGqa y (B x T x C)", {B, T, C});
  float* y = a.f32(6, ySize, "y");
  if (a.failed) return nullptr;
  // No token, or heads of width 0: nothing goes into the caches or y (and no loop over empty heads).
  if (ySize == 0) return undefinedValue(env);
  cachedAttnGqa(q, k, v, kc, vc, bias, y, B, T, H, Hkv, hd, past, cap, static_cast<float>(scale), biasB);
  return undefinedValue(env);
}

}  // namespace

void registerLlamaFused(napi_env env, napi_value exports) {
  const struct { const char* name; napi_callback fn; } fns[] = {
      {"rmsNorm", guarded<RmsNorm>}, {"rmsNormGrad", guarded<RmsNormGrad>}, {"swiglu", guarded<Swiglu>},
      {"swigluGrad", guarded<SwigluGrad>}, {"rope", guarded<Rope>}, {"cachedAttnGqa", guarded<CachedAttnGqa>},
  };
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
}

}  // namespace rlhf
