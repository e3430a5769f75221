#include "sample.h"

#include <cmath>
#include <vector>

#include "isa.h"
#include "threadpool.h"

namespace rlhf {

void sampleRows(const float* logits, int64_t V, const int32_t* rows, int64_t n, double T, const double* u, int32_t* token, double* logprob) {
  // Tasks of at least ~16K logits: below that one thread is faster than a hand-off.
  const int64_t grain = V >= 16384 ? 1 : 16384 / V;
  const auto& k = K();
  parallelFor(n, grain, [&](int64_t s, int64_t end) {
    thread_local std::vector<double> e;
    if (static_cast<int64_t>(e.size()) < V) e.resize(V);
    for (int64_t j = s; j < end; j++) {
      const float* l = logits + static_cast<int64_t>(rows[j]) * V;
      double max;
      const double sum = k.softmaxExpRow(l, V, T, e.data(), &max);
      const double lse = max + std::log(sum);
      double x = u[j] * sum;
      int64_t pick = -1;
      for (int64_t i = 0; i < V; i++) {
        if (e[i] == 0) continue;
        pick = i;
        x -= e[i];
        if (x < 0) break;
      }
      token[j] = static_cast<int32_t>(pick);
      logprob[j] = pick < 0 ? NAN : static_cast<double>(l[pick]) / T - lse;
    }
  });
}

}  // namespace rlhf
