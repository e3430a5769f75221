// Threaded drivers of the Llama family's fused ops (RMSNorm, SwiGLU, rotary embeddings, and decoding
// attention with grouped-query heads over an in-place KV cache). Rows are in llama-kernels.inc, per ISA.
#pragma once
#include <cstdint>

namespace rlhf {

/** y = x * rstd * g per row of C, rstd [N] = 1/sqrt(mean(x²) + eps). */
void rmsNormFwd(const float* x, const float* g, float* y, float* rstd, int64_t N, int64_t C, float eps);
/** dx from dy, the forward's input x and rstd; dg (column sums of dy * x * rstd) only when dg is non-null. */
void rmsNormBwd(const float* dy, const float* x, const float* rstd, const float* g, float* dx, float* dg, int64_t N, int64_t C);
/** y = silu(g) * u over n elements. */
void swigluFwdAll(const float* g, const float* u, float* y, int64_t n);
void swigluBwdAll(const float* dy, const float* g, const float* u, float* dg, float* du, int64_t n);
/**
 * Rotary embedding of x [rows, H, d] (half-split), row r at table row r % cosRows of cos, sin [cosRows, d]
 * (x [B, T, H, d] with tables [B or 1, T, 1, d]: rows = B*T, cosRows = B*T or T). inverse: rotation by -θ.
 */
void ropeAll(const float* x, const float* c, const float* s, float* y, int64_t rows, int64_t cosRows, int64_t H, int64_t d, bool inverse);
/**
 * Decoding attention with grouped-query heads over a KV cache holding only the Hkv KV heads. q [B*T, H*hd]
 * (already rotated), k, v [B*T, Hkv*hd] (k already rotated) are this call's tokens: k and v are first
 * written into the caches, keys transposed kc [B, Hkv, hd, cap] (columns [past, past+T)) and values
 * vc [B, Hkv, cap, hd] (rows [past, past+T)); then query head h of batch b attends over KV head h / (H/Hkv)'s
 * Tk = past+T positions: y [B*T, H*hd] = softmax(q kᵀ * scale + bias) v. bias (optional) [biasB, 1, T, Tk].
 * H must be a multiple of Hkv (checked by the caller).
 */
void cachedAttnGqa(const float* q, const float* k, const float* v, float* kc, float* vc, const float* bias, float* y, int64_t B, int64_t T,
                   int64_t H, int64_t Hkv, int64_t hd, int64_t past, int64_t cap, float scale, int64_t biasB);

}  // namespace rlhf
