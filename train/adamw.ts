// AdamW with torch's decoupled weight decay, plus global-norm gradient clipping and a NaN/Inf guard.
// tf.train has no AdamW. The moments live in JS Float32Arrays, outside the wasm heap (4 GiB at most,
// never shrinking): for the GPT-2-small shape they alone would take 1 GiB of it. Gradients are read and
// weights updated in place where the backend allows (backend/accel.ts).
//   p ← p − lr·wd·p;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  p ← p − lr · m̂ / (√v̂ + ε)
import * as tf from '@tensorflow/tfjs';
import { readView, vectorMath, writableView } from '../backend/accel.js';

export interface AdamWOptions {
  /** Learning rate; may be changed between steps (schedules set it). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay, applied to the parameters that `decay` selects. */
  weightDecay?: number;
  /** Which parameters decay. Default: matrices and embeddings (rank >= 2), not biases or LayerNorm. */
  decay?: (name: string, shape: number[]) => boolean;
  /** Clip the global gradient norm to this; 0 disables. */
  maxGradNorm?: number;
  /** Per-parameter learning-rate multiplier (a fresh head can learn faster than a pretrained body). */
  lrScale?: (name: string) => number;
}

export class NonFiniteError extends Error {}

export interface StepInfo {
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

export class AdamW {
  opts: Required<AdamWOptions>;
  /** Number of updates applied so far (torch's `step`). */
  t = 0;
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();

  constructor(private readonly params: Map<string, tf.Variable>, opts: AdamWOptions) {
    this.opts = {
      beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 0,
      decay: (_n, shape) => shape.length >= 2, lrScale: () => 1,
      ...opts,
    };
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.size));
      this.v.set(name, new Float32Array(p.size));
    }
  }

  /**
   * Apply one update from grads (name -> gradient, as tf.variableGrads returns them, keyed by the
   * variable's name or by our parameter name). Throws NonFiniteError, changing nothing, if any
   * gradient is NaN or Inf. Does not dispose the grads.
   */
  applyGradients(grads: Record<string, tf.Tensor> | Map<string, tf.Tensor>): StepInfo {
    const g = new Map<string, Float32Array>();
    const lookup = grads instanceof Map ? grads : new Map(Object.entries(grads));
    let sq = 0;
    const native = vectorMath(); // the same update in C++, on all cores
    for (const [name, p] of this.params) {
      const t = lookup.get(name) ?? lookup.get(p.name);
      if (!t) continue; // unused parameter: no gradient, no update (torch skips p.grad is None)
      const d = readView(t);
      if (native) sq += native.sumSquares(d);
      else for (let i = 0; i < d.length; i++) sq += d[i] * d[i];
      g.set(name, d);
    }
    const gradNorm = Math.sqrt(sq);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteError(`gradient norm is ${gradNorm}; update skipped`);
    const { beta1: b1, beta2: b2, eps, weightDecay: wd, maxGradNorm } = this.opts;
    const clip = maxGradNorm > 0 && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
    this.t += 1;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    // Views into tfjs storage stay valid while nothing allocates; the loop below allocates only on
    // backends without views, where readView already returned copies.
    for (const [name, d] of g) {
      const p = this.params.get(name)!;
      const lr = this.opts.lr * this.opts.lrScale(name);
      const view = writableView(p);
      const w = view.data;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const decay = wd > 0 && this.opts.decay(name, p.shape) ? 1 - lr * wd : 1;
      if (native) {
        native.adamw(w, d, m, v, lr, b1, b2, eps, decay, bc1, bc2, clip);
        view.commit();
        continue;
      }
      for (let i = 0; i < w.length; i++) {
        const gi = d[i] * clip;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] = w[i] * decay - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + eps);
      }
      view.commit();
    }
    return { gradNorm };
  }
}
