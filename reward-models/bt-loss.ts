// Bradley-Terry loss over the pairs of a batch of comparisons.
//   preference:  −log σ(r_w − r_l − m)                    (m: optional margin)
//   tie:         −½ log σ(d) − ½ log σ(−d),  d = r_w − r_l (minimised at d = 0: equal scores)
// Each comparison weighs 1 in the mean however many pairs it holds (InstructGPT): its pairs share 1/npairs.
// Differences come from a ±1 matrix product rather than a gather, because the gather's gradient kernel
// (UnsortedSegmentSum) is missing on the wasm backend.
import * as tf from '@tensorflow/tfjs';
import { Comparison, comparisonPairs } from './comparisons.js';

/** How tie labels train: left out, or towards equal scores. */
export type TiePolicy = 'drop' | 'equal';

export interface PairBatch {
  /** Number of scored sequences (the rows of the reward vector). */
  n: number;
  /** Per pair: row of the winner and of the loser in the reward vector. */
  winner: number[];
  loser: number[];
  tie: boolean[];
  /** Per pair: its share of the batch mean (sums to 1 over the batch). */
  weight: number[];
  /** Per pair: required gap (config margin + the example's own). */
  margin: number[];
  /** Comparisons that contributed pairs. */
  examples: number;
}

/** Which comparisons train under a tie policy (skips never reach here). */
export function usable(c: Comparison, ties: TiePolicy): boolean {
  return c.ranking !== null || ties === 'equal';
}

/**
 * Pairs of a batch whose completions were scored in order: comparison i's completions occupy rows
 * offsets[i] .. offsets[i] + K_i − 1 of the reward vector.
 */
export function buildPairBatch(cs: Comparison[], offsets: number[], n: number, ties: TiePolicy, margin = 0): PairBatch {
  const b: PairBatch = { n, winner: [], loser: [], tie: [], weight: [], margin: [], examples: 0 };
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
  });
  return b;
}

/** log(1 + eˣ), stable for large |x|, from kernels every backend has. */
function softplus(x: tf.Tensor): tf.Tensor {
  return tf.add(tf.relu(x), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(x))))));
}

/** r_w − r_l per pair: [P]. rewards [N]. Call inside tf.tidy. */
export function pairDiffs(rewards: tf.Tensor1D, b: PairBatch): tf.Tensor1D {
  const P = b.winner.length;
  const sel = new Float32Array(P * b.n);
  for (let p = 0; p < P; p++) {
    sel[p * b.n + b.winner[p]] += 1;
    sel[p * b.n + b.loser[p]] -= 1;
  }
  return tf.reshape(tf.matMul(tf.tensor2d(sel, [P, b.n]), tf.reshape(rewards, [b.n, 1])), [P]) as tf.Tensor1D;
}

/** The weighted Bradley-Terry loss of a batch. rewards [N]. Call inside tf.tidy. */
export function btLoss(rewards: tf.Tensor1D, b: PairBatch): tf.Scalar {
  if (!b.winner.length) throw new Error('btLoss: the batch holds no pairs');
  const d = pairDiffs(rewards, b);
  const isTie = tf.tensor1d(b.tie.map(Number));
  const pref = softplus(tf.neg(tf.sub(d, tf.tensor1d(b.margin))));
  const tie = tf.mul(0.5, tf.add(softplus(d), softplus(tf.neg(d))));
  const perPair = tf.add(tf.mul(tf.sub(1, isTie), pref), tf.mul(isTie, tie));
  return tf.sum(tf.mul(perPair, tf.tensor1d(b.weight))) as tf.Scalar;
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
