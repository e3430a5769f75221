// Threaded drivers of the kernels: broadcasting, strided rows, transposes and index bounds live here;
// the per-instruction-set inner loops they call live in vec-kernels.inc (through K()).
#pragma once
#include <cstdint>
#include <string>

#include "isa.h"

namespace rlhf {

constexpr int kMaxRank = 8;

/** out = a op b with broadcasting; shapes already merged; strides in elements, 0 on broadcast axes. */
void binaryBroadcast(int op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
                     float* out, const int64_t* outShape, int rank);
void unaryAll(int op, const float* x, float* out, int64_t n, float alpha);
/** Reduce rows of a [outer, inner] matrix: 0 sum, 1 mean, 2 max, 3 min. */
void reduceRows(int op, const float* x, float* out, int64_t outer, int64_t inner);
void softmaxRows(const float* x, float* out, int64_t rows, int64_t cols);
/** out[i0..ik] = x[offset + Σ i_d · inStrides[d]]: transposes, slices and broadcasts (stride 0) alike. */
void stridedCopy(const float* x, float* out, const int64_t* outShape, const int64_t* inStrides, int64_t offset, int rank);
/** out[o, i, :] = x[o, ids[i], :]; returns an error message for an index out of [0, axisDim). */
std::string gather(const float* x, const int32_t* ids, float* out, int64_t outer, int64_t axisDim, int64_t inner, int64_t nIds);
/** out[ids[i], :] += upd[i, :] (out zeroed by the caller); ids outside [0, rows) are an error. */
std::string segmentSum(const float* upd, const int32_t* ids, float* out, int64_t nIds, int64_t rows, int64_t inner);
/** Rows of y[rows, cols] += bias[cols] (bias may be null), then activation: 0 none, 1 relu, 2 sigmoid, 3 elu, 4 gelu-tanh. */
void biasActivation(float* y, const float* bias, int64_t rows, int64_t cols, int act);
void adamwAll(float* w, const float* g, float* m, float* v, int64_t n, const AdamParams& p);
double sumSquaresAll(const float* x, int64_t n);

}  // namespace rlhf
