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
// completions, a mean over their tokens (a tie has no chosen completion).
// Ties and rankings (the `ties` and `rankings` options, reward-models/preference-options.ts):
//   ties equal        a tied pair adds −½ log σ(βΔ) − ½ log σ(−βΔ) (the target-½ sigmoid train-rm's equal
//                     uses; the same under robust and cDPO, whose smoothed target of ½ is ½), or Δ² under
//                     ipo (IPO's target for a preference probability of ½); preferences keep lossType's
//   davidson,         every pair is the negative log-likelihood of its outcome at d = βΔ under the tie
//   rao-kupper        model (reward-models/tie-models.ts): preferences −log P(w ≻ l), ties −log P(w ~ l).
//                     This is DPO-D / DPO-RK of Chen et al. (2024); for lossType sigmoid or sigmoid_norm
//   plackett-luce     a ranking's loss is −log P_PL(τ) of its implicit rewards β·s (the DPO paper's
//                     appendix A.3) times the comparison's weight, instead of its pairs' losses; = sigmoid
//                     for K = 2 (reward-models/plackett-luce.ts)
import * as tf from '@tensorflow/tfjs';
import { comparisonPairs } from '../reward-models/comparisons.js';
import { plackettLuceLoss, RankedRows } from '../reward-models/plackett-luce.js';
import { isTieModel, RankingModel, tieNu, TiePolicy } from '../reward-models/preference-options.js';
import { equalTieLoss, tieNll, winNll } from '../reward-models/tie-models.js';
import type { DpoConfig, LossType } from './config.js';
import type { DpoExample } from './data.js';

export interface LossParams {
  lossType: LossType;
  beta: number;
  labelSmoothing: number;
  rpoAlpha: number | null;
  /** Absent: drop (no ties may reach the loss) and all-pairs. */
  ties?: TiePolicy;
  tieStrength?: number | null;
  rankings?: RankingModel;
}

/** The loss parameters of a config. */
export function lossParams(c: Pick<DpoConfig, 'lossType' | 'beta' | 'labelSmoothing' | 'rpoAlpha' | 'ties' | 'tieStrength' | 'rankings'>): LossParams {
  return { lossType: c.lossType, beta: c.beta, labelSmoothing: c.labelSmoothing, rpoAlpha: c.rpoAlpha, ties: c.ties, tieStrength: c.tieStrength, rankings: c.rankings };
}

/**
 * The pairs of a forward pass: the preference pairs (rows of the winner and loser, each pair's share of the
 * window's mean under all-pairs; the metrics read these), the tied pairs, and each ranking for Plackett-Luce.
 */
export interface PairIndex {
  /** Rows (completions) in the forward pass. */
  n: number;
  winner: number[];
  loser: number[];
  weight: number[];
  /** Tied pairs: their two rows and their share of the window's mean (absent: none). */
  ties?: { a: number[]; b: number[]; weight: number[] };
  /** Each ranking's rows best first, with its comparison's share of the window's mean (absent: none). */
  rankings?: RankedRows[];
  /** Per row: its share of the window's chosen tokens (the RPO mean), 0 for rows that are not chosen. */
  chosenWeight: number[];
}

/**
 * Pairs of examples whose completions sit at rows offsets[i] ..: every ordered pair of each ranking (or
 * unordered pair of a tie), weighted 1 / (pairs of its comparison) / `comparisons` (the whole accumulation
 * window, so that the micro-batches' losses add up to the window's mean), and each ranking whole, weighted
 * 1 / `comparisons`; the top-ranked completion's tokens weighted 1 / `chosenTokens`.
 */
export function pairIndex(examples: DpoExample[], offsets: number[], n: number, comparisons: number, chosenTokens: number): PairIndex {
  const p: PairIndex = { n, winner: [], loser: [], weight: [], ties: { a: [], b: [], weight: [] }, rankings: [], chosenWeight: new Array(n).fill(0) };
  examples.forEach((e, i) => {
    const pairs = comparisonPairs(e);
    for (const q of pairs) {
      const [w, l, share] = [offsets[i] + q.winner, offsets[i] + q.loser, 1 / pairs.length / comparisons];
      if (q.tie) (p.ties!.a.push(w), p.ties!.b.push(l), p.ties!.weight.push(share));
      else (p.winner.push(w), p.loser.push(l), p.weight.push(share));
    }
    if (!e.ranking) return;
    p.rankings!.push({ rows: e.ranking.map((k) => offsets[i] + k), weight: 1 / comparisons });
    p.chosenWeight[offsets[i] + e.ranking[0]] = chosenTokens > 0 ? 1 / chosenTokens : 0;
  });
  return p;
}

/** Tokens of the examples' chosen (top-ranked) completions, the RPO term's mean; a tie has none. */
export function chosenTokenCount(xs: DpoExample[]): number {
  return xs.reduce((a, e) => a + (e.ranking ? e.completionIds[e.ranking[0]].length : 0), 0);
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

/** [P] the loss of each tied pair from its margin Δ [P] (either order: every form is even in Δ). */
function tieLoss(d: tf.Tensor1D, o: LossParams): tf.Tensor {
  const ties = o.ties ?? 'drop';
  if (isTieModel(ties)) return tieNll(tf.mul(o.beta, d), ties, tieNu(ties, o.tieStrength ?? null));
  if (ties === 'equal') return o.lossType === 'ipo' ? tf.square(d) : equalTieLoss(tf.mul(o.beta, d));
  throw new Error(`a tie reached the DPO loss under ties ${ties}`);
}

/**
 * The weighted loss of one forward pass: Σ_p w_p ℓ(Δ_p) over the preference pairs (or, under Plackett-Luce,
 * Σ_c w_c · −log P_PL(τ_c) over the rankings), plus Σ_t w_t ℓ_tie(Δ_t) over the tied pairs, plus α · NLL
 * of the chosen completions under RPO. logps, refLogps [N] summed over each completion's tokens. Call
 * inside tf.tidy (or variableGrads).
 */
export function dpoLoss(logps: tf.Tensor1D, refLogps: tf.Tensor1D, lengths: number[], p: PairIndex, o: LossParams): tf.Scalar {
  const s = scores(logps, refLogps, lengths, o.lossType); //        [N]
  const ties = o.ties ?? 'drop';
  let loss: tf.Tensor = tf.scalar(0);
  if (o.rankings === 'plackett-luce') loss = plackettLuceLoss(tf.mul(o.beta, s) as tf.Tensor1D, p.rankings ?? [], p.n);
  else if (p.winner.length) {
    const d = pairMargins(s, p); //                                  [P]
    const per = isTieModel(ties) ? winNll(tf.mul(o.beta, d), ties, tieNu(ties, o.tieStrength ?? null)) : PAIR_LOSSES[o.lossType](d, o.beta, o.labelSmoothing);
    loss = tf.sum(tf.mul(per, tf.tensor1d(p.weight)));
  }
  if (p.ties?.a.length) {
    const d = pairMargins(s, { n: p.n, winner: p.ties.a, loser: p.ties.b }); // [T]
    loss = tf.add(loss, tf.sum(tf.mul(tieLoss(d, o), tf.tensor1d(p.ties.weight))));
  }
  if (o.rpoAlpha) loss = tf.add(loss, tf.mul(o.rpoAlpha, tf.neg(tf.sum(tf.mul(logps, tf.tensor1d(p.chosenWeight))))));
  return loss as tf.Scalar;
}
