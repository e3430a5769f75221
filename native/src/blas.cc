#include "blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace rlhf {
namespace blas {
namespace {

Library lib{};
bool loaded = false;

void load() {
  if (const char* env = std::getenv("RLHF_NATIVE_BLAS")) {
    if (!std::strcmp(env, "0") || !std::strcmp(env, "false") || !std::strcmp(env, "off")) return;
  }
#if defined(__x86_64__)
  // OpenBLAS before 0.3.22 or so does not know Zen 4/5 and runs its Haswell (AVX2) kernels there, at half
  // the speed (measured 100 vs 188 GFLOP/s on one core for 1024^3). Its SkylakeX kernels need exactly
  // AVX-512 F/CD/BW/DQ/VL, so ask for them when the CPU has those and the user chose nothing. OpenBLAS
  // reads the variable when it is loaded, i.e. in the dlopen below.
  __builtin_cpu_init();
  if (!std::getenv("OPENBLAS_CORETYPE") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  }
#endif
  // OpenBLAS first (it exports cblas_sgemm itself); then the reference/alternative CBLAS sonames.
  for (const char* name : {"libopenblas.so.0", "libopenblas.so", "libcblas.so.3", "libblas.so.3"}) {
    void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    auto fn = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    if (!fn) {
      dlclose(h);
      continue;
    }
    lib.name = name;
    lib.sgemm = fn;
    lib.setNumThreads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
    loaded = true;
    return;
  }
}

}  // namespace

const Library* library() {
  static std::once_flag once;
  std::call_once(once, load);
  return loaded ? &lib : nullptr;
}

}  // namespace blas
}  // namespace rlhf
