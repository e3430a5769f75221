// GRPO's loss as tf ops (it sits inside variableGrads), with TRL's GRPOTrainer semantics. Inputs are
// [B, T] over completion positions of one micro-batch (B completions, right-padded to T); `mask` is 1 on
// the tokens that count (0 on padding, and on every token of a truncated completion when
// maskTruncatedCompletions is on). With ρ_t = exp(log π − log π_old) and A the completion's advantage:
//   ℓ_t = −min(ρ_t·A, clip(ρ_t, 1−ε, 1+ε_high)·A) + β·k3_t,   k3_t = e^{d} − d − 1,  d = log π_ref − log π
// and the loss aggregates ℓ over masked tokens in one of four ways (G_a = gradientAccumulationSteps):
//   grpo:    mean over sequences of (Σ_t ℓ_t / max(n_b, 1)), / G_a        (every sequence counts, even empty)
//   bnpo:    Σ ℓ / max(Σ mask, 1) over the micro-batch, / G_a
//   dr_grpo: Σ ℓ / (B · maxCompletionLength), / G_a
//   dapo:    Σ ℓ / max(numItemsInBatch, 1), numItemsInBatch = Σ mask over every micro-batch of the
//            optimizer step (TRL's num_items_in_batch; no G_a division, the global count already has it)
// so that summing the micro-batches' gradients gives the step's gradient. Clip metrics (TRL's names):
//   low: ρ < 1−ε and A < 0;  high: ρ > 1+ε_high and A > 0;  region: either
//   clip_ratio/{low,high,region}_mean: masked token means over the micro-batch;
//   clip_ratio/low_min, high_max: min / max over sequences of each sequence's masked mean (empty ones skipped).
import * as tf from '@tensorflow/tfjs';

export type GrpoLossType = 'grpo' | 'dr_grpo' | 'dapo' | 'bnpo';

export interface GrpoLossInputs {
  /** [B, T] log π_θ of each completion token, at the sampling temperature: the graph to differentiate. */
  logp: tf.Tensor2D;
  /** [B, T] log π at rollout; null when numIterations is 1 (the ratio is then 1: logp, detached). */
  oldLogp: tf.Tensor2D | null;
  /** [B, T] log π_ref; needed when beta > 0. */
  refLogp: tf.Tensor2D | null;
  /** [B] one advantage per completion. */
  advantages: tf.Tensor1D;
  /** [B, T] 1 on counted tokens. */
  mask: tf.Tensor2D;
  /** [B, T] per-token entropy, for the entropy metric; optional. */
  entropy?: tf.Tensor2D | null;
}

export interface GrpoLossOptions {
  lossType: GrpoLossType;
  /** Lower clip ε: ρ is clipped below at 1 − ε. */
  epsilon: number;
  /** Upper clip ε_high (config epsilonHigh ?? epsilon). */
  epsilonHigh: number;
  /** KL coefficient; 0 adds no KL term (refLogp may be null). */
  beta: number;
  /** dr_grpo's constant. */
  maxCompletionLength: number;
  /** dapo: Σ mask over all micro-batches of this optimizer step. */
  numItemsInBatch: number;
  /** grpo, bnpo, dr_grpo divide by this (1 without accumulation). */
  gradientAccumulationSteps: number;
}

/** The clip metrics, TRL's clip_ratio/*, as scalars. */
export interface ClipMetrics {
  clipLowMean: tf.Scalar;
  clipLowMin: tf.Scalar;
  clipHighMean: tf.Scalar;
  clipHighMax: tf.Scalar;
  clipRegionMean: tf.Scalar;
}

export interface GrpoLossParts extends ClipMetrics {
  /** What to differentiate (already divided for accumulation as above). */
  loss: tf.Scalar;
  /** kl: masked token mean of k3 (null when beta is 0). */
  kl: tf.Scalar | null;
  /** entropy: masked token mean (null without entropy input). */
  entropy: tf.Scalar | null;
}

type GradFn = (...args: unknown[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor[] };

/** x with no gradient flowing back (torch's .detach()); tfjs has no stopGradient. */
export const detach = tf.customGrad(((x: unknown) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
})) as GradFn) as (x: tf.Tensor) => tf.Tensor;

/** Σ x·mask / max(Σ mask, 1): TRL's global masked mean. */
export function tokenMean(x: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/** [B] each row's Σ x·mask / Σ mask; NaN for a row with no counted token. */
function rowMeans(x: tf.Tensor, mask: tf.Tensor): tf.Tensor1D {
  return tf.div(tf.sum(tf.mul(x, mask), 1), tf.sum(mask, 1)) as tf.Tensor1D;
}

/** min or max over the entries that are not NaN; NaN when all are (TRL's nanmin / nanmax). */
export function nanReduce(x: tf.Tensor1D, op: 'min' | 'max'): tf.Scalar {
  const fill = op === 'min' ? Infinity : -Infinity;
  const r = (op === 'min' ? tf.min : tf.max)(tf.where(tf.isNaN(x), tf.fill(x.shape, fill), x));
  return tf.where(tf.isInf(r), tf.scalar(NaN), r) as tf.Scalar;
}

/**
 * Clip metrics for ratio [B, T] (token level) or [B, 1] (sequence level, mask [B, 1] of ones) against
 * advantages A [B, 1]: the low side clips ρ < 1−ε where A < 0, the high side ρ > 1+ε_high where A > 0.
 */
export function clipMetrics(ratio: tf.Tensor, A: tf.Tensor, mask: tf.Tensor, epsilon: number, epsilonHigh: number): ClipMetrics {
  const low = tf.cast(tf.logicalAnd(tf.less(ratio, 1 - epsilon), tf.less(A, 0)), 'float32');
  const high = tf.cast(tf.logicalAnd(tf.greater(ratio, 1 + epsilonHigh), tf.greater(A, 0)), 'float32');
  const region = tf.maximum(low, high);
  return {
    clipLowMean: tokenMean(low, mask),
    clipLowMin: nanReduce(rowMeans(low, mask), 'min'),
    clipHighMean: tokenMean(high, mask),
    clipHighMax: nanReduce(rowMeans(high, mask), 'max'),
    clipRegionMean: tokenMean(region, mask),
  };
}

/** Per-token k3 KL to the reference, e^{d} − d − 1 with d = refLogp − logp (≥ 0; gradient 1 − e^{d}). */
export function k3PerToken(logp: tf.Tensor, refLogp: tf.Tensor): tf.Tensor {
  const d = tf.sub(refLogp, logp);
  return tf.sub(tf.sub(tf.exp(d), d), 1);
}

/** The GRPO loss of one micro-batch and its metrics. Call inside tf.tidy / variableGrads. */
export function grpoLoss(x: GrpoLossInputs, o: GrpoLossOptions): GrpoLossParts {
  const [B] = x.logp.shape;
  if (o.beta !== 0 && !x.refLogp) throw new Error(`grpoLoss: beta is ${o.beta} but no refLogp was given`);
  const A = tf.expandDims(x.advantages, 1); //                                          [B, 1]
  const ratio = tf.exp(tf.sub(x.logp, x.oldLogp ?? detach(x.logp))); //                [B, T]
  const clipped = tf.clipByValue(ratio, 1 - o.epsilon, 1 + o.epsilonHigh);
  let perToken = tf.neg(tf.minimum(tf.mul(ratio, A), tf.mul(clipped, A))); //          [B, T]
  const kl = o.beta !== 0 ? k3PerToken(x.logp, x.refLogp!) : null;
  if (kl) perToken = tf.add(perToken, tf.mul(kl, o.beta));
  const masked = tf.mul(perToken, x.mask);
  const ga = o.gradientAccumulationSteps;
  let loss: tf.Tensor;
  switch (o.lossType) {
    case 'grpo':
      loss = tf.div(tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(x.mask, 1), 1))), ga);
      break;
    case 'bnpo':
      loss = tf.div(tokenMean(perToken, x.mask), ga);
      break;
    case 'dr_grpo':
      loss = tf.div(tf.sum(masked), B * o.maxCompletionLength * ga);
      break;
    case 'dapo':
      loss = tf.div(tf.sum(masked), Math.max(o.numItemsInBatch, 1));
      break;
    default:
      throw new Error(`grpoLoss: unknown lossType ${String(o.lossType)}`);
  }
  return {
    loss: loss as tf.Scalar,
    kl: kl ? tokenMean(kl, x.mask) : null,
    entropy: x.entropy ? tokenMean(x.entropy, x.mask) : null,
    ...clipMetrics(ratio, A, x.mask, o.epsilon, o.epsilonHigh),
  };
}

/** The names, in order, of the values stackLossMetrics gives (TRL's metric names). */
export const LOSS_METRIC_NAMES = ['clip_ratio/low_mean', 'clip_ratio/low_min', 'clip_ratio/high_mean', 'clip_ratio/high_max', 'clip_ratio/region_mean', 'kl', 'entropy'] as const;
export type LossMetricName = (typeof LOSS_METRIC_NAMES)[number];

/** [7] the metrics in LOSS_METRIC_NAMES order (NaN for kl / entropy when absent), to tf.keep in one tensor. */
export function stackLossMetrics(p: ClipMetrics & { kl?: tf.Scalar | null; entropy?: tf.Scalar | null }): tf.Tensor1D {
  const nan = () => tf.scalar(NaN);
  return tf.stack([p.clipLowMean, p.clipLowMin, p.clipHighMean, p.clipHighMax, p.clipRegionMean, p.kl ?? nan(), p.entropy ?? nan()]) as tf.Tensor1D;
}

/** stackLossMetrics' values by name; kl and entropy left out when NaN (absent). */
export function namedLossMetrics(values: ArrayLike<number>): Partial<Record<LossMetricName, number>> {
  const out: Partial<Record<LossMetricName, number>> = {};
  LOSS_METRIC_NAMES.forEach((n, i) => {
    if ((n === 'kl' || n === 'entropy') && Number.isNaN(values[i])) return;
    out[n] = values[i];
  });
  return out;
}
