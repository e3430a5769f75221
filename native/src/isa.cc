#include "isa.h"

#include <atomic>
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
  static const bool cpuKnown = (__builtin_cpu_init(), true);  // once, whichever thread asks first
  (void)cpuKnown;
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

// The table in use, for the whole process: worker_threads that load the addon share it, and setIsa from
// one of them may race with kernels on another (each kernel reads it once, so it runs on one table).
std::atomic<const Kernels*> current{nullptr};

}  // namespace

const Kernels& K() {
  const Kernels* k = current.load(std::memory_order_acquire);
  if (k) return *k;
  const Kernels* want = best();
  // Keep a table another thread set meanwhile (setIsa, or the same choice made concurrently).
  if (current.compare_exchange_strong(k, want, std::memory_order_acq_rel)) return *want;
  return *k;
}

const char* isaName() { return K().name; }

const char* availableIsas() {
  // Built once (thread-safe static initialisation): the old rebuild on every call raced between threads.
  static const std::string s = [] {
    std::string r;
    for (const char* n : {"avx512", "avx2"}) {
      if (supported(n)) r += std::string(n) + ",";
    }
#if defined(__aarch64__)
    r += "neon";
#else
    r += "scalar";
#endif
    return r;
  }();
  return s.c_str();
}

bool setIsa(const char* name) {
  const Kernels* k = byName(name);
  if (!k) return false;
  current.store(k, std::memory_order_release);
  return true;
}

}  // namespace rlhf
