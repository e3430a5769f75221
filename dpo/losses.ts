// DPO's losses as tf ops, with TRL's formulas (trl/trainer/dpo_trainer.py at f2cd577). Every loss is a
// function of one number per pair, the margin of scores Δ = s(chosen) − s(rejected), where a completion's
// score is its log-ratio s = log π(y|x) − log π_ref(y|x) summed over its tokens (for ipo and sigmoid_norm
// divided by its token count first):
//   sigmoid       −(1−ε) log σ(βΔ) − ε log σ(−βΔ)          (DPO; ε > 0 is cDPO, TRL 0.x's label smoothing)
//   robust        (−(1−ε) log σ(βΔ) + ε log σ(−βΔ)) / (1−2ε)  (rDPO: unbiased when labels flip at rate ε)
//   hinge         max(0, 1 − βΔ)                             (SLiC)
//   ipo           (Δ − 1/(2β))²                              (IPO eq. 17, β = τ; Δ of per-token mean log-ratios)
//   sigmoid_norm  −log σ(βΔ)                                 (DPO on per-token mean log-ratios; with reference
//                                                             none this is SimPO without its margin γ)
// A comparison weighs 1 in the mean and its pairs share that weight (a ranking of K gives K(K−1)/2 pairs,
// InstructGPT's weighting, as the reward model trains): with pairs only, the loss is TRL's mean over pairs.
// The optional SFT term (RPO, TRL 0.x's rpo_alpha) adds α times the NLL of the chosen (top-ranked)
// completions, a mean over their tokens.
// Extending: a tie-aware model (Rao-Kupper, Davidson) is another per-pair function of Δ for pairs marked as
// ties; Plackett-Luce is a per-comparison function of its completions' scores in ranking order. Both read
// the same `scores`, so they slot in beside PAIR_LOSSES without touching the loop.
import * as tf from '@tensorflow/tfjs';
import { comparisonPairs } from '../reward-models/comparisons.js';
import type { LossType } from './config.js';
import type { DpoExample } from './data.js';

export interface LossParams {
  lossType: LossType;
  beta: number;
  labelSmoothing: number;
  rpoAlpha: number | null;
}

/** The pairs of a forward pass: rows of the winner and loser, and each pair's share of the window's mean. */
export interface PairIndex {
  /** Rows (completions) in the forward pass. */
  n: number;
  winner: number[];
  loser: number[];
  weight: number[];
  /** Per row: its share of the window's chosen tokens (the RPO mean), 0 for rows that are not chosen. */
  chosenWeight: number[];
}

/**
 * Pairs of examples whose completions sit at rows offsets[i] ..: every ordered pair of each ranking, weighted
 * 1 / (pairs of its comparison) / `comparisons` (the whole accumulation window, so that the micro-batches'
 * losses add up to the window's mean); the top-ranked completion's tokens weighted 1 / `chosenTokens`.
 */
export function pairIndex(examples: DpoExample[], offsets: number[], n: number, comparisons: number, chosenTokens: number): PairIndex {
  const p: PairIndex = { n, winner: [], loser: [], weight: [], chosenWeight: new Array(n).fill(0) };
  examples.forEach((e, i) => {
    if (!e.ranking) throw new Error(`${e.where}: a tie reached the DPO loss (ties: drop leaves them out)`);
    const pairs = comparisonPairs(e);
    for (const q of pairs) {
      p.winner.push(offsets[i] + q.winner);
      p.loser.push(offsets[i] + q.loser);
      p.weight.push(1 / pairs.length / comparisons);
    }
    p.chosenWeight[offsets[i] + e.ranking[0]] = chosenTokens > 0 ? 1 / chosenTokens : 0;
  });
  return p;
}

/** log σ(x) = −softplus(−x), stable for large |x|, from kernels every backend has. */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  const y = tf.neg(x);
  return tf.neg(tf.add(tf.relu(y), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(y)))))));
}

/** Whether a loss compares per-token mean log-ratios (TRL normalises ipo and sigmoid_norm by length). */
export const lengthNormalised = (t: LossType): boolean => t === 'ipo' || t === 'sigmoid_norm';

/** [N] scores: the log-ratios, divided by each completion's token count (at least 1) where the loss wants it. */
export function scores(logps: tf.Tensor1D, refLogps: tf.Tensor1D, lengths: number[], lossType: LossType): tf.Tensor1D {
  const r = tf.sub(logps, refLogps) as tf.Tensor1D;
  return lengthNormalised(lossType) ? (tf.div(r, tf.tensor1d(lengths.map((l) => Math.max(1, l)))) as tf.Tensor1D) : r;
}

/**
 * [P] Δ = s(winner) − s(loser). A ±1 matrix product rather than a gather: the gather's gradient kernel
 * (UnsortedSegmentSum) is missing on the wasm backend.
 */
export function pairMargins(s: tf.Tensor1D, p: Pick<PairIndex, 'n' | 'winner' | 'loser'>): tf.Tensor1D {
  const P = p.winner.length;
  const sel = new Float32Array(P * p.n);
  for (let k = 0; k < P; k++) {
    sel[k * p.n + p.winner[k]] += 1;
    sel[k * p.n + p.loser[k]] -= 1;
  }
  return tf.reshape(tf.matMul(tf.tensor2d(sel, [P, p.n]), tf.reshape(s, [p.n, 1])), [P]) as tf.Tensor1D;
}

/** Each loss type's per-pair loss [P] of the margins Δ [P]. */
export const PAIR_LOSSES: Record<LossType, (d: tf.Tensor1D, beta: number, eps: number) => tf.Tensor> = {
  sigmoid: (d, beta, eps) => tf.sub(tf.mul(-(1 - eps), logSigmoid(tf.mul(beta, d))), tf.mul(eps, logSigmoid(tf.mul(-beta, d)))),
  robust: (d, beta, eps) => tf.div(tf.add(tf.mul(-(1 - eps), logSigmoid(tf.mul(beta, d))), tf.mul(eps, logSigmoid(tf.mul(-beta, d)))), 1 - 2 * eps),
  hinge: (d, beta) => tf.relu(tf.sub(1, tf.mul(beta, d))),
  ipo: (d, beta) => tf.square(tf.sub(d, 1 / (2 * beta))),
  sigmoid_norm: (d, beta) => tf.neg(logSigmoid(tf.mul(beta, d))),
};

/**
 * The weighted loss of one forward pass: Σ_p w_p ℓ(Δ_p), plus α · NLL of the chosen completions under RPO.
 * logps, refLogps [N] summed over each completion's tokens. Call inside tf.tidy (or variableGrads).
 */
export function dpoLoss(logps: tf.Tensor1D, refLogps: tf.Tensor1D, lengths: number[], p: PairIndex, o: LossParams): tf.Scalar {
  const d = pairMargins(scores(logps, refLogps, lengths, o.lossType), p);
  let loss = tf.sum(tf.mul(PAIR_LOSSES[o.lossType](d, o.beta, o.labelSmoothing), tf.tensor1d(p.weight)));
  if (o.rpoAlpha) loss = tf.add(loss, tf.mul(o.rpoAlpha, tf.neg(tf.sum(tf.mul(logps, tf.tensor1d(p.chosenWeight))))));
  return loss as tf.Scalar;
}
