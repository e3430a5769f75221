// The inner loops compiled for one instruction set (flags in binding.gyp).
#define RLHF_ISA avx2
#include "../vec-kernels.inc"
#include "../gemm-kernels.inc"

namespace rlhf {
namespace avx2 {
const Kernels* kernels() {
  static const Kernels k = {
      "avx2",
      binary, unary, sum, max, min, accumulate, softmaxRow, adamw, sumSquares, gemmMicro(),
      layerNormRow, layerNormBwdRow, geluBwd, attnRow, attnBwdRow, xentRow, xentBwdRow,
  };
  return &k;
}
}  // namespace avx2
}  // namespace rlhf
