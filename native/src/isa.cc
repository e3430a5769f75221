#include "isa.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace rlhf {
namespace generic { const Kernels* kernels(); }
#ifdef RLHF_X64
namespace avx2 { const Kernels* kernels(); }
namespace avx512 { const Kernels* kernels(); }
#endif

namespace {

bool supported(const char* name) {
  if (!std::strcmp(name, "scalar") || !std::strcmp(name, "neon")) return true;  // generic build is NEON on arm64
#ifdef RLHF_X64
  __builtin_cpu_init();
  if (!std::strcmp(name, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!std::strcmp(name, "avx512")) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  }
#endif
  return false;
}

const Kernels* byName(const char* name) {
  if (!supported(name)) return nullptr;
#ifdef RLHF_X64
  if (!std::strcmp(name, "avx512")) return avx512::kernels();
  if (!std::strcmp(name, "avx2")) return avx2::kernels();
#endif
  return generic::kernels();
}

const Kernels* best() {
  if (const char* env = std::getenv("RLHF_NATIVE_ISA")) {
    if (const Kernels* k = byName(env)) return k;
  }
  for (const char* n : {"avx512", "avx2"}) {
    if (const Kernels* k = byName(n)) return k;
  }
  return generic::kernels();
}

const Kernels* current = nullptr;

}  // namespace

const Kernels& K() {
  if (!current) current = best();
  return *current;
}

const char* isaName() { return K().name; }

const char* availableIsas() {
  static std::string s;
  s.clear();
  for (const char* n : {"avx512", "avx2"}) {
    if (supported(n)) s += std::string(n) + ",";
  }
#if defined(__aarch64__)
  s += "neon";
#else
  s += "scalar";
#endif
  return s.c_str();
}

bool setIsa(const char* name) {
  const Kernels* k = byName(name);
  if (!k) return false;
  current = k;
  return true;
}

}  // namespace rlhf
