// The reward model's loss over the pairs and rankings of a batch of comparisons (d = r_w − r_l):
//   preference:  −log σ(d − m)                  (m: optional margin; Bradley-Terry)
//                −log P(w ≻ l | d − m)          (ties davidson / rao-kupper: that model's win probability)
//   tie:         −½ log σ(d) − ½ log σ(−d)      (ties equal: minimised at d = 0, equal scores)
//                −log P(w ~ l | d)              (ties davidson / rao-kupper; reward-models/tie-models.ts)
//   ranking:     −log P_PL(τ)                   (rankings plackett-luce, instead of its ordered pairs;
//                                                reward-models/plackett-luce.ts)
//   centering:   + coef · mean over pairs of (r_w + r_l)²  (TRL's center_rewards_coefficient, Eisenstein et
//                al. 2023 eq. 2: pushes rewards towards mean zero; with K > 2 over a comparison's pairs)
// Each comparison weighs 1 in the mean however many pairs it holds (InstructGPT): its pairs share 1/npairs.
// Differences come from a ±1 matrix product rather than a gather, because the gather's gradient kernel
// (UnsortedSegmentSum) is missing on the wasm backend.
import * as tf from '@tensorflow/tfjs';
import { Comparison, comparisonPairs } from './comparisons.js';
import { plackettLuceLoss, RankedRows } from './plackett-luce.js';
import { isTieModel, RankingModel, tieNu, TiePolicy } from './preference-options.js';
import { equalTieLoss, softplus, tieNll, winNll } from './tie-models.js';

export type { TiePolicy } from './preference-options.js';

export interface PairBatch {
  /** Number of scored sequences (the rows of the reward vector). */
  n: number;
  /** How the batch's ties train (drop: there are none). */
  ties: TiePolicy;
  /** Per pair: row of the winner and of the loser in the reward vector. */
  winner: number[];
  loser: number[];
  tie: boolean[];
  /** Per pair: its share of the batch mean (sums to 1 over the batch). */
  weight: number[];
  /** Per pair: required gap (config margin + the example's own). */
  margin: number[];
  /** Per ranking comparison: its rows best first and its share of the batch mean (Plackett-Luce). */
  rankings: RankedRows[];
  /** Comparisons that contributed pairs. */
  examples: number;
}

/** The loss options besides the ties of the batch. */
export interface RmLossOptions {
  tieStrength: number | null;
  rankings: RankingModel;
  centerRewardsCoefficient: number | null;
}

export const BT_ALL_PAIRS: RmLossOptions = { tieStrength: null, rankings: 'all-pairs', centerRewardsCoefficient: null };

/** Which comparisons train under a tie policy (skips never reach here). */
export function usable(c: Comparison, ties: TiePolicy): boolean {
  return c.ranking !== null || ties !== 'drop';
}

/**
 * Pairs of a batch whose completions were scored in order: comparison i's completions occupy rows
 * offsets[i] .. offsets[i] + K_i − 1 of the reward vector.
 */
export function buildPairBatch(cs: Comparison[], offsets: number[], n: number, ties: TiePolicy, margin = 0): PairBatch {
  const b: PairBatch = { n, ties, winner: [], loser: [], tie: [], weight: [], margin: [], rankings: [], examples: 0 };
  const used = cs.filter((c) => usable(c, ties)).length;
  cs.forEach((c, i) => {
    if (!usable(c, ties)) return;
    const pairs = comparisonPairs(c);
    b.examples++;
    for (const p of pairs) {
      b.winner.push(offsets[i] + p.winner);
      b.loser.push(offsets[i] + p.loser);
      b.tie.push(p.tie);
      b.weight.push(1 / pairs.length / used);
      b.margin.push(p.tie ? 0 : margin + (c.margin ?? 0));
    }
    if (c.ranking) b.rankings.push({ rows: c.ranking.map((k) => offsets[i] + k), weight: 1 / used });
  });
  return b;
}

/** r_w − r_l per pair: [P]. rewards [N]. Call inside tf.tidy. */
export function pairDiffs(rewards: tf.Tensor1D, b: PairBatch): tf.Tensor1D {
  return pairCombination(rewards, b, -1);
}

/** r_w + sign · r_l per pair [P]. */
function pairCombination(rewards: tf.Tensor1D, b: PairBatch, sign: 1 | -1): tf.Tensor1D {
  const P = b.winner.length;
  const sel = new Float32Array(P * b.n);
  for (let p = 0; p < P; p++) {
    sel[p * b.n + b.winner[p]] += 1;
    sel[p * b.n + b.loser[p]] += sign;
  }
  return tf.reshape(tf.matMul(tf.tensor2d(sel, [P, b.n]), tf.reshape(rewards, [b.n, 1])), [P]) as tf.Tensor1D;
}

/**
 * The weighted loss of a batch. rewards [N]. Call inside tf.tidy. Without options: Bradley-Terry over all
 * pairs, ties (where the batch has them) towards equal scores.
 */
export function btLoss(rewards: tf.Tensor1D, b: PairBatch, o: RmLossOptions = BT_ALL_PAIRS): tf.Scalar {
  if (!b.winner.length) throw new Error('btLoss: the batch holds no pairs');
  const model = isTieModel(b.ties) ? b.ties : null;
  const nu = model ? tieNu(model, o.tieStrength) : 0;
  const pl = o.rankings === 'plackett-luce';
  if (pl && b.margin.some((m, p) => m !== 0 && !b.tie[p])) throw new Error('btLoss: rankings plackett-luce takes no margins (config margin 0, and no "margin" in the data)');
  const d = pairDiffs(rewards, b);
  const isTie = tf.tensor1d(b.tie.map(Number));
  // preference pairs: none under Plackett-Luce, whose rankings carry them
  const prefWeight = tf.tensor1d(b.weight.map((w, p) => (b.tie[p] || pl ? 0 : w)));
  const shifted = tf.sub(d, tf.tensor1d(b.margin));
  const pref = model ? winNll(shifted, model, nu) : softplus(tf.neg(shifted));
  const tie = model ? tieNll(d, model, nu) : equalTieLoss(d);
  let loss = tf.add(tf.sum(tf.mul(pref, prefWeight)), tf.sum(tf.mul(tie, tf.mul(isTie, tf.tensor1d(b.weight)))));
  if (pl) loss = tf.add(loss, plackettLuceLoss(rewards, b.rankings, b.n));
  if (o.centerRewardsCoefficient) loss = tf.add(loss, tf.mul(o.centerRewardsCoefficient, tf.sum(tf.mul(tf.square(pairCombination(rewards, b, 1)), tf.tensor1d(b.weight)))));
  return loss as tf.Scalar;
}

export interface PairStats {
  /** Preference pairs the model orders correctly (ties excluded), and how many there were. */
  correct: number;
  total: number;
  /** Sum of r_w − r_l over preference pairs. */
  marginSum: number;
}

/** Accuracy counts from reward values (plain numbers, after data()). */
export function pairStats(rewards: ArrayLike<number>, b: PairBatch): PairStats {
  const s: PairStats = { correct: 0, total: 0, marginSum: 0 };
  for (let p = 0; p < b.winner.length; p++) {
    if (b.tie[p]) continue;
    const d = rewards[b.winner[p]] - rewards[b.loser[p]];
    s.total++;
    s.marginSum += d;
    if (d > 0) s.correct++;
  }
  return s;
}
