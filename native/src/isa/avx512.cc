// The inner loops compiled for one instruction set (flags in binding.gyp).
#define RLHF_ISA avx512
#include "../vec-kernels.inc"
#include "../gemm-kernels.inc"

namespace rlhf {
namespace avx512 {
const Kernels* kernels() {
  static const Kernels k = {
      "avx512",
      binary, unary, sum, max, min, accumulate, softmaxRow, adamw, sumSquares, gemmMicro(),
      layerNormRow, layerNormBwdRow, geluBwd, attnRow, attnBwdRow, xentRow, xentBwdRow,
  };
  return &k;
}
}  // namespace avx512
}  // namespace rlhf
