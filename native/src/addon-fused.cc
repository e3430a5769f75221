// Node-API entry points of the fused GPT ops (fused.h); lm/native-kernels.ts registers them as tfjs
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
  const float* x = a.f32(0, N * C, "x");
  const float* g = a.f32(1, C, "g");
  const float* b = a.f32(2, C, "b");
  float* y = a.f32(3, N * C, "y");
  float* xhat = a.f32(4, N * C, "xhat");
  float* rstd = a.f32(5, N, "rstd");
  if (a.failed) return nullptr;
  layerNormFwd(x, g, b, y, xhat, rstd, N, C, static_cast<float>(eps));
  return undefinedValue(env);
}

// layerNormGrad(dy, xhat, rstd, g, dx, dg|null, db|null, N, C)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(7, "N"), C = a.count(8, "C");
  const float* dy = a.f32(0, N * C, "dy");
  const float* xhat = a.f32(1, N * C, "xhat");
  const float* rstd = a.f32(2, N, "rstd");
  const float* g = a.f32(3, C, "g");
  float* dx = a.f32(4, N * C, "dx");
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
  const float* s = a.f32(0, rows * n, "scores");
  napi_valuetype t = napi_null;
  if (a.argc > 1) napi_typeof(env, a.argv[1], &t);
  const float* bias = t == napi_null ? nullptr : a.f32(1, groups * tq * n, "bias");
  float* p = a.f32(2, rows * n, "p");
  if (!a.failed && (groupRows == 0 || groups == 0 || tq == 0 || groupRows % tq != 0)) return a.fail("attnProbs: bad bias layout");
  if (a.failed) return nullptr;
  attnFwd(s, bias, p, rows, n, static_cast<float>(scale), groupRows, groups, tq);
  return undefinedValue(env);
}

// attnProbsGrad(dp, p, ds, rows, n, scale)
napi_value AttnProbsGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(3, "rows"), n = a.count(4, "n");
  double scale = a.num(5, "scale");
  const float* dp = a.f32(0, rows * n, "dp");
  const float* p = a.f32(1, rows * n, "p");
  float* ds = a.f32(2, rows * n, "ds");
  if (a.failed) return nullptr;
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
  if (!a.failed && (past + T > cap || (biasB != 1 && biasB != B))) return a.fail("cachedAttn: past + T exceeds the cache, or bias batch is neither 1 nor B");
  const int64_t C = H * hd, Tk = past + T;
  const float* qkv = a.f32(0, B * T * 3 * C, "qkv");
  float* kc = a.f32(1, B * H * cap * hd, "kCache");
  float* vc = a.f32(2, B * H * cap * hd, "vCache");
  napi_valuetype t = napi_null;
  if (a.argc > 3) napi_typeof(env, a.argv[3], &t);
  const float* bias = t == napi_null ? nullptr : a.f32(3, biasB * T * Tk, "bias");
  float* y = a.f32(4, B * T * C, "y");
  if (a.failed) return nullptr;
  cachedAttn(qkv, kc, vc, bias, y, B, T, H, hd, past, cap, static_cast<float>(scale), biasB);
  return undefinedValue(env);
}

// xent(z, targets, nll, N, V) / xentGrad(z, targets, coef, dz, N, V)
napi_value Xent(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(3, "N"), V = a.count(4, "V");
  const float* z = a.f32(0, N * V, "logits");
  const int32_t* t = a.i32(1, N, "targets");
  float* nll = a.f32(2, N, "nll");
  if (a.failed) return nullptr;
  std::string err = xentFwd(z, t, nll, N, V);
  if (!err.empty()) return a.fail(err);
  return undefinedValue(env);
}

napi_value XentGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t N = a.count(4, "N"), V = a.count(5, "V");
  const float* z = a.f32(0, N * V, "logits");
  const int32_t* t = a.i32(1, N, "targets");
  const float* c = a.f32(2, N, "coef");
  float* dz = a.f32(3, N * V, "dz");
  if (a.failed) return nullptr;
  std::string err = xentBwd(z, t, c, dz, N, V);
  if (!err.empty()) return a.fail(err);
  return undefinedValue(env);
}

// sampleRows(logits, V, rows, T, u, token, logprob): one draw per listed row (sample.h)
napi_value SampleRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t V = a.count(1, "V");
  double T = a.num(3, "T");
  const int32_t* rows = a.i32(2, 0, "rows");
  const int64_t n = a.length(2);
  const double* u = a.f64(4, n, "u");
  int32_t* token = a.i32(5, n, "token");
  double* logprob = a.f64(6, n, "logprob");
  const float* logits = a.f32(0, 0, "logits");
  if (a.failed) return nullptr;
  const int64_t have = a.length(0);
  if (V < 1 || !(T > 0)) return a.fail("sampleRows: V must be >= 1 and T > 0");
  for (int64_t j = 0; j < n; j++) {
    if (rows[j] < 0 || (static_cast<int64_t>(rows[j]) + 1) * V > have) return a.fail("sampleRows: row " + std::to_string(rows[j]) + " is outside the logits");
  }
  sampleRows(logits, V, rows, n, T, u, token, logprob);
  return undefinedValue(env);
}

}  // namespace

void registerFused(napi_env env, napi_value exports) {
  const struct { const char* name; napi_callback fn; } fns[] = {
      {"layerNorm", LayerNorm}, {"layerNormGrad", LayerNormGrad}, {"geluGrad", GeluGrad},
      {"attnProbs", AttnProbs}, {"attnProbsGrad", AttnProbsGrad}, {"cachedAttn", CachedAttn}, {"sampleRows", SampleRows}, {"xent", Xent}, {"xentGrad", XentGrad},
  };
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
}

}  // namespace rlhf
