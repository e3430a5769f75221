// Node-API entry points of the native backend. Every function works in place on Float32Array /
// Int32Array buffers owned by JS (tfjs-backend-cpu's storage), so no tensor data is copied here.
// Argument checks are cheap and complete (napi-args.h): a wrong or hostile call throws a JS error, it never
// reads or writes out of bounds.
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "gemm.h"
#include "napi-args.h"
#include "isa.h"
#include "ops.h"
#include "threadpool.h"

namespace {
using rlhf::Args;
using rlhf::kMaxRank;
using rlhf::undefinedValue;

// matmul(a, b, out, batch, M, N, K, transA, transB, aOffsets[], bOffsets[])
napi_value MatMul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t batch = a.count(3, "batch"), M = a.count(4, "M"), N = a.count(5, "N"), K = a.count(6, "K");
  bool tA = a.flag(7), tB = a.flag(8);
  std::vector<int64_t> ao = a.counts(9, "aOffsets"), bo = a.counts(10, "bOffsets");
  if (!a.failed && (static_cast<int64_t>(ao.size()) != batch || static_cast<int64_t>(bo.size()) != batch)) return a.range("matmul: offsets must have one entry per batch");
  const int64_t mk = a.size("matmul a (M x K)", {M, K}), kn = a.size("matmul b (K x N)", {K, N});
  const int64_t mn = a.size("matmul out (batch x M x N)", {batch, M, N});
  int64_t aMax = 0, bMax = 0;
  for (int64_t o : ao) aMax = std::max(aMax, a.add("matmul aOffsets", o, mk));
  for (int64_t o : bo) bMax = std::max(bMax, a.add("matmul bOffsets", o, kn));
  const float* A = a.f32(0, aMax, "matmul a");
  const float* B = a.f32(1, bMax, "matmul b");
  float* C = a.f32(2, mn, "matmul out");
  if (a.failed) return nullptr;
  rlhf::sgemmBatched(batch, ao.data(), bo.data(), tA, tB, M, N, K, A, B, C);
  return undefinedValue(env);
}

// biasActivation(y, bias|null, rows, cols, act)
napi_value BiasActivation(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(2, "rows"), cols = a.count(3, "cols"), act = a.count(4, "activation");
  if (!a.failed && act > 4) return a.range("activation: unknown (" + std::to_string(act) + ")");
  const int64_t n = a.size("y (rows x cols)", {rows, cols});
  float* y = a.f32(0, n, "y");
  napi_valuetype t = napi_undefined;
  if (a.argc > 1) napi_typeof(env, a.argv[1], &t);
  const float* bias = t == napi_null || t == napi_undefined ? nullptr : a.f32(1, cols, "bias");
  if (a.failed) return nullptr;
  // Nothing to do for an empty y; returning here also keeps 2^53 rows of 0 columns from looping 2^53 times.
  if (n > 0) rlhf::biasActivation(y, bias, rows, cols, static_cast<int>(act));
  return undefinedValue(env);
}

// binary(op, a, aStrides[], b, bStrides[], out, outShape[])
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t op = a.count(0, "op");
  if (!a.failed && op > rlhf::kPow) return a.range("binary: unknown op (" + std::to_string(op) + ")");
  std::vector<int64_t> as = a.counts(2, "aStrides"), bs = a.counts(4, "bStrides"), shape = a.counts(6, "outShape");
  const int rank = static_cast<int>(shape.size());
  if (!a.failed && (shape.size() > kMaxRank || as.size() != shape.size() || bs.size() != shape.size())) {
    return a.range("binary: aStrides, bStrides and outShape must have one rank, at most " + std::to_string(kMaxRank));
  }
  // The inner loop reads the last axis contiguously or as one broadcast value (binaryLoop, vec-kernels.inc).
  if (!a.failed && rank > 0 && (as[rank - 1] > 1 || bs[rank - 1] > 1)) return a.range("binary: the last axis's strides must be 0 or 1");
  const int64_t aSpan = a.span("binary a", shape, as, 0), bSpan = a.span("binary b", shape, bs, 0);
  const int64_t n = a.size("binary outShape", shape);
  const float* x = a.f32(1, aSpan, "binary a");
  const float* y = a.f32(3, bSpan, "binary b");
  float* out = a.f32(5, n, "binary out");
  if (a.failed) return nullptr;
  if (n > 0) rlhf::binaryBroadcast(static_cast<int>(op), x, as.data(), y, bs.data(), out, shape.data(), rank);
  return undefinedValue(env);
}

// unary(op, x, out, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t op = a.count(0, "op");
  if (!a.failed && op > rlhf::kScale) return a.range("unary: unknown op (" + std::to_string(op) + ")");
  double alpha = a.argc > 3 ? a.num(3, "alpha") : 0;
  float* x = a.f32(1, 0, "unary x");
  const int64_t n = a.length(1);
  float* out = a.f32(2, n, "unary out");
  if (a.failed) return nullptr;
  rlhf::unaryAll(static_cast<int>(op), x, out, n, static_cast<float>(alpha));
  return undefinedValue(env);
}

// reduce(op, x, out, outer, inner)
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t op = a.count(0, "op"), outer = a.count(3, "outer"), inner = a.count(4, "inner");
  if (!a.failed && op > 3) return a.range("reduce: unknown op (" + std::to_string(op) + ")");
  const float* x = a.f32(1, a.size("reduce x (outer x inner)", {outer, inner}), "reduce x");
  float* out = a.f32(2, outer, "reduce out");
  if (a.failed) return nullptr;
  rlhf::reduceRows(static_cast<int>(op), x, out, outer, inner);
  return undefinedValue(env);
}

// softmax(x, out, rows, cols)
napi_value Softmax(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(2, "rows"), cols = a.count(3, "cols");
  const int64_t n = a.size("softmax (rows x cols)", {rows, cols});
  const float* x = a.f32(0, n, "softmax x");
  float* out = a.f32(1, n, "softmax out");
  if (a.failed) return nullptr;
  if (n > 0) rlhf::softmaxRows(x, out, rows, cols);
  return undefinedValue(env);
}

// copy(x, out, outShape[], inStrides[], offset): strided copy (transpose, slice, tile)
napi_value Copy(napi_env env, napi_callback_info info) {
  Args a(env, info);
  std::vector<int64_t> shape = a.counts(2, "outShape"), strides = a.counts(3, "inStrides");
  int64_t offset = a.count(4, "offset");
  const int rank = static_cast<int>(shape.size());
  if (!a.failed && (shape.size() > kMaxRank || strides.size() != shape.size())) {
    return a.range("copy: outShape and inStrides must have one rank, at most " + std::to_string(kMaxRank));
  }
  const int64_t span = a.span("copy x", shape, strides, offset), n = a.size("copy outShape", shape);
  const float* x = a.f32(0, span, "copy x");
  float* out = a.f32(1, n, "copy out");
  if (a.failed) return nullptr;
  rlhf::stridedCopy(x, out, shape.data(), strides.data(), offset, rank);
  return undefinedValue(env);
}

// gather(x, ids, out, outer, axisDim, inner)
napi_value Gather(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t outer = a.count(3, "outer"), axisDim = a.count(4, "axisDim"), inner = a.count(5, "inner");
  const int32_t* ids = a.i32(1, 0, "gather ids");
  const int64_t n = a.length(1);
  const float* x = a.f32(0, a.size("gather x (outer x axisDim x inner)", {outer, axisDim, inner}), "gather x");
  const int64_t size = a.size("gather out (outer x ids x inner)", {outer, n, inner});
  float* out = a.f32(2, size, "gather out");
  if (a.failed) return nullptr;
  // An empty out still has its ids checked, but copies nothing (not outer x ids empty rows).
  const std::vector<int32_t> idv = rlhf::snapshot(ids, n);
  std::string err = rlhf::gather(x, idv.data(), out, size ? outer : 0, axisDim, inner, n);
  if (!err.empty()) return a.range(err);
  return undefinedValue(env);
}

// segmentSum(updates, ids, out, rows, inner): out must be zeros
napi_value SegmentSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t rows = a.count(3, "rows"), inner = a.count(4, "inner");
  const int32_t* ids = a.i32(1, 0, "scatter ids");
  const int64_t n = a.length(1);
  const float* upd = a.f32(0, a.size("scatter updates (ids x inner)", {n, inner}), "scatter updates");
  float* out = a.f32(2, a.size("scatter out (rows x inner)", {rows, inner}), "scatter out");
  if (a.failed) return nullptr;
  const std::vector<int32_t> idv = rlhf::snapshot(ids, n);
  std::string err = rlhf::segmentSum(upd, idv.data(), out, n, rows, inner);
  if (!err.empty()) return a.range(err);
  return undefinedValue(env);
}

// adamw(w, g, m, v, lr, beta1, beta2, eps, decayFactor, bc1, bc2, clip)
napi_value AdamW(napi_env env, napi_callback_info info) {
  Args a(env, info);
  rlhf::AdamParams p;
  p.lr = static_cast<float>(a.num(4, "lr"));
  p.beta1 = static_cast<float>(a.num(5, "beta1"));
  p.beta2 = static_cast<float>(a.num(6, "beta2"));
  p.eps = static_cast<float>(a.num(7, "eps"));
  p.decay = static_cast<float>(a.num(8, "decay"));
  p.bc1 = static_cast<float>(a.num(9, "bc1"));
  p.bc2 = static_cast<float>(a.num(10, "bc2"));
  p.clip = static_cast<float>(a.num(11, "clip"));
  float* w = a.f32(0, 0, "adamw weights");
  const int64_t len = a.length(0);
  const float* g = a.f32(1, len, "adamw grads");
  float* m = a.f32(2, len, "adamw m");
  float* v = a.f32(3, len, "adamw v");
  if (a.failed) return nullptr;
  rlhf::adamwAll(w, g, m, v, len, p);
  return undefinedValue(env);
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float* x = a.f32(0, 0, "sumSquares x");
  if (a.failed) return nullptr;
  napi_value r;
  napi_create_double(env, rlhf::sumSquaresAll(x, a.length(0)), &r);
  return r;
}

napi_value str(napi_env env, const char* s) {
  napi_value v;
  if (s) napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  return v;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value o, threads;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "isa", str(env, rlhf::isaName()));
  napi_set_named_property(env, o, "isas", str(env, rlhf::availableIsas()));
  napi_set_named_property(env, o, "blas", str(env, rlhf::blasName()));
  napi_create_int32(env, rlhf::numThreads(), &threads);
  napi_set_named_property(env, o, "threads", threads);
  return o;
}

// Threads beyond this are surely a mistake, and each one costs a stack: a pool of 2^31 would abort Node.
constexpr int64_t kMaxThreads = 1024;

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t n = a.count(0, "threads");
  if (!a.failed && n > kMaxThreads) return a.range("threads: at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(n));
  if (a.failed) return nullptr;
  rlhf::setNumThreads(static_cast<int>(n));
  return undefinedValue(env);
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a(env, info);
  char name[32] = {0};
  size_t len;
  if (a.argc < 1 || napi_get_value_string_utf8(env, a.argv[0], name, sizeof name, &len) != napi_ok) return a.type("setIsa: expected a name");
  napi_value r;
  napi_get_boolean(env, rlhf::setIsa(name), &r);
  return r;
}

napi_value SetUseBlas(napi_env env, napi_callback_info info) {
  Args a(env, info);
  napi_value r;
  napi_get_boolean(env, rlhf::setUseBlas(a.flag(0)), &r);
  return r;
}

/**
 * glibc returns every block above 128 KiB to the OS on free (mmap/munmap), so each new tensor-sized
 * buffer page-faults afresh, which costs ~20 us per 4 KiB page on this kind of VM (a 2 MB buffer:
 * 2-10 ms to allocate and touch vs 0.2 ms with the settings below, measured). Keep freed blocks in the
 * heap instead. Applies to the whole process (a training process), so it runs once however many
 * worker threads load the addon; RLHF_NATIVE_MALLOC=0 leaves glibc as is.
 */
void tuneMalloc() {
#ifdef __GLIBC__
  const char* env = std::getenv("RLHF_NATIVE_MALLOC");
  if (env && std::strcmp(env, "0") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
#endif
}

/**
 * allocBuffer(bytes): an ArrayBuffer in its own 2 MiB-aligned mapping marked MADV_HUGEPAGE, for the
 * backend's large pooled buffers. Touching fresh memory costs ~17 us per 4 KiB page on this kind of VM;
 * with transparent huge pages (mode "madvise" here) one fault maps 2 MiB: touching 64 MB took 6-7 ms
 * instead of 275-330 ms (measured). Unmapped when the ArrayBuffer is collected; V8 is told its size.
 */
constexpr size_t kHuge = 2u << 20;
// kCreating: inside napi_create_external_arraybuffer, whose failure path (a size over the Node's buffer
// limit) may call the finalizer right away, or later; kLive: in `mappings`; kReleased: unmapped by
// releaseBuffer; kOrphan: creation failed and a finalizer is still due, which unmaps it.
enum class MapState { kCreating, kLive, kReleased, kOrphan };
struct Mapping { void* base; size_t len; MapState state; bool finalized; };
// Live mappings by their data pointer, so releaseBuffer can find a buffer's mapping. One map for the
// process: each worker thread that loads the addon has its own Node environment, and finalizers run on
// each environment's thread, so every access holds mappingsMutex.
std::mutex mappingsMutex;
std::unordered_map<void*, Mapping*> mappings;

void unmapBuffer(napi_env env, void* data, void* hint) {
  auto* m = static_cast<Mapping*>(hint);
  MapState state;
  {
    std::lock_guard<std::mutex> lk(mappingsMutex);
    state = m->state;
    if (state == MapState::kCreating) {
      m->finalized = true;  // AllocBuffer cleans up
      return;
    }
    if (state == MapState::kLive) {
      auto it = mappings.find(data);
      if (it != mappings.end() && it->second == m) mappings.erase(it);
    }
  }
  if (state == MapState::kLive) {
    int64_t adjusted;
    napi_adjust_external_memory(env, -static_cast<int64_t>(m->len), &adjusted);
  }
  if (state != MapState::kReleased) munmap(m->base, m->len);
  delete m;
}

napi_value AllocBuffer(napi_env env, napi_callback_info info) {
  Args a(env, info);
  int64_t bytes = a.count(0, "bytes");
  if (a.failed) return nullptr;
  size_t len = (static_cast<size_t>(bytes) + kHuge - 1) / kHuge * kHuge + kHuge;  // room to align
  void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return a.fail("allocBuffer: out of memory");
  char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(uintptr_t)(kHuge - 1));
#ifdef MADV_HUGEPAGE
  madvise(aligned, len - (aligned - static_cast<char*>(base)), MADV_HUGEPAGE);
#endif
  auto* m = new Mapping{base, len, MapState::kCreating, false};
  napi_value ab;
  const bool created = napi_create_external_arraybuffer(env, aligned, static_cast<size_t>(bytes), unmapBuffer, m, &ab) == napi_ok;
  bool finalized;
  {
    std::lock_guard<std::mutex> lk(mappingsMutex);
    finalized = m->finalized;
    m->state = created ? MapState::kLive : MapState::kOrphan;
    if (created) mappings[aligned] = m;
  }
  if (!created) {
    if (finalized) {  // the finalizer already ran (and left the mapping to us); none is due any more
      munmap(base, len);
      delete m;
    }
    // Node throws its own RangeError for a size over its buffer limit; replace it with one naming the argument.
    napi_value pending;
    bool thrown = false;
    if (napi_is_exception_pending(env, &thrown) == napi_ok && thrown) napi_get_and_clear_last_exception(env, &pending);
    return a.range("allocBuffer: bytes: cannot make an ArrayBuffer of " + std::to_string(bytes) + " bytes here");
  }
  int64_t adjusted;
  napi_adjust_external_memory(env, static_cast<int64_t>(len), &adjusted);
  return ab;
}

/**
 * releaseBuffer(ab): detach an ArrayBuffer made by allocBuffer and unmap its memory now, instead of when
 * V8 collects it. Node runs such finalizers from the event loop, so a synchronous training loop never
 * freed the buffers the pool let go: GPT-2 small grew by 2.2 GB per step (measured). The caller must
 * hold the only references (the backend's pool guarantees it); after detaching, any view reads as
 * empty rather than touching unmapped memory. Returns false for a buffer that is not ours.
 */
napi_value ReleaseBuffer(napi_env env, napi_callback_info info) {
  Args a(env, info);
  void* data = nullptr;
  size_t bytes = 0;
  bool is = false;
  napi_value r;
  if (a.argc < 1 || napi_is_arraybuffer(env, a.argv[0], &is) != napi_ok || !is ||
      napi_get_arraybuffer_info(env, a.argv[0], &data, &bytes) != napi_ok) {
    return a.type("releaseBuffer: expected an ArrayBuffer");
  }
  Mapping* m = nullptr;
  {
    // Mark it released before detaching: the finalizer may run inside the detach, and then only deletes
    // the record (m must not be touched after a successful detach). The lock is not held across the
    // detach, since that finalizer takes it.
    std::lock_guard<std::mutex> lk(mappingsMutex);
    auto it = mappings.find(data);
    if (it != mappings.end()) {
      m = it->second;
      m->state = MapState::kReleased;
      mappings.erase(it);
    }
  }
  bool ok = false;
  if (m) {
    void* base = m->base;
    size_t len = m->len;
    ok = napi_detach_arraybuffer(env, a.argv[0]) == napi_ok;
    if (ok) {
      int64_t adjusted;
      napi_adjust_external_memory(env, -static_cast<int64_t>(len), &adjusted);
      munmap(base, len);
    } else {
      std::lock_guard<std::mutex> lk(mappingsMutex);
      m->state = MapState::kLive;
      mappings[data] = m;
    }
  }
  napi_get_boolean(env, ok, &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  static std::once_flag mallocTuned;
  std::call_once(mallocTuned, tuneMalloc);
  const struct { const char* name; napi_callback fn; } fns[] = {
      {"matmul", rlhf::guarded<MatMul>}, {"biasActivation", rlhf::guarded<BiasActivation>}, {"binary", rlhf::guarded<Binary>},
      {"unary", rlhf::guarded<Unary>}, {"reduce", rlhf::guarded<Reduce>}, {"softmax", rlhf::guarded<Softmax>},
      {"copy", rlhf::guarded<Copy>}, {"gather", rlhf::guarded<Gather>}, {"segmentSum", rlhf::guarded<SegmentSum>},
      {"adamw", rlhf::guarded<AdamW>}, {"sumSquares", rlhf::guarded<SumSquares>}, {"info", rlhf::guarded<Info>},
      {"setThreads", rlhf::guarded<SetThreads>}, {"setIsa", rlhf::guarded<SetIsa>}, {"setUseBlas", rlhf::guarded<SetUseBlas>},
      {"allocBuffer", rlhf::guarded<AllocBuffer>}, {"releaseBuffer", rlhf::guarded<ReleaseBuffer>},
  };
  for (const auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  rlhf::registerFused(env, exports);
  rlhf::registerLlamaFused(env, exports);
  return exports;
}

}  // namespace

// Context-aware registration: Node calls the initialiser once per environment (the main thread and each
// worker_thread that loads the addon). Nothing here is per-environment: the thread pool, the instruction-set
// table, the CBLAS handle and the buffer map are process-wide and thread-safe (threadpool.cc, isa.cc,
// gemm.cc, blas.cc, mappings above), and the functions hold no napi references.
NAPI_MODULE_INIT() { return Init(env, exports); }
