// The inner loops compiled for one instruction set (flags in binding.gyp).
#define RLHF_ISA generic
#include "../vec-kernels.inc"
#include "../gemm-kernels.inc"

namespace rlhf {
namespace generic {
const Kernels* kernels() {
  static const Kernels k = {
      
#if defined(__aarch64__)
      "neon",
#else
      "scalar",
#endif
      binary, unary, sum, max, min, accumulate, softmaxRow, adamw, sumSquares, gemmMicro(),
      layerNormRow, layerNormBwdRow, geluBwd, attnRow, attnBwdRow, xentRow, xentBwdRow,
  };
  return &k;
}
}  // namespace generic
}  // namespace rlhf
