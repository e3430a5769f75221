// Instruction-set dispatch. The inner loops (vec-kernels.inc, gemm-kernels.inc) are compiled once per
// instruction set in isa/*.cc, each with its own -m flags, into a table of function pointers; isa.cc
// picks the best table the CPU supports at run time. RLHF_NATIVE_ISA=scalar|avx2|avx512 forces a lower
// one (the tests use it to check every path this machine can run).
#pragma once
#include <cstdint>

namespace rlhf {

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kMax, kMin, kSquaredDiff, kPow };
enum UnaryOp { kExp = 0, kLog, kNeg, kSigmoid, kTanh, kSqrt, kRsqrt, kSquare, kRelu, kAbs, kReciprocal, kGeluTanh, kLog1p, kElu, kSoftplus, kScale };

struct AdamParams {
  float lr, beta1, beta2, eps, decay, bc1, bc2, clip;
};

/** One GEMM block: C[M, N] (+)= A[M, K] @ B[K, N] on packed panels; defined by gemm-kernels.inc. */
struct GemmMicro;

struct Kernels {
  const char* name;
  /** o[i] = a[i*sa] op b[i*sb] for i < n; sa, sb are 0 (broadcast a scalar) or 1. */
  void (*binary)(int op, const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n);
  /** o[i] = f(x[i]); alpha is the op's parameter where it has one (kScale: o = alpha * x). */
  void (*unary)(int op, const float* x, float* o, int64_t n, float alpha);
  float (*sum)(const float* x, int64_t n);
  float (*max)(const float* x, int64_t n);
  float (*min)(const float* x, int64_t n);
  /** Adds x into acc: acc[i] += x[i]. */
  void (*accumulate)(float* acc, const float* x, int64_t n);
  /** Numerically stable softmax of one row. */
  void (*softmaxRow)(const float* x, float* o, int64_t n);
  /** AdamW (torch semantics) on n parameters in place; returns nothing. */
  void (*adamw)(float* w, const float* g, float* m, float* v, int64_t n, const AdamParams& p);
  double (*sumSquares)(const float* x, int64_t n);
  /** The GEMM inner kernel set for this instruction set. */
  const GemmMicro* gemm;

  // Fused rows of the GPT's custom-gradient ops (lm/ops.ts), one pass each instead of 5-10 tfjs kernels.
  /** LayerNorm of one row: xhat = (x - mean) * rstd, y = xhat * g + b; returns rstd. */
  float (*layerNormRow)(const float* x, const float* g, const float* b, float* y, float* xhat, int64_t n, float eps);
  /** dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) with dxhat = dy * g. */
  void (*layerNormBwdRow)(const float* dy, const float* xhat, const float* g, float rstd, float* dx, int64_t n);
  /** GELU (tanh form) backward: dx = dy * d/dx[x·σ(2u)]. */
  void (*geluBwd)(const float* dy, const float* x, float* dx, int64_t n);
  /** p = softmax(s * scale + bias) for one row (bias may be null). */
  void (*attnRow)(const float* s, const float* bias, float scale, float* p, int64_t n);
  /** Decoding attention of one (batch, head) over a KV cache with transposed keys (see vec-kernels.inc). */
  void (*attnDecodeHead)(const float* q, int64_t qs, int64_t T, const float* kT, const float* v, int64_t cap, int64_t hd, int64_t Tk,
                         const float* bias, float scale, float* p, float* y, int64_t ys);
  /** e[i] = exp(l[i] / T - max) in double for a row of logits; returns Σ e and sets *max (sample.cc). */
  double (*softmaxExpRow)(const float* l, int64_t V, double T, double* e, double* max);
  /** ds = scale * p * (dp - Σ dp·p) for one row. */
  void (*attnBwdRow)(const float* dp, const float* p, float scale, float* ds, int64_t n);
  /** Cross-entropy of one row: logsumexp(z) - z[t]. */
  float (*xentRow)(const float* z, int32_t t, int64_t n);
  /** Its gradient row: (softmax(z) - onehot(t)) * c. */
  void (*xentBwdRow)(const float* z, int32_t t, float c, float* dz, int64_t n);

  // The Llama family's fused rows (llama-kernels.inc; drivers in llama-fused.cc).
  /** RMSNorm of one row: y = x * rstd * g with rstd = 1/sqrt(mean(x²) + eps); returns rstd. */
  float (*rmsNormRow)(const float* x, const float* g, float* y, int64_t n, float eps);
  /** dx = rstd * (dy*g - xhat * mean(dy*g*xhat)) with xhat = x * rstd. */
  void (*rmsNormBwdRow)(const float* dy, const float* x, const float* g, float rstd, float* dx, int64_t n);
  /** acc[i] += a[i] * b[i] * s. */
  void (*mulAccumulate)(float* acc, const float* a, const float* b, float s, int64_t n);
  /** y = silu(g) * u. */
  void (*swigluFwd)(const float* g, const float* u, float* y, int64_t n);
  /** dg = dy*u*σ(g)(1 + g(1 - σ(g))), du = dy*silu(g). */
  void (*swigluBwd)(const float* dy, const float* g, const float* u, float* dg, float* du, int64_t n);
  /** Half-split rotary embedding of `heads` rows of width d at one position (tables cos, sin [d]); inverse: by -θ. */
  void (*ropeRows)(const float* x, const float* c, const float* s, float* y, int64_t heads, int64_t d, bool inverse);
};

/** The table in use. */
const Kernels& K();

/** Name of the instruction set in use: avx512, avx2, neon or scalar. */
const char* isaName();

/** Instruction sets this CPU can run, best first (for tests). */
const char* availableIsas();

/** Switch to a named instruction set; false if unknown or unsupported. */
bool setIsa(const char* name);

}  // namespace rlhf
