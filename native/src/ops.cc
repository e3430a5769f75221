#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "threadpool.h"

namespace rlhf {
namespace {
// Below about this many elements a kernel runs on the calling thread: a pool hand-off costs a few µs.
constexpr int64_t kGrain = 32 * 1024;

int64_t rowGrain(int64_t inner) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)); }
}  // namespace

void binaryBroadcast(int op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides,
                     float* out, const int64_t* outShape, int rank) {
  const auto& k = K();
  if (rank == 0) {
    k.binary(op, a, 0, b, 0, out, 1);
    return;
  }
  const int64_t inner = outShape[rank - 1];
  const int64_t sa = aStrides[rank - 1], sb = bStrides[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= outShape[d];
  if (rows == 1) {
    parallelFor(inner, kGrain, [&](int64_t s, int64_t e) {
      k.binary(op, a + (sa ? s : 0), sa, b + (sb ? s : 0), sb, out + s, e - s);
    });
    return;
  }
  parallelFor(rows, rowGrain(inner), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t ao = 0, bo = 0, rem = r;
      for (int d = rank - 2; d >= 0; d--) {
        int64_t i = rem % outShape[d];
        rem /= outShape[d];
        ao += i * aStrides[d];
        bo += i * bStrides[d];
      }
      k.binary(op, a + ao, sa, b + bo, sb, out + r * inner, inner);
    }
  });
}

void unaryAll(int op, const float* x, float* out, int64_t n, float alpha) {
  const auto& k = K();
  parallelFor(n, kGrain / 4, [&](int64_t s, int64_t e) { k.unary(op, x + s, out + s, e - s, alpha); });
}

void reduceRows(int op, const float* x, float* out, int64_t outer, int64_t inner) {
  const auto& k = K();
  parallelFor(outer, rowGrain(inner), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      const float* row = x + r * inner;
      switch (op) {
        case 0: out[r] = k.sum(row, inner); break;
        case 1: out[r] = inner ? k.sum(row, inner) / static_cast<float>(inner) : NAN; break;
        case 2: out[r] = k.max(row, inner); break;
        default: out[r] = k.min(row, inner); break;
      }
    }
  });
}

void softmaxRows(const float* x, float* out, int64_t rows, int64_t cols) {
  const auto& k = K();
  parallelFor(rows, rowGrain(cols), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) k.softmaxRow(x + r * cols, out + r * cols, cols);
  });
}

void stridedCopy(const float* x, float* out, const int64_t* outShape, const int64_t* inStrides, int64_t offset, int rank) {
  int64_t n = 1;
  for (int d = 0; d < rank; d++) n *= outShape[d];
  if (n == 0) return;
  if (rank == 0) {
    out[0] = x[offset];
    return;
  }
  const int64_t cols = outShape[rank - 1];
  const int64_t colStride = inStrides[rank - 1];
  const int64_t rows = n / cols;
  // One output row (all axes but the last) at a time: a memcpy when the input is contiguous along the
  // last axis (slices, head splits), a strided gather otherwise (true transposes).
  parallelFor(rows, rowGrain(cols), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t off = offset, rem = r;
      for (int d = rank - 2; d >= 0; d--) {
        off += (rem % outShape[d]) * inStrides[d];
        rem /= outShape[d];
      }
      float* o = out + r * cols;
      const float* xi = x + off;
      if (colStride == 1) {
        std::memcpy(o, xi, cols * sizeof(float));
      } else {
        for (int64_t c = 0; c < cols; c++) o[c] = xi[c * colStride];
      }
    }
  });
}

std::string gather(const float* x, const int32_t* ids, float* out, int64_t outer, int64_t axisDim, int64_t inner, int64_t nIds) {
  for (int64_t i = 0; i < nIds; i++) {
    if (ids[i] < 0 || ids[i] >= axisDim) {
      return "gather: index " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is outside [0, " +
             std::to_string(axisDim) + ")";
    }
  }
  parallelFor(outer * nIds, rowGrain(inner), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t o = r / nIds, i = r % nIds;
      std::memcpy(out + r * inner, x + (o * axisDim + ids[i]) * inner, inner * sizeof(float));
    }
  });
  return "";
}

std::string segmentSum(const float* upd, const int32_t* ids, float* out, int64_t nIds, int64_t rows, int64_t inner) {
  for (int64_t i = 0; i < nIds; i++) {
    if (ids[i] < 0 || ids[i] >= rows) {
      return "scatter: index " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is outside [0, " +
             std::to_string(rows) + ")";
    }
  }
  const auto& k = K();
  // Each thread owns a range of output rows and scans every index: no two threads write one row.
  int parts = std::min<int64_t>(numThreads(), std::max<int64_t>(1, nIds * inner / kGrain));
  parallelFor(parts, 1, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; p++) {
      int64_t lo = rows * p / parts, hi = rows * (p + 1) / parts;
      for (int64_t i = 0; i < nIds; i++) {
        if (ids[i] >= lo && ids[i] < hi) k.accumulate(out + ids[i] * inner, upd + i * inner, inner);
      }
    }
  });
  return "";
}

void biasActivation(float* y, const float* bias, int64_t rows, int64_t cols, int act) {
  const auto& k = K();
  static const int unaryOf[] = {-1, kRelu, kSigmoid, kElu, kGeluTanh};
  parallelFor(rows, rowGrain(cols), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      float* row = y + r * cols;
      if (bias) k.binary(kAdd, row, 1, bias, 1, row, cols);
      if (act > 0) k.unary(unaryOf[act], row, row, cols, 0);
    }
  });
}

void adamwAll(float* w, const float* g, float* m, float* v, int64_t n, const AdamParams& p) {
  const auto& k = K();
  parallelFor(n, kGrain, [&](int64_t s, int64_t e) { k.adamw(w + s, g + s, m + s, v + s, e - s, p); });
}

double sumSquaresAll(const float* x, int64_t n) {
  const auto& k = K();
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(64, n / kGrain));
  std::vector<double> partial(parts, 0.0);
  parallelFor(parts, 1, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; p++) partial[p] = k.sumSquares(x + n * p / parts, n * (p + 1) / parts - n * p / parts);
  });
  double t = 0;
  for (double v : partial) t += v;
  return t;
}

}  // namespace rlhf
