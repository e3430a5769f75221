// Drawing tokens from rows of logits: the plain-temperature case of lm/sampling.ts, in double precision
// and the same order of operations, threaded over rows (JavaScript's Math.exp is ~3x slower than glibc's
// exp, and a 16 x 50257 batch of logits takes ~15 ms per token in JS).
#pragma once
#include <cstdint>

namespace rlhf {

/**
 * For each of the n listed rows r of logits [*, V]: token[j] drawn from softmax(logits[r] / T) with the
 * uniform u[j] (walking the unnormalised cumulative sum to u·Σ), and logprob[j] its log-probability.
 */
void sampleRows(const float* logits, int64_t V, const int32_t* rows, int64_t n, double T, const double* u, int32_t* token, double* logprob);

}  // namespace rlhf
