// SGEMM driver: our own Goto/BLIS-style blocked product on the thread pool, or the system CBLAS where it
// measured faster (see useBlasFor below). The instruction-set-specific pieces (microkernel, packing, dot
// kernel) come from gemm-kernels.inc through K().gemm, so setIsa switches them too.
//
// Loop nest of one product (own kernel):
//   for jc in N by NC:  for pc in K by KC:  pack B[pc.., jc..] (kc x nc, in L3; shared by the threads)
//     for ic in M by MC (a task per block, spread over the threads):  pack A[ic.., pc..] (mc x kc, in L2)
//       for jr in nc by NR:  for ir in mc by MR:  microkernel (kc x NR panel of B stays in L1)
// Skinny products go other ways: M <= 4 with A @ Bᵀ uses dot products (no packing at all); small M with a
// row-major B reads B in place (no B packing); and M <= MC splits N into column slices, one per task.
// Batches of small products run one whole product per thread.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "blas.h"
#include "gemm-micro.h"
#include "isa.h"
#include "threadpool.h"

namespace rlhf {
namespace {

struct Mat {
  const float* A;
  int64_t lda;
  bool tA;
  const float* B;
  int64_t ldb;
  bool tB;
  float* C;
  int64_t ldc;
  int64_t M, N, K;
};

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// Per-thread packing buffers (64-byte aligned, grown on demand, freed with the thread).
struct Buffers {
  float* p[2] = {nullptr, nullptr};
  size_t cap[2] = {0, 0};
  ~Buffers() {
    std::free(p[0]);
    std::free(p[1]);
  }
  float* get(int slot, int64_t n) {
    size_t bytes = roundUp(std::max<int64_t>(n, 16) * sizeof(float), 64);
    if (cap[slot] < bytes) {
      std::free(p[slot]);
      p[slot] = static_cast<float*>(std::aligned_alloc(64, bytes));
      cap[slot] = bytes;
    }
    return p[slot];
  }
};
thread_local Buffers tls;
constexpr int kSlotA = 0, kSlotB = 1;

// A @ Bᵀ with at most this many rows of A goes to the dot-product kernel.
// Measured (AVX-512, N 8192, K 768): M 8 runs 45-80 GFLOP/s as dots against 25 packed; M 32 runs 55 as dots
// against 70 packed (packing a transposed B costs about 0.75 ns per element here).
constexpr int64_t kDotsMaxM = 16;

void zeroRows(const Mat& o) {
  for (int64_t i = 0; i < o.M; i++) std::memset(o.C + i * o.ldc, 0, o.N * sizeof(float));
}

// Microkernel sweep over one packed A block (mb rows) and columns [j0, j1) of the current B block.
// Bp: packed B block (panel q at Bp + q*nr*kb), or nullptr to read a row-major B in place (Bdirect).
void sweep(const GemmMicro& g, const Mat& o, const float* Ap, const float* Bp, const float* Bdirect,
           int64_t ic, int64_t mb, int64_t jc, int64_t j0, int64_t j1, int64_t pc, int64_t kb) {
  const int mr = g.mr, nr = g.nr;
  const int acc = pc > 0;
  for (int64_t jr = j0; jr < j1; jr += nr) {
    int n = static_cast<int>(std::min<int64_t>(nr, j1 - jr));
    const float* b;
    int64_t ldb;
    if (Bp) {
      b = Bp + (jr / nr) * nr * kb;
      ldb = nr;
    } else if (n == nr) {
      b = Bdirect + pc * o.ldb + jc + jr;
      ldb = o.ldb;
    } else {  // edge panel of an in-place B: pack it (zero-padded)
      float* e = tls.get(kSlotB, nr * kb);
      g.packB(o.B, o.ldb, false, pc, kb, jc + jr, n, e);
      b = e;
      ldb = nr;
    }
    float* c = o.C + ic * o.ldc + jc + jr;
    for (int64_t ir = 0; ir < mb; ir += mr) {
      int m = static_cast<int>(std::min<int64_t>(mr, mb - ir));
      g.kernel(kb, Ap + ir * kb, b, ldb, c + ir * o.ldc, o.ldc, m, n, acc);
    }
  }
}

// One product on the calling thread.
void serial(const GemmMicro& g, const Mat& o) {
  if (o.M <= 0 || o.N <= 0) return;
  if (o.K == 0) return zeroRows(o);
  if (!o.tA && o.tB && o.M <= kDotsMaxM) {
    g.dots(o.A, o.lda, o.M, o.B, o.ldb, o.N, o.K, o.C, o.ldc);
    return;
  }
  const int mr = g.mr, nr = g.nr;
  const int64_t kc = g.kc, mc = g.mc, nc = g.nc;
  // With few rows of A each B panel is used only once or twice: packing it costs more than it saves.
  const bool direct = !o.tB && o.M <= 32;
  float* Ap = tls.get(kSlotA, roundUp(std::min(o.M, mc), mr) * std::min(o.K, kc));
  float* Bp = direct ? nullptr : tls.get(kSlotB, roundUp(std::min(o.N, nc), nr) * std::min(o.K, kc));
  for (int64_t jc = 0; jc < o.N; jc += nc) {
    int64_t nb = std::min(nc, o.N - jc);
    for (int64_t pc = 0; pc < o.K; pc += kc) {
      int64_t kb = std::min(kc, o.K - pc);
      if (!direct) g.packB(o.B, o.ldb, o.tB, pc, kb, jc, nb, Bp);
      for (int64_t ic = 0; ic < o.M; ic += mc) {
        int64_t mb = std::min(mc, o.M - ic);
        g.packA(o.A, o.lda, o.tA, ic, mb, pc, kb, Ap);
        sweep(g, o, Ap, Bp, direct ? o.B : nullptr, ic, mb, jc, 0, nb, pc, kb);
      }
    }
  }
}

// Columns [j0, j1) of a product as a product of its own.
Mat columns(const Mat& o, int64_t j0, int64_t j1) {
  Mat s = o;
  s.B = o.tB ? o.B + j0 * o.ldb : o.B + j0;
  s.C = o.C + j0;
  s.N = j1 - j0;
  return s;
}

// One product on every thread of the pool.
void parallel(const GemmMicro& g, const Mat& o) {
  const int T = numThreads();
  if (o.M <= 0 || o.N <= 0) return;
  const double flops = 2.0 * o.M * o.N * std::max<int64_t>(o.K, 1);
  // Waking the pool's other thread costs tens of µs when it sleeps (generation: a kernel every ~100 µs,
  // JS in between); below ~4 MFLOP (20-30 µs on one core) one thread is faster. Measured on M-shape
  // generation: 2 threads at the old 0.2 MFLOP cut-off ran 563 tokens/s, 1 thread 648.
  if (T == 1 || flops < 4e6) return serial(g, o);
  const int mr = g.mr, nr = g.nr;
  const int64_t kc = g.kc, mc = g.mc, nc = g.nc;

  if (o.M <= mc || o.K == 0) {
    // Column slices, each a product of its own (A is small, so each task packing it costs little).
    int64_t unit = (!o.tA && o.tB && o.M <= kDotsMaxM) ? 8 : nr;
    int64_t units = ceilDiv(o.N, unit);
    int64_t slices = std::min<int64_t>(units, 2 * T);
    int64_t per = ceilDiv(units, slices) * unit;
    slices = ceilDiv(o.N, per);
    parallelFor(slices, 1, [&](int64_t s0, int64_t s1) {
      for (int64_t s = s0; s < s1; s++) serial(g, columns(o, s * per, std::min(o.N, (s + 1) * per)));
    });
    return;
  }

  // M blocks, their count a multiple of the thread count so that the threads finish together.
  int64_t mBlocks = roundUp(ceilDiv(o.M, mc), T);
  int64_t mcEff = roundUp(ceilDiv(o.M, mBlocks), mr);
  mBlocks = ceilDiv(o.M, mcEff);
  float* Bp = tls.get(kSlotB, roundUp(std::min(o.N, nc), nr) * std::min(o.K, kc));
  for (int64_t jc = 0; jc < o.N; jc += nc) {
    int64_t nb = std::min(nc, o.N - jc);
    int64_t panels = ceilDiv(nb, nr);
    for (int64_t pc = 0; pc < o.K; pc += kc) {
      int64_t kb = std::min(kc, o.K - pc);
      parallelFor(panels, 4, [&](int64_t q0, int64_t q1) {
        int64_t j0 = q0 * nr, j1 = std::min(nb, q1 * nr);
        g.packB(o.B, o.ldb, o.tB, pc, kb, jc + j0, j1 - j0, Bp + q0 * nr * kb);
      });
      parallelFor(mBlocks, 1, [&](int64_t t0, int64_t t1) {
        float* Ap = tls.get(kSlotA, mcEff * kb);
        for (int64_t t = t0; t < t1; t++) {
          int64_t ic = t * mcEff, mb = std::min(mcEff, o.M - ic);
          g.packA(o.A, o.lda, o.tA, ic, mb, pc, kb, Ap);
          sweep(g, o, Ap, Bp, nullptr, ic, mb, jc, 0, nb, pc, kb);
        }
      });
    }
  }
}

// ---- The system CBLAS, and when to use it -------------------------------------------------------------
// Process-wide, like the library: worker_threads that load the addon share these.
std::atomic<bool> blasOn{true};

const blas::Library* activeBlas() { return blasOn.load(std::memory_order_relaxed) ? blas::library() : nullptr; }

// One CBLAS call at a time: OpenBLAS builds without USE_LOCKING (and its thread count) are not safe for
// concurrent callers, and two JS threads (worker_threads) may multiply at once.
std::mutex blasMutex;
int blasThreads = 0;  // thread count last given to openblas_set_num_threads (under blasMutex)

// Whether the system CBLAS should run this batch rather than our own kernel. Picked by measurement on this
// machine (2 cores, AMD EPYC Zen 5, shared and noisy host; Debian OpenBLAS 0.3.21, OpenMP, with its SkylakeX
// kernels, see blas.cc; own = best of 7-9 alternating rounds, GFLOP/s, 2 threads):
//   shape                               own avx512  own avx2  own sse2  OpenBLAS
//   1024^3                                   302       173        62       183
//   2048x384 @ 384x1152                      358       199        69       189
//   2048x1536 @ 1536x384                     324       194        67       186
//   384x2048 @ 2048x1152 (transA)            260       155        56       181
//   2048x1152 @ (384x1152)T                  287       168        66       176
//   2048x384 @ (8192x384)T                   314       175        66       182
//   48 x 256x64 @ (256x64)T                  230       162        57        91
//   48 x 256x256 @ 256x64                    194       132        54        94
//   16x768 @ 768x2304                        139        55        27        61
//   192 x 1x64 @ (300x64)T                    15        22        19         7
//   1x768 @ 768x2304                          20        16         5         4
// and on one thread against OpenBLAS's Haswell (AVX2) kernels, the large products tie with own avx2
// (65-101 against 64-100). So:
//   - AVX-512 in use: never (own >= OpenBLAS on every shape; OpenMP's static split also suffers more when
//     another process takes a core, and its spinning threads compete with our pool between calls);
//   - skinny (M or N <= 16), matrix-vector and small products (< 2 MFLOP each): never (one BLAS call per
//     product, each paying its own threading overhead; our dot/in-place paths avoid packing);
//   - AVX2: large single products (batch <= 2, >= 100 MFLOP each), where the two tie here and OpenBLAS
//     carries per-CPU tuning for AVX2 machines we cannot measure;
//   - generic build (SSE2, NEON): everything else, OpenBLAS's kernels being about 3x our portable one.
bool useBlasFor(int64_t batch, int64_t M, int64_t N, int64_t K) {
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || K == 0) return false;
  const char* isa = isaName();
  if (!std::strcmp(isa, "avx512")) return false;
  const double flopsEach = 2.0 * M * N * K;
  if (M <= 16 || N <= 16 || flopsEach < 2e6) return false;
  if (!std::strcmp(isa, "avx2")) return batch <= 2 && flopsEach >= 1e8;
  return true;
}

}  // namespace

const char* blasName() {
  const blas::Library* l = activeBlas();
  return l ? l->name : nullptr;
}

bool setUseBlas(bool on) {
  blasOn = on;
  return activeBlas() != nullptr;
}

void sgemmBatched(int64_t batch, const int64_t* aOff, const int64_t* bOff, bool transA, bool transB,
                  int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const GemmMicro& g = *rlhf::K().gemm;
  auto mat = [&](int64_t b) {
    Mat o;
    o.A = A + (aOff ? aOff[b] : b * M * K);
    o.lda = transA ? M : K;
    o.tA = transA;
    o.B = B + (bOff ? bOff[b] : b * K * N);
    o.ldb = transB ? K : N;
    o.tB = transB;
    o.C = C + b * M * N;
    o.ldc = N;
    o.M = M;
    o.N = N;
    o.K = K;
    return o;
  };
  if (K == 0) {
    std::memset(C, 0, sizeof(float) * batch * M * N);
    return;
  }
  const int T = numThreads();
  if (const blas::Library* l = activeBlas(); l && useBlasFor(batch, M, N, K)) {
    std::lock_guard<std::mutex> lk(blasMutex);
    if (l->setNumThreads && blasThreads != T) {
      l->setNumThreads(T);
      blasThreads = T;
    }
    for (int64_t b = 0; b < batch; b++) {
      Mat o = mat(b);
      l->sgemm(101, transA ? 112 : 111, transB ? 112 : 111, static_cast<int>(M), static_cast<int>(N),
               static_cast<int>(K), 1.0f, o.A, static_cast<int>(o.lda), o.B, static_cast<int>(o.ldb), 0.0f, o.C,
               static_cast<int>(o.ldc));
    }
    return;
  }
  const double flopsEach = 2.0 * M * N * K;
  // A whole product per thread when the batch divides evenly or is large, or the products are small.
  const bool byBatch = T > 1 && batch >= T && (batch % T == 0 || batch >= 4 * T || flopsEach < 8e6);
  if (flopsEach * batch < 4e6) {  // small in all (attention during generation): one thread, as above
    for (int64_t b = 0; b < batch; b++) serial(g, mat(b));
  } else if (byBatch) {
    parallelFor(batch, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; b++) serial(g, mat(b));
    });
  } else {
    for (int64_t b = 0; b < batch; b++) parallel(g, mat(b));
  }
}

}  // namespace rlhf
