// Single-precision matrix products for the native backend: a system CBLAS (OpenBLAS) when one can be
// loaded at run time, otherwise our own blocked, packed kernel on the thread pool.
#pragma once
#include <cstdint>

namespace rlhf {

/**
 * For b < batch: C[b] = op(A)[M, K] @ op(B)[K, N], row-major, C overwritten and contiguous [batch, M, N].
 * op(A) is A or Aᵀ (A stored [K, M] when transA); likewise B ([N, K] when transB).
 * aOff[b] / bOff[b] are the offsets (in floats) of the b-th A / B matrix, so broadcast batches repeat an
 * offset. Null aOff/bOff mean b * M * K / b * K * N.
 */
void sgemmBatched(int64_t batch, const int64_t* aOff, const int64_t* bOff, bool transA, bool transB,
                  int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C);

/** The CBLAS library in use ("libopenblas.so.0"), or nullptr when our own kernel runs. */
const char* blasName();

/** Turn the system CBLAS off (false) or back on; returns whether one is in use afterwards. */
bool setUseBlas(bool on);

}  // namespace rlhf
