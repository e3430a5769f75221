#include "llama-fused.h"

#include <algorithm>
#include <vector>

#include "isa.h"
#include "threadpool.h"

namespace rlhf {
namespace {
int64_t rowGrain(int64_t n) { return std::max<int64_t>(1, 32 * 1024 / std::max<int64_t>(1, n)); }
}  // namespace

void rmsNormFwd(const float* x, const float* g, float* y, float* rstd, int64_t N, int64_t C, float eps) {
  const auto& k = K();
  parallelFor(N, rowGrain(C), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) rstd[r] = k.rmsNormRow(x + r * C, g, y + r * C, C, eps);
  });
}

void rmsNormBwd(const float* dy, const float* x, const float* rstd, const float* g, float* dx, float* dg, int64_t N, int64_t C) {
  const auto& k = K();
  parallelFor(N, rowGrain(C), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) k.rmsNormBwdRow(dy + r * C, x + r * C, g, rstd[r], dx + r * C, C);
  });
  if (!dg) return;
  // Column sums over rows: each part accumulates its own rows, then the parts are added in a fixed order.
  const int parts = static_cast<int>(std::min<int64_t>(numThreads(), std::max<int64_t>(1, N * C / (64 * 1024))));
  std::vector<float> partial(static_cast<size_t>(parts) * C, 0.0f);
  parallelFor(parts, 1, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; p++) {
      float* pg = partial.data() + p * C;
      for (int64_t r = N * p / parts; r < N * (p + 1) / parts; r++) k.mulAccumulate(pg, dy + r * C, x + r * C, rstd[r], C);
    }
  });
  std::fill(dg, dg + C, 0.0f);
  for (int p = 0; p < parts; p++) k.accumulate(dg, partial.data() + p * C, C);
}

void swigluFwdAll(const float* g, const float* u, float* y, int64_t n) {
  const auto& k = K();
  parallelFor(n, 8 * 1024, [&](int64_t s, int64_t e) { k.swigluFwd(g + s, u + s, y + s, e - s); });
}

void swigluBwdAll(const float* dy, const float* g, const float* u, float* dg, float* du, int64_t n) {
  const auto& k = K();
  parallelFor(n, 8 * 1024, [&](int64_t s, int64_t e) { k.swigluBwd(dy + s, g + s, u + s, dg + s, du + s, e - s); });
}

void ropeAll(const float* x, const float* c, const float* s, float* y, int64_t rows, int64_t cosRows, int64_t H, int64_t d, bool inverse) {
  const auto& k = K();
  const int64_t w = H * d;
  parallelFor(rows, rowGrain(w), [&](int64_t a, int64_t e) {
    for (int64_t r = a; r < e; r++) {
      const int64_t t = r % cosRows;
      k.ropeRows(x + r * w, c + t * d, s + t * d, y + r * w, H, d, inverse);
    }
  });
}

void cachedAttnGqa(const float* q, const float* kNew, const float* vNew, float* kc, float* vc, const float* bias, float* y, int64_t B, int64_t T,
                   int64_t H, int64_t Hkv, int64_t hd, int64_t past, int64_t cap, float scale, int64_t biasB) {
  const auto& k = K();
  const int64_t G = H / Hkv, C = H * hd, Ckv = Hkv * hd, Tk = past + T;
  // 1. This call's keys and values into the caches: each (b, KV head) is one task, so no row is shared.
  auto write = [&](int64_t s, int64_t e) {
    for (int64_t bj = s; bj < e; bj++) {
      const int64_t b = bj / Hkv, j = bj % Hkv;
      float* kT = kc + bj * hd * cap;  // [hd, cap] of this (b, j): keys transposed
      float* vj = vc + bj * cap * hd;  // [cap, hd]
      for (int64_t t = 0; t < T; t++) {
        const float* kr = kNew + (b * T + t) * Ckv + j * hd;
        for (int64_t d = 0; d < hd; d++) kT[d * cap + past + t] = kr[d];
        std::copy_n(vNew + (b * T + t) * Ckv + j * hd, hd, vj + (past + t) * hd);
      }
    }
  };
  // 2. Every query head over its group's KV head (they only read the caches now).
  auto heads = [&](int64_t s, int64_t e) {
    thread_local std::vector<float> scratch;
    if (static_cast<int64_t>(scratch.size()) < Tk) scratch.resize(Tk);
    for (int64_t bh = s; bh < e; bh++) {
      const int64_t b = bh / H, h = bh % H, bj = b * Hkv + h / G;
      const float* br = bias ? bias + (b % biasB) * T * Tk : nullptr;
      k.attnDecodeHead(q + b * T * C + h * hd, C, T, kc + bj * hd * cap, vc + bj * cap * hd, cap, hd, Tk, br, scale, scratch.data(),
                       y + b * T * C + h * hd, C);
    }
  };
  // Small caches (under ~1 MB of keys read) on one thread: waking the pool costs more than it saves there.
  if (B * H * Tk * hd < (1 << 18)) {
    write(0, B * Hkv);
    heads(0, B * H);
    return;
  }
  parallelFor(B * Hkv, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, T * hd)), write);
  parallelFor(B * H, 1, heads);
}

}  // namespace rlhf
