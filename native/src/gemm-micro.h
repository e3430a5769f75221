// The per-instruction-set part of our own SGEMM (gemm-kernels.inc fills one of these for each ISA;
// gemm.cc drives it through K().gemm). Layouts, with MR x NR the register block:
//   packed A panel: for k < kc, MR consecutive floats (rows i..i+MR of op(A) at column k), rows past
//                   the matrix edge are zero;
//   packed B panel: for k < kc, NR consecutive floats (columns j..j+NR of op(B) at row k), zero-padded.
#pragma once
#include <cstdint>

namespace rlhf {

struct GemmMicro {
  int mr, nr;       // register block of the microkernel
  int kc, mc, nc;   // cache blocking: kc x nr B panel in L1, mc x kc A block in L2, kc x nc B block in L3

  /**
   * C[m, n] (+)= Ap · Bp for m <= mr, n <= nr: Ap a packed A panel (stride mr per k), B rows `ldb` floats
   * apart (nr for a packed panel, or the row stride of an unpacked row-major B when n == nr), C row
   * stride ldc. acc = 0 overwrites C, 1 adds to it.
   */
  void (*kernel)(int64_t kc, const float* Ap, const float* B, int64_t ldb, float* C, int64_t ldc, int m,
                 int n, int acc);

  /**
   * Packs rows [i0, i0+m) x columns [k0, k0+kc) of op(A) into ceil(m/mr) panels at dst (each mr*kc).
   * A is row-major with row stride lda; trans means op(A) = Aᵀ (A stored [K, M]).
   */
  void (*packA)(const float* A, int64_t lda, bool trans, int64_t i0, int64_t m, int64_t k0, int64_t kc,
                float* dst);

  /** Packs rows [k0, k0+kc) x columns [j0, j0+n) of op(B) into ceil(n/nr) panels (each nr*kc). */
  void (*packB)(const float* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0, int64_t n,
                float* dst);

  /**
   * C[i, j] = sum_k A[i*lda + k] * B[j*ldb + k] for i < m, j < n (both operands K-contiguous: the
   * A @ Bᵀ case), C row stride ldc. Used for skinny products (few rows of A), where packing B costs more
   * than the arithmetic.
   */
  void (*dots)(const float* A, int64_t lda, int64_t m, const float* B, int64_t ldb, int64_t n, int64_t K,
               float* C, int64_t ldc);
};

}  // namespace rlhf
