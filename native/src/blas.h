// A system CBLAS loaded at run time (dlopen), so the addon has no link-time BLAS dependency and still
// builds and runs where none is installed. RLHF_NATIVE_BLAS=0 keeps it unloaded.
#pragma once

namespace rlhf {
namespace blas {

/** cblas_sgemm with the CBLAS enums as ints (101 row-major; 111 no-trans, 112 trans) and 32-bit ints. */
typedef void (*SgemmFn)(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A,
                        int lda, const float* B, int ldb, float beta, float* C, int ldc);

struct Library {
  const char* name;                 // the soname that loaded, e.g. "libopenblas.so.0"
  SgemmFn sgemm;
  void (*setNumThreads)(int);       // openblas_set_num_threads, or nullptr
};

/** The loaded library (first call loads it), or nullptr when none could be loaded or it is disabled. */
const Library* library();

}  // namespace blas
}  // namespace rlhf
