// The Plackett-Luce likelihood of rankings, for the reward model (rewards r) and DPO (implicit rewards
// β × log-ratio: the DPO paper's ranking form, Rafailov et al. 2023, appendix A.3). A ranking τ of K,
// best first, is K−1 successive choices, each of the best among those left:
//   P(τ) = Π_{k=1..K−1} exp(r_τ(k)) / Σ_{j=k..K} exp(r_τ(j))
//   −log P(τ) = Σ_{k=1..K−1} [ logsumexp_{j≥k} r_τ(j) − r_τ(k) ]
// For K = 2 this is Bradley-Terry's −log σ(r_w − r_l). A comparison's loss is its whole −log P(τ) times its
// weight (so a ranking of 4 is three choice terms where all-pairs splits one weight over six pairs). A
// ranking that lists only some of its completions (JSONL allows it; the label store does not) is a ranking
// of those listed, the others left out, as all-pairs leaves them out.
// Rows are picked with ±1 matrices and masked log-sum-exps rather than gathers: the gather's gradient
// kernel (UnsortedSegmentSum) is missing on the wasm backend.
import * as tf from '@tensorflow/tfjs';

/** One ranking: rows of the reward vector best first, and the comparison's share of the loss. */
export interface RankedRows {
  rows: number[];
  weight: number;
}

/** Far below any reward: exp(r − this) underflows to 0, so masked rows drop out of a log-sum-exp. */
const OUT = 1e9;

/** Σ_c w_c · (−log P(τ_c)) over rankings whose rows index rewards [N]. Call inside tf.tidy. */
export function plackettLuceLoss(rewards: tf.Tensor1D, rankings: RankedRows[], n: number): tf.Scalar {
  // one stage per choice: the row chosen, the rows it was chosen from, the stage's weight
  const stages = rankings.flatMap((k) => k.rows.slice(0, -1).map((row, i) => ({ row, from: k.rows.slice(i), weight: k.weight })));
  if (!stages.length) return tf.scalar(0);
  const S = stages.length;
  const pick = new Float32Array(S * n);
  const away = new Float32Array(S * n).fill(-OUT);
  stages.forEach((s, i) => {
    pick[i * n + s.row] = 1;
    for (const j of s.from) away[i * n + j] = 0;
  });
  const chosen = tf.reshape(tf.matMul(tf.tensor2d(pick, [S, n]), tf.reshape(rewards, [n, 1])), [S]); // [S]
  const pool = tf.add(tf.reshape(rewards, [1, n]), tf.tensor2d(away, [S, n])); //                       [S, N]
  const perStage = tf.sub(tf.logSumExp(pool, 1), chosen); //                                            [S]
  return tf.sum(tf.mul(perStage, tf.tensor1d(stages.map((s) => s.weight)))) as tf.Scalar;
}
