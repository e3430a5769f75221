// Node-API entry points of the fused GPT ops (fused.h); backend/native-kernels.ts registers them as tfjs
// kernels of the native backend and lm/ops.ts uses them when they exist.
#include "fused.h"
#include "napi-args.h"
#include "sample.h"

namespace rlhf {
namespace {

// layerNorm(x, g, b, y, xhat, rstd, N, C, eps)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(6, "N"), C = a.count(7, "C");
  double eps = a.num(8, "eps");
  const int64_t n = a.size("layerNorm x (N x C)", {N, C});
  const float* x = a.f32(0, n, "x");
  const float* g = a.f32(1, C, "g");
  const float* b = a.f32(2, C, "b");
  float* y = a.f32(3, n, "y");
  float* xhat = a.f32(4, n, "xhat");
  float* rstd = a.f32(5, N, "rstd");
  if (a.failed) return nullptr;
  layerNormFwd(x, g, b, y, xhat, rstd, N, C, static_cast<float>(eps));
  return undefinedValue(env);
}

// layerNormGrad(dy, xhat, rstd, g, dx, dg|null, db|null, N, C)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(7, "N"), C = a.count(8, "C");
  const int64_t n = a.size("layerNormGrad dy (N x C)", {N, C});
  const float* dy = a.f32(0, n, "dy");
  const float* xhat = a.f32(1, n, "xhat");
  const float* rstd = a.f32(2, N, "rstd");
  const float* g = a.f32(3, C, "g");
  float* dx = a.f32(4, n, "dx");
  napi_valuetype t = napi_null;
  if (a.argc > 5) napi_typeof(env, a.argv[5], &t);
  float* dg = t == napi_null ? nullptr : a.f32(5, C, "dg");
  float* db = t == napi_null ? nullptr : a.f32(6, C, "db");
  if (a.failed) return nullptr;
  layerNormBwd(dy, xhat, rstd, g, dx, dg, db, N, C);
  return undefinedValue(env);
}

// geluGrad(dy, x, dx)
napi_value GeluGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const float* x = a.f32(1, 0, "x");
  const int64_t n = a.length(1);
  const float* dy = a.f32(0, n, "dy");
  float* dx = a.f32(2, n, "dx");
  if (a.failed) return nullptr;
  geluBwdAll(dy, x, dx, n);
  return undefinedValue(env);
}

// attnProbs(s, bias|null, p, rows, n, scale, groupRows, biasGroups, tq)
napi_value AttnProbs(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(3, "rows"), n = a.count(4, "n");
  double scale = a.num(5, "scale");
  int64_t groupRows = a.count(6, "groupRows"), groups = a.count(7, "biasGroups"), tq = a.count(8, "tq");
  if (!a.failed && (groupRows == 0 || groups == 0 || tq == 0 || groupRows % tq != 0)) return a.range("attnProbs: bad bias layout (groupRows, biasGroups and tq must be positive, groupRows a multiple of tq)");
  const int64_t size = a.size("attnProbs scores (rows x n)", {rows, n});
  const float* s = a.f32(0, size, "scores");
  napi_valuetype t = napi_null;
  if (a.argc > 1) napi_typeof(env, a.argv[1], &t);
  const float* bias = t == napi_null ? nullptr : a.f32(1, a.size("attnProbs bias (biasGroups x tq x n)", {groups, tq, n}), "bias");
  float* p = a.f32(2, size, "p");
  if (a.failed) return nullptr;
  if (size == 0) return undefinedValue(env);  // nothing to write (and no loop over rows of nothing)
  attnFwd(s, bias, p, rows, n, static_cast<float>(scale), groupRows, groups, tq);
  return undefinedValue(env);
}

// attnProbsGrad(dp, p, ds, rows, n, scale)
napi_value AttnProbsGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(3, "rows"), n = a.count(4, "n");
  double scale = a.num(5, "scale");
  const int64_t size = a.size("attnProbsGrad dp (rows x n)", {rows, n});
  const float* dp = a.f32(0, size, "dp");
  const float* p = a.f32(1, size, "p");
  float* ds = a.f32(2, size, "ds");
  if (a.failed) return nullptr;
  if (size == 0) return undefinedValue(env);
  attnBwd(dp, p, ds, rows, n, static_cast<float>(scale));
  return undefinedValue(env);
}

// cachedAttn(qkv, kCache, vCache, bias|null, y, B, T, H, hd, past, cap, scale, biasB)
napi_value CachedAttn(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t B = a.count(5, "B"), T = a.count(6, "T"), H = a.count(7, "H"), hd = a.count(8, "hd");
  int64_t past = a.count(9, "past"), cap = a.count(10, "cap");
  double scale = a.num(11, "scale");
  int64_t biasB = a.count(12, "biasB");
  // past and T are below 2^53, so past + T cannot overflow.
  if (!a.failed && (past + T > cap || (biasB != 1 && biasB != B))) return a.range("cachedAttn: past + T exceeds the cache, or bias batch is neither 1 nor B");
  const int64_t C = a.size("cachedAttn C (H x hd)", {H, hd}), Tk = past + T;
  const float* qkv = a.f32(0, a.size("cachedAttn qkv (B x T x 3C)", {B, T, 3, C}), "qkv");
  const int64_t cache = a.size("cachedAttn caches (B x H x cap x hd)", {B, H, cap, hd});
  float* kc = a.f32(1, cache, "kCache");
  float* vc = a.f32(2, cache, "vCache");
  napi_valuetype t = napi_null;
  if (a.argc > 3) napi_typeof(env, a.argv[3], &t);
  const float* bias = t == napi_null ? nullptr : a.f32(3, a.size("cachedAttn bias (biasB x T x Tk)", {biasB, T, Tk}), "bias");
  const int64_t ySize = a.size("cachedAttn y (B x T x C)", {B, T, C});
  float* y = a.f32(4, ySize, "y");
  if (a.failed) return nullptr;
  // No token, or heads of width 0: nothing goes into the caches or y. Returning also keeps B x H empty
  // heads (up to 2^63 with hd = 0) from looping, and a cap of 2^53 from sizing the scratch row.
  if (ySize == 0) return undefinedValue(env);
  cachedAttn(qkv, kc, vc, bias, y, B, T, H, hd, past, cap, static_cast<float>(scale), biasB);
  return undefinedValue(env);
}

// xent(z, targets, nll, N, V) / xentGrad(z, targets, coef, dz, N, V)
napi_value Xent(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(3, "N"), V = a.count(4, "V");
  const float* z = a.f32(0, a.size("xent logits (N x V)", {N, V}), "logits");
  const int32_t* t = a.i32(1, N, "targets");
  float* nll = a.f32(2, N, "nll");
  if (a.failed) return nullptr;
  const std::vector<int32_t> tv = snapshot(t, N);  // checked targets stay checked (napi-args.h)
  std::string err = xentFwd(z, tv.data(), nll, N, V);
  if (!err.empty()) return a.range(err);
  return undefinedValue(env);
}

napi_value XentGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(4, "N"), V = a.count(5, "V");
  const int64_t n = a.size("xentGrad logits (N x V)", {N, V});
  const float* z = a.f32(0, n, "logits");
  const int32_t* t = a.i32(1, N, "targets");
  const float* c = a.f32(2, N, "coef");
  float* dz = a.f32(3, n, "dz");
  if (a.failed) return nullptr;
  const std::vector<int32_t> tv = snapshot(t, N);
  std::string err = xentBwd(z, tv.data(), c, dz, N, V);
  if (!err.empty()) return a.range(err);
  return undefinedValue(env);
}

// sampleRows(logits, V, rows, T, u, token, logprob): one draw per listed row (sample.h)
napi_value SampleRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t V = a.count(1, "V");
  double T = a.num(3, "T");
  if (!a.failed && (V < 1 || !(T > 0))) return a.range("sampleRows: V must be >= 1 and T > 0");
  const int32_t* rowArg = a.i32(2, 0, "rows");
  const int64_t n = a.length(2);
  const double* u = a.f64(4, n, "u");
  int32_t* token = a.i32(5, n, "token");
  double* logprob = a.f64(6, n, "logprob");
  const float* logits = a.f32(0, 0, "logits");
  if (a.failed) return nullptr;
  // Whole rows of V the logits hold; a listed row must be one of them (a division, so nothing overflows).
  const int64_t have = a.length(0) / V;
  const std::vector<int32_t> rowv = snapshot(rowArg, n);  // checked rows stay checked (napi-args.h)
  const int32_t* rows = rowv.data();
  for (int64_t j = 0; j < n; j++) {
    if (rows[j] < 0 || rows[j] >= have) return a.range("sampleRows: row " + std::to_string(rows[j]) + " at position " + std::to_string(j) + " is outside the logits' " + std::to_string(have) + " rows");
  }
  sampleRows(logits, V, rows, n, T, u, token, logprob);
  return undefinedValue(env);
}

}  // namespace

void registerFused(napi_env env, napi_value exports) {
  const struct { const char* name; napi_callback fn; } fns[] = {
      {"layerNorm", guarded<LayerNorm>}, {"layerNormGrad", guarded<LayerNormGrad>}, {"geluGrad", guarded<GeluGrad>},
      {"attnProbs", guarded<AttnProbs>}, {"attnProbsGrad", guarded<AttnProbsGrad>}, {"cachedAttn", guarded<CachedAttn>},
      {"sampleRows", guarded<SampleRows>}, {"xent", guarded<Xent>}, {"xentGrad", guarded<XentGrad>},
  };
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
}

}  // namespace rlhf
