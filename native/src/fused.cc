#include "fused.h"

#include <algorithm>
#include <vector>

#include "isa.h"
#include "threadpool.h"

namespace rlhf {
namespace {
int64_t rowGrain(int64_t n) { return std::max<int64_t>(1, 32 * 1024 / std::max<int64_t>(1, n)); }

std::string checkTargets(const int32_t* t, int64_t N, int64_t V) {
  for (int64_t i = 0; i < N; i++) {
    if (t[i] < 0 || t[i] >= V) return "cross-entropy: target " + std::to_string(t[i]) + " at row " + std::to_string(i) + " is outside [0, " + std::to_string(V) + ")";
  }
  return "";
}
}  // namespace

void layerNormFwd(const float* x, const float* g, const float* b, float* y, float* xhat, float* rstd, int64_t N, int64_t C, float eps) {
  const auto& k = K();
  parallelFor(N, rowGrain(C), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) rstd[r] = k.layerNormRow(x + r * C, g, b, y + r * C, xhat + r * C, C, eps);
  });
}

void layerNormBwd(const float* dy, const float* xhat, const float* rstd, const float* g, float* dx, float* dg, float* db, int64_t N, int64_t C) {
  const auto& k = K();
  parallelFor(N, rowGrain(C), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) k.layerNormBwdRow(dy + r * C, xhat + r * C, g, rstd[r], dx + r * C, C);
  });
  if (!dg || !db) return;
  // Column sums over rows: each part accumulates its own rows, then the parts are added.
  const int parts = static_cast<int>(std::min<int64_t>(numThreads(), std::max<int64_t>(1, N * C / (64 * 1024))));
  std::vector<float> partial(static_cast<size_t>(parts) * 2 * C, 0.0f);
  parallelFor(parts, 1, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; p++) {
      float* pg = partial.data() + p * 2 * C;
      float* pb = pg + C;
      std::vector<float> tmp(C);
      for (int64_t r = N * p / parts; r < N * (p + 1) / parts; r++) {
        k.binary(kMul, dy + r * C, 1, xhat + r * C, 1, tmp.data(), C);
        k.accumulate(pg, tmp.data(), C);
        k.accumulate(pb, dy + r * C, C);
      }
    }
  });
  std::fill(dg, dg + C, 0.0f);
  std::fill(db, db + C, 0.0f);
  for (int p = 0; p < parts; p++) {
    k.accumulate(dg, partial.data() + p * 2 * C, C);
    k.accumulate(db, partial.data() + p * 2 * C + C, C);
  }
}

void geluBwdAll(const float* dy, const float* x, float* dx, int64_t n) {
  const auto& k = K();
  parallelFor(n, 8 * 1024, [&](int64_t s, int64_t e) { k.geluBwd(dy + s, x + s, dx + s, e - s); });
}

void attnFwd(const float* s, const float* bias, float* p, int64_t rows, int64_t n, float scale, int64_t groupRows, int64_t biasGroups, int64_t tq) {
  const auto& k = K();
  parallelFor(rows, rowGrain(n), [&](int64_t a, int64_t e) {
    for (int64_t r = a; r < e; r++) {
      const float* br = bias ? bias + (((r / groupRows) % biasGroups) * tq + r % tq) * n : nullptr;
      k.attnRow(s + r * n, br, scale, p + r * n, n);
    }
  });
}

void attnBwd(const float* dp, const float* p, float* ds, int64_t rows, int64_t n, float scale) {
  const auto& k = K();
  parallelFor(rows, rowGrain(n), [&](int64_t a, int64_t e) {
    for (int64_t r = a; r < e; r++) k.attnBwdRow(dp + r * n, p + r * n, scale, ds + r * n, n);
  });
}

void cachedAttn(const float* qkv, float* kc, float* vc, const float* bias, float* y, int64_t B, int64_t T, int64_t H, int64_t hd,
                int64_t past, int64_t cap, float scale, int64_t biasB) {
  const auto& k = K();
  const int64_t C = H * hd, Tk = past + T, row = 3 * C;
  auto heads = [&](int64_t s, int64_t e) {
    thread_local std::vector<float> scratch;
    if (static_cast<int64_t>(scratch.size()) < Tk) scratch.resize(Tk);
    for (int64_t bh = s; bh < e; bh++) {
      const int64_t b = bh / H, h = bh % H;
      float* kT = kc + bh * hd * cap;  // [hd, cap] of this (b, h): keys transposed
      float* vh = vc + bh * cap * hd;  // [cap, hd]
      const float* q = qkv + b * T * row + h * hd;  // query t at q + t * row; its key at + C, value at + 2C
      for (int64_t t = 0; t < T; t++) {
        for (int64_t d = 0; d < hd; d++) kT[d * cap + past + t] = q[t * row + C + d];
        std::copy_n(q + t * row + 2 * C, hd, vh + (past + t) * hd);
      }
      const float* br = bias ? bias + (b % biasB) * T * Tk : nullptr;
      k.attnDecodeHead(q, row, T, kT, vh, cap, hd, Tk, br, scale, scratch.data(), y + b * T * C + h * hd, C);
    }
  };
  // Small caches (under ~1 MB of keys) on one thread: waking the pool costs more than it saves there.
  if (B * H * Tk * hd < (1 << 18)) return heads(0, B * H);
  parallelFor(B * H, 1, heads);
}

std::string xentFwd(const float* z, const int32_t* t, float* nll, int64_t N, int64_t V) {
  std::string err = checkTargets(t, N, V);
  if (!err.empty()) return err;
  const auto& k = K();
  parallelFor(N, rowGrain(V), [&](int64_t a, int64_t e) {
    for (int64_t r = a; r < e; r++) nll[r] = k.xentRow(z + r * V, t[r], V);
  });
  return "";
}

std::string xentBwd(const float* z, const int32_t* t, const float* coef, float* dz, int64_t N, int64_t V) {
  std::string err = checkTargets(t, N, V);
  if (!err.empty()) return err;
  const auto& k = K();
  parallelFor(N, rowGrain(V), [&](int64_t a, int64_t e) {
    for (int64_t r = a; r < e; r++) k.xentBwdRow(z + r * V, t[r], coef[r], dz + r * V, V);
  });
  return "";
}

}  // namespace rlhf
