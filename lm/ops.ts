// The GPT's building blocks as tf.customGrad ops with hand-written backward passes.
// Why not plain op compositions (see ../shared/tfjs-wasm.md):
//  - tfjs's matMul gradient uses transposed products, which wasm runs in a naive loop; here every
//    product is a plain 2-D matMul with explicit transposes, which reaches XNNPACK.
//  - gather's gradient (UnsortedSegmentSum) has no wasm kernel; the embedding's backward is scatterND.
//  - a composition keeps every intermediate alive until the backward pass; these save only what their
//    backward needs, and every gradFunc body runs inside tf.tidy so its temporaries die at once.
// On the native backend LayerNorm, RMSNorm, GELU, SwiGLU, the attention probabilities and the
// cross-entropy each run as one fused kernel (backend/native-fused.ts); the compositions below serve every
// other backend.
// All ops take the residual stream flattened to rows: x is [N, C] with N = B * T.
import * as tf from '@tensorflow/tfjs';
import { hasFused, runFused, taping } from '../backend/accel.js';

type T2 = tf.Tensor2D;

/**
 * wasm runs transposed matMuls in a naive loop, so there every product is a plain 2-D matMul of explicit
 * transposes. Other backends (native GEMM packs either layout for free, TensorFlow) take the flags:
 * an explicit transpose of the tied head's [V, N] output alone costs a 67 MB strided copy at the M shape.
 */
const wasm = () => tf.getBackend() === 'wasm';
// Whether tfjs is recording a tape (tfjs private state, read in backend/); outside one the ops below
// skip tf.customGrad's bookkeeping and run their forward kernels alone.
export { taping };

/** x @ w + b: one fused kernel off wasm (wasm's fused matMul misses XNNPACK for our layouts). */
function affine(x: T2, w: T2, b: tf.Tensor1D): T2 {
  return wasm() ? (tf.add(tf.matMul(x, w), b) as T2) : (tf.fused.matMul({ a: x, b: w, bias: b }) as T2);
}

/** a @ bᵀ */
function mmT(a: T2, b: T2): T2 {
  return wasm() ? tf.matMul(a, tf.transpose(b)) : tf.matMul(a, b, false, true);
}
/** aᵀ @ b */
export function mTm(a: T2, b: T2): T2 {
  return wasm() ? tf.matMul(tf.transpose(a), b) : tf.matMul(a, b, true, false);
}
type GradResult = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/**
 * tf.customGrad with a signature TypeScript can check: tensors first, then the save function. Outside a
 * gradient tape (generation, rollouts, scoring) only the forward value is computed: no gradient is taken,
 * so tf.customGrad's bookkeeping and the saved tensors would be spent for nothing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function customGrad(f: (...args: any[]) => GradResult): (...xs: tf.Tensor[]) => tf.Tensor {
  const g = tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as (...xs: tf.Tensor[]) => tf.Tensor;
  return (...xs) => (taping() ? g(...xs) : f(...xs, () => {}).value);
}

/**
 * A weight that does not train (a non-trainable tf.Variable, as under LoRA). Ops then differentiate
 * only their input, skipping the weight-gradient products, and keep the weight out of the tape.
 */
export function isFrozen(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && !t.trainable;
}

/** y = x @ w without a bias (the Llama family's projections): x [N, in], w [in, out] -> [N, out]. */
export function project(x: T2, w: T2): T2 {
  if (isFrozen(w)) {
    const g = customGrad((x_: tf.Tensor, save: tf.GradSaveFunc) => {
      save([w]);
      return { value: tf.matMul(x_ as T2, w), gradFunc: (dy: tf.Tensor, [ws]: tf.Tensor[]) => tf.tidy(() => [mmT(dy as T2, ws as T2)]) };
    });
    return g(x) as T2;
  }
  const f = customGrad((x_: tf.Tensor, w_: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x_, w_]);
    return {
      value: tf.matMul(x_ as T2, w_ as T2),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => tf.tidy(() => [
        mmT(dy as T2, ws as T2), // dx = dy @ wᵀ   [N, in]
        mTm(xs as T2, dy as T2), // dw = xᵀ @ dy   [in, out]
      ]),
    };
  });
  return f(x, w) as T2;
}

/**
 * RMSNorm over the last axis (Zhang & Sennrich 2019): x · rstd · g with rstd = 1/√(mean(x²) + eps), for
 * x [N, C], g [C] (also per head, rows of head_dim, for Qwen3's q/k norm). Saves x, rstd [N, 1] and g; the
 * gain's gradient only when it trains.
 */
export function rmsNorm(x: T2, g: tf.Tensor1D, eps: number): T2 {
  // Outside a tape the fused kernel also skips rstd, which only the backward pass reads.
  if (!taping() && hasFused('RlhfRmsNorm')) return runFused('RlhfRmsNorm', { x, g }, { eps, inference: true })[0] as T2;
  const frozen = isFrozen(g);
  const f = customGrad((x_: tf.Tensor, ...rest: unknown[]) => {
    const save = rest.at(-1) as tf.GradSaveFunc;
    const g_ = frozen ? g : (rest[0] as tf.Tensor);
    if (hasFused('RlhfRmsNorm')) {
      const [y, r] = runFused('RlhfRmsNorm', { x: x_, g: g_ }, { eps });
      save([x_, r, g_]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xs, rs, gs]: tf.Tensor[]) => runFused('RlhfRmsNormGrad', { dy, x: xs, rstd: rs, g: gs }, { params: !frozen }),
      };
    }
    const rstd = tf.tidy(() => tf.rsqrt(tf.add(tf.mean(tf.square(x_), -1, true), eps))); // [N, 1]
    save([x_, rstd, g_]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(x_, rstd), g_)),
      // xhat = x·rstd, dxhat = dy·g: dx = rstd (dxhat − xhat · mean(dxhat · xhat)), dg = Σ_rows dy · xhat
      gradFunc: (dy: tf.Tensor, [xs, r, gs]: tf.Tensor[]) => tf.tidy(() => {
        const xhat = tf.mul(xs, r);
        const dxhat = tf.mul(dy, gs);
        const dx = tf.mul(r, tf.sub(dxhat, tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))));
        return frozen ? [dx] : [dx, colSum(tf.mul(dy, xhat))];
      }),
    };
  });
  return (frozen ? f(x) : f(x, g)) as T2;
}

/**
 * SwiGLU's gate (Shazeer 2020): silu(gate) · up, elementwise (same shapes). Saves gate and up; the
 * backward is dgate = dy · up · σ(gate)(1 + gate(1 − σ(gate))), dup = dy · silu(gate).
 */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = customGrad((g_: tf.Tensor, u_: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g_, u_]);
    if (hasFused('RlhfSwiglu')) {
      return {
        value: runFused('RlhfSwiglu', { gate: g_, up: u_ })[0],
        gradFunc: (dy: tf.Tensor, [gs, us]: tf.Tensor[]) => runFused('RlhfSwigluGrad', { dy, gate: gs, up: us }),
      };
    }
    return {
      value: tf.tidy(() => tf.mul(tf.mul(g_, tf.sigmoid(g_)), u_)),
      gradFunc: (dy: tf.Tensor, [gs, us]: tf.Tensor[]) => tf.tidy(() => {
        const s = tf.sigmoid(gs);
        return [tf.mul(tf.mul(dy, us), tf.mul(s, tf.add(1, tf.mul(gs, tf.sub(1, s))))), tf.mul(dy, tf.mul(gs, s))];
      }),
    };
  });
  return f(gate, up);
}

/** Column sums of a 2-D tensor as a [1, N] @ [N, C] product: the wasm Sum kernel is slow along axis 0. */
export function colSum(x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, x.shape[0]]), x as T2), [-1]) as tf.Tensor1D);
}

/** y = x @ w + b with Conv1D's layout: x [N, in], w [in, out], b [out] -> [N, out]. */
export function linear(x: T2, w: T2, b: tf.Tensor1D): T2 {
  if (isFrozen(w) && isFrozen(b)) {
    const g = customGrad((x_: tf.Tensor, save: tf.GradSaveFunc) => {
      save([w]);
      return {
        value: affine(x_ as T2, w, b),
        gradFunc: (dy: tf.Tensor, [ws]: tf.Tensor[]) => tf.tidy(() => [mmT(dy as T2, ws as T2)]),
      };
    });
    return g(x) as T2;
  }
  const f = customGrad((x_: tf.Tensor, w_: tf.Tensor, b_: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x_, w_]);
    return {
      value: affine(x_ as T2, w_ as T2, b_ as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => tf.tidy(() => [
        mmT(dy as T2, ws as T2), // dx = dy @ wᵀ   [N, in]
        mTm(xs as T2, dy as T2), // dw = xᵀ @ dy   [in, out]
        colSum(dy), //                                  db             [out]
      ]),
    };
  });
  return f(x, w, b) as T2;
}

/** Rows of table picked by ids: ids [N] int32, table [V, C] -> [N, C]. Backward sums into rows by scatterND. */
export function embedding(ids: tf.Tensor1D, table: T2): T2 {
  if (isFrozen(table)) return tf.gather(table, ids); // no gradient is taken through it
  const [V, C] = table.shape;
  const f = customGrad((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]); // captured tensors die with the forward scope unless saved
    return {
      value: tf.gather(t, ids),
      // scatterND adds the updates of duplicate indices, which is exactly the embedding gradient.
      gradFunc: (dy: tf.Tensor, [is]: tf.Tensor[]) => tf.tidy(() => [tf.scatterND(tf.reshape(is, [-1, 1]), dy, [V, C])]),
    };
  });
  return f(table) as T2;
}

/** float32 one-hot rows [N, V]. On wasm via int32 and a cast: its OneHot kernel writes integer bits when asked for float32. */
export function oneHotF32(ids: tf.Tensor1D, V: number): T2 {
  return wasm() ? (tf.cast(tf.oneHot(ids, V), 'float32') as T2) : (tf.oneHot(ids, V, 1, 0, 'float32') as T2);
}

/** Tied LM head: x [N, C], wte [V, C] -> logits [N, V]; on wasm as (wte @ xᵀ)ᵀ so XNNPACK packs xᵀ, not wte. */
export function headForward(x: T2, wte: T2): T2 {
  return wasm() ? (tf.transpose(tf.matMul(wte, tf.transpose(x))) as T2) : tf.matMul(x, wte, false, true);
}

export function tiedHead(x: T2, wte: T2): T2 {
  if (isFrozen(wte)) {
    const g = customGrad((x_: tf.Tensor, save: tf.GradSaveFunc) => {
      save([wte]);
      return {
        value: tf.tidy(() => headForward(x_ as T2, wte)),
        gradFunc: (dy: tf.Tensor, [es]: tf.Tensor[]) => tf.tidy(() => [tf.matMul(dy as T2, es as T2)]),
      };
    });
    return g(x) as T2;
  }
  const f = customGrad((x_: tf.Tensor, e_: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x_, e_]);
    return {
      value: tf.tidy(() => headForward(x_ as T2, e_ as T2)),
      gradFunc: (dy: tf.Tensor, [xs, es]: tf.Tensor[]) => tf.tidy(() => [
        tf.matMul(dy as T2, es as T2), //                  dx = dy @ wte   [N, C]
        mTm(dy as T2, xs as T2), //                          dwte = dyᵀ @ x  [V, C]
      ]),
    };
  });
  return f(x, wte) as T2;
}

/** LayerNorm over the last axis: x [N, C], gain g [C], bias b [C]. */
export function layerNorm(x: T2, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): T2 {
  // Outside a tape the fused kernel also skips xhat, which only the backward pass reads.
  if (!taping() && hasFused('RlhfLayerNorm')) return runFused('RlhfLayerNorm', { x, g, b }, { eps, inference: true })[0] as T2;
  const frozen = isFrozen(g) && isFrozen(b);
  const f = customGrad((x_: tf.Tensor, ...rest: unknown[]) => {
    const save = rest.at(-1) as tf.GradSaveFunc;
    const [g_, b_] = frozen ? [g, b] : (rest as tf.Tensor[]);
    if (hasFused('RlhfLayerNorm')) {
      const [y, xh, r] = runFused('RlhfLayerNorm', { x: x_, g: g_, b: b_ }, { eps });
      save([xh, r, g_]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, [xhs, rs, gs]: tf.Tensor[]) => runFused('RlhfLayerNormGrad', { dy, xhat: xhs, rstd: rs, g: gs }, { params: !frozen }),
      };
    }
    const [xhat, rstd] = tf.tidy(() => {
      const xc = tf.sub(x_, tf.mean(x_, -1, true));
      const r = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)); // [N, 1]
      return [tf.mul(xc, r), r];
    });
    save([xhat, rstd, g_]);
    return {
      value: tf.add(tf.mul(xhat, g_), b_),
      gradFunc: (dy: tf.Tensor, [xh, r, gs]: tf.Tensor[]) => tf.tidy(() => {
        const dxhat = tf.mul(dy, gs);
        const dx = tf.mul(r, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))));
        return frozen ? [dx] : [dx, colSum(tf.mul(dy, xh)), colSum(dy)];
      }),
    };
  });
  return (frozen ? f(x) : f(x, g, b)) as T2;
}

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/**
 * GPT-2's GELU, tanh form: 0.5 x (1 + tanh(u)), u = √(2/π) (x + 0.044715 x³), computed as x·σ(2u)
 * (the same function: 0.5 (1 + tanh u) = σ(2u)), because the wasm Sigmoid kernel is faster than Tanh.
 * Saves only x; σ(2u) is recomputed in the backward pass.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const f = customGrad((x_: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x_]);
    if (hasFused('RlhfGelu')) {
      return { value: runFused('RlhfGelu', { x: x_ })[0], gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => runFused('RlhfGeluGrad', { dy, x: xs }) };
    }
    return {
      value: tf.tidy(() => tf.mul(x_, geluGate(x_))),
      gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.tidy(() => {
        const s = geluGate(xs);
        // d/dx x·σ(2u) = σ(2u) + x · 2σ(2u)(1 − σ(2u)) · √(2/π)(1 + 3·0.044715 x²)
        const du = tf.mul(tf.add(tf.mul(tf.square(xs), 3 * GELU_C), 1), 2 * GELU_K);
        return [tf.mul(dy, tf.add(s, tf.mul(tf.mul(xs, tf.mul(s, tf.sub(1, s))), du)))];
      }),
    };
  });
  return f(x);
}

/** σ(2u) with u = √(2/π)(x + c x³); x³ as products, since the wasm Pow kernel is slow. */
function geluGate(x: tf.Tensor): tf.Tensor {
  return tf.sigmoid(tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), GELU_C)), 2 * GELU_K));
}

/**
 * Attention probabilities: softmax(scores * scale + bias) over the last axis.
 * scores [B, H, Tq, Tk]; bias broadcasts to it (0 where allowed, a large negative where masked).
 */
export function attnProbs(scores: tf.Tensor4D, bias: tf.Tensor, scale: number): tf.Tensor4D {
  const [B, , Tq, Tk] = scores.shape;
  const b = bias.shape;
  if (hasFused('RlhfAttnProbs') && b.length === 4 && (b[0] === 1 || b[0] === B) && b[1] === 1 && b[2] === Tq && b[3] === Tk) {
    const g = customGrad((s: tf.Tensor, save: tf.GradSaveFunc) => {
      const p = runFused('RlhfAttnProbs', { scores: s, bias }, { scale })[0];
      save([p]);
      return { value: p, gradFunc: (dp: tf.Tensor, [ps]: tf.Tensor[]) => runFused('RlhfAttnProbsGrad', { dp, p: ps }, { scale }) };
    });
    return g(scores) as tf.Tensor4D;
  }
  const f = customGrad((s: tf.Tensor, save: tf.GradSaveFunc) => {
    const p = tf.tidy(() => tf.softmax(tf.add(tf.mul(s, scale), bias)));
    save([p]);
    return {
      value: p,
      // d scores = scale * p * (dp - Σ dp·p)
      gradFunc: (dp: tf.Tensor, [ps]: tf.Tensor[]) => tf.tidy(() => [
        tf.mul(tf.mul(ps, tf.sub(dp, tf.sum(tf.mul(dp, ps), -1, true))), scale),
      ]),
    };
  });
  return f(scores) as tf.Tensor4D;
}

/**
 * Weighted mean cross-entropy: logits [N, V], targets [N] int32, weights [N] (0 drops a row).
 * Returns Σ w_i (logsumexp_i - logit_i[target_i]) / Σ w_i. Saves the logits, targets and weights.
 */
export function crossEntropy(logits: T2, targets: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  const [N, V] = logits.shape;
  const f = customGrad((z: tf.Tensor, save: tf.GradSaveFunc) => {
    save([z, targets, weights]);
    if (hasFused('RlhfXent')) {
      return {
        value: tf.tidy(() => tf.div(tf.sum(tf.mul(runFused('RlhfXent', { logits: z, targets })[0], weights)), tf.maximum(tf.sum(weights), 1e-12))),
        gradFunc: (dy: tf.Tensor, [zs, ts, ws]: tf.Tensor[]) => tf.tidy(() => {
          const coef = tf.mul(tf.div(ws, tf.maximum(tf.sum(ws), 1e-12)), dy); // [N]
          return runFused('RlhfXentGrad', { logits: zs, targets: ts, coef });
        }),
      };
    }
    const value = tf.tidy(() => {
      const idx = tf.stack([tf.range(0, N, 1, 'int32'), targets], 1); // [N, 2]
      const nll = tf.sub(tf.logSumExp(z, -1), tf.gatherND(z, idx)); //   [N]
      return tf.div(tf.sum(tf.mul(nll, weights)), tf.maximum(tf.sum(weights), 1e-12));
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, [zs, ts, ws]: tf.Tensor[]) => tf.tidy(() => {
        const w = tf.div(ws, tf.maximum(tf.sum(ws), 1e-12)); // [N]
        const g = tf.sub(tf.softmax(zs), oneHotF32(ts as tf.Tensor1D, V));
        return [tf.mul(g, tf.mul(tf.reshape(w, [N, 1]), dy))];
      }),
    };
  });
  return f(logits) as tf.Scalar;
}
