// Threaded drivers of the fused GPT ops (LayerNorm, GELU backward, attention probabilities,
// cross-entropy): each is one pass over memory where the tfjs composition took 5-10 kernels.
#pragma once
#include <cstdint>
#include <string>

namespace rlhf {

void layerNormFwd(const float* x, const float* g, const float* b, float* y, float* xhat, float* rstd, int64_t N, int64_t C, float eps);
/** dg/db (column sums) only when both are non-null. */
void layerNormBwd(const float* dy, const float* xhat, const float* rstd, const float* g, float* dx, float* dg, float* db, int64_t N, int64_t C);
void geluBwdAll(const float* dy, const float* x, float* dx, int64_t n);
/**
 * p = softmax(s * scale + bias) over rows of n. bias (optional) has `biasGroups` blocks of `tq` rows:
 * row r reads bias block (r / groupRows) % biasGroups, row r % tq.
 */
void attnFwd(const float* s, const float* bias, float* p, int64_t rows, int64_t n, float scale, int64_t groupRows, int64_t biasGroups, int64_t tq);
void attnBwd(const float* dp, const float* p, float* ds, int64_t rows, int64_t n, float scale);
/**
 * Attention of new tokens over a KV cache, for decoding. qkv [B*T, 3C] holds each new token's q, k, v
 * (C = H*hd). Their k and v are first written into the caches, keys transposed kc [B, H, hd, cap] (columns
 * [past, past+T)) and values vc [B, H, cap, hd] (rows [past, past+T)); then y [B*T, C] = softmax(q kᵀ * scale + bias) v over the Tk = past+T cached rows, per
 * (b, h). bias (optional) is [biasB, 1, T, Tk], biasB 1 or B. Each (b, h) is one task: one thread writes
 * its cache rows and reads them back, so the threads never share a row.
 */
void cachedAttn(const float* qkv, float* kc, float* vc, const float* bias, float* y, int64_t B, int64_t T, int64_t H, int64_t hd,
                int64_t past, int64_t cap, float scale, int64_t biasB);
/** nll[i] = logsumexp(z_i) - z_i[t_i]; an error message for a target outside [0, V). */
std::string xentFwd(const float* z, const int32_t* t, float* nll, int64_t N, int64_t V);
std::string xentBwd(const float* z, const int32_t* t, const float* coef, float* dz, int64_t N, int64_t V);

}  // namespace rlhf
