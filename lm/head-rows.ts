// Per-row statistics of the LM head's logits (the next-token loss; PPO's log-probabilities and entropy),
// computed a slice of rows at a time when the logits would be large, so that no [N, V] float32 tensor is
// ever whole: Qwen's 151,936-token vocabulary makes 512 response tokens' logits 311 MB, and their softmax,
// one-hot and gradient as much again each. Forward keeps only the statistics; backward recomputes each
// slice's logits (one more head product, Liger-kernel style) and accumulates dh and dW slice by slice.
// Small logits take the whole-tensor path, exactly as before (no recompute cost for GPT-2's benchmarks).
import * as tf from '@tensorflow/tfjs';
import { hasFused, runFused } from '../backend/accel.js';
import { crossEntropy, customGrad, headForward, isFrozen, mTm, oneHotF32, tiedHead } from './ops.js';

type T2 = tf.Tensor2D;

/** Logits larger than this many floats (256 MB) are computed in slices of rows. */
export const WHOLE_LOGITS = 64 * 2 ** 20;
/**
 * Floats per slice of logits (64 MB; the slice's softmax and gradient are a few times that). Not smaller:
 * each slice reads the whole head weight (545 MB at Qwen2.5-0.5B's shape), so few, tall slices keep the
 * head's products compute-bound.
 */
const SLICE_LOGITS = 16 * 2 ** 20;

/**
 * What a caller computes from one slice of logits z [n, V]: the rows' statistics [n, k], and dz from their
 * gradient dy [n, k]. `aux` are the caller's other tensors (the targets), handed to both: the backward pass
 * gets the copies tfjs saved for it, since the caller's own may be gone by then (created inside the
 * function being differentiated, they are freed when its forward ends).
 */
export interface RowStats {
  k: number;
  value(z: T2, rows: [number, number], aux: tf.Tensor[]): T2;
  grad(z: T2, rows: [number, number], dy: T2, aux: tf.Tensor[]): T2;
}

/** stats(h @ wᵀ) for h [N, C], w [V, C] -> [N, k], differentiable in h and (unless frozen) w. */
export function headRows(h: T2, w: T2, stats: RowStats, slice = Math.max(1, Math.floor(SLICE_LOGITS / w.shape[0])), aux: tf.Tensor[] = []): T2 {
  const N = h.shape[0];
  const spans: [number, number][] = [];
  for (let a = 0; a < N; a += slice) spans.push([a, Math.min(N, a + slice)]);
  const rowsOf = (x: tf.Tensor, [a, b]: [number, number]) => tf.slice(x, [a, 0], [b - a, -1]) as T2;
  const forward = (hs: T2, ws: T2) => tf.concat(spans.map((r) => tf.tidy(() => stats.value(headForward(rowsOf(hs, r), ws), r, aux))), 0) as T2;
  const backward = (dy: tf.Tensor, hs: T2, ws: T2, wantW: boolean, as: tf.Tensor[]) => tf.tidy(() => {
    const dh: tf.Tensor[] = [];
    let dw: tf.Tensor | null = null;
    for (const r of spans) {
      // one slice's logits, softmax and dz live only inside this tidy
      const [dhr, dwr] = tf.tidy(() => {
        const hr = rowsOf(hs, r);
        const dz = stats.grad(headForward(hr, ws), r, rowsOf(dy, r), as); // [n, V]
        const d = tf.matMul(dz, ws); //                                  [n, C]
        if (!wantW) return [d];
        const part = mTm(dz, hr); //                                     [V, C]
        return [d, dw ? tf.add(dw, part) : part];
      });
      dh.push(dhr);
      if (dwr) {
        dw?.dispose();
        dw = dwr;
      }
    }
    return wantW ? [tf.concat(dh, 0), dw!] : [tf.concat(dh, 0)];
  });
  if (isFrozen(w)) {
    const g = customGrad((h_: tf.Tensor, save: tf.GradSaveFunc) => {
      save([h_, w, ...aux]);
      return { value: forward(h_ as T2, w), gradFunc: (dy: tf.Tensor, [hs, ws, ...as]: tf.Tensor[]) => backward(dy, hs as T2, ws as T2, false, as) };
    });
    return g(h) as T2;
  }
  const f = customGrad((h_: tf.Tensor, w_: tf.Tensor, save: tf.GradSaveFunc) => {
    save([h_, w_, ...aux]);
    return { value: forward(h_ as T2, w_ as T2), gradFunc: (dy: tf.Tensor, [hs, ws, ...as]: tf.Tensor[]) => backward(dy, hs as T2, ws as T2, true, as) };
  });
  return f(h, w) as T2;
}

/** The targets of rows [a, b). */
export function targetRows(targets: tf.Tensor, [a, b]: [number, number]): tf.Tensor1D {
  return tf.slice(targets, [a], [b - a]) as tf.Tensor1D;
}

/** Weighted mean next-token cross-entropy of the head's logits: Σ w·nll / max(Σ w, 1e-12). */
export function headCrossEntropy(h: T2, w: T2, targets: tf.Tensor1D, weights: tf.Tensor1D, slice?: number): tf.Scalar {
  const [N] = h.shape;
  const V = w.shape[0];
  if (slice === undefined && N * V <= WHOLE_LOGITS) return crossEntropy(tiedHead(h, w), targets, weights);
  const nll = headRows(h, w, {
    k: 1,
    value: (z, r, [ts]) => {
      if (hasFused('RlhfXent')) return tf.reshape(runFused('RlhfXent', { logits: z, targets: targetRows(ts, r) })[0], [-1, 1]) as T2;
      const n = r[1] - r[0];
      const idx = tf.stack([tf.range(0, n, 1, 'int32'), targetRows(ts, r)], 1);
      return tf.reshape(tf.sub(tf.logSumExp(z, -1), tf.gatherND(z, idx)), [n, 1]) as T2;
    },
    grad: (z, r, dy, [ts]) => {
      if (hasFused('RlhfXentGrad')) return runFused('RlhfXentGrad', { logits: z, targets: targetRows(ts, r), coef: tf.reshape(dy, [-1]) })[0] as T2;
      return tf.mul(tf.sub(tf.softmax(z), oneHotF32(targetRows(ts, r), V)), dy) as T2;
    },
  }, slice, [targets]); // [N, 1]
  return tf.div(tf.sum(tf.mul(tf.reshape(nll, [-1]), weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;
}
