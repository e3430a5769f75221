// How well a reward model's Bradley-Terry probabilities match what labelers chose: held-out accuracy and
// a reliability table. Each preference pair is put in a canonical order (lower display position first),
// its predicted win probability is σ(r_first − r_second) on raw scores, and pairs are binned by it.
import { Comparison, comparisonPairs } from './comparisons.js';

export interface ReliabilityBin {
  /** Bin edges of the predicted probability. */
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability that the first completion wins. */
  predicted: number;
  /** Fraction of pairs in which it did. */
  observed: number;
}

export interface Calibration {
  pairs: number;
  /** Pairs where the higher-scored completion is the preferred one. */
  accuracy: number;
  /** Mean −log p(observed outcome). */
  logLoss: number;
  /** Expected calibration error: count-weighted mean |predicted − observed| over bins. */
  ece: number;
  bins: ReliabilityBin[];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** rawScores[i][k]: raw score of comparison i's completion k. Ties carry no preference and are left out. */
export function calibration(cs: Comparison[], rawScores: number[][], nBins = 10): Calibration {
  const bins = Array.from({ length: nBins }, (_, b) => ({ lo: b / nBins, hi: (b + 1) / nBins, count: 0, pSum: 0, wins: 0 }));
  let pairs = 0;
  let correct = 0;
  let nll = 0;
  cs.forEach((c, i) => {
    if (!c.ranking) return;
    for (const p of comparisonPairs(c)) {
      const [first, second] = p.winner < p.loser ? [p.winner, p.loser] : [p.loser, p.winner];
      const firstWon = first === p.winner;
      const prob = sigmoid(rawScores[i][first] - rawScores[i][second]);
      const b = bins[Math.min(nBins - 1, Math.floor(prob * nBins))];
      b.count++;
      b.pSum += prob;
      b.wins += firstWon ? 1 : 0;
      pairs++;
      if (rawScores[i][p.winner] > rawScores[i][p.loser]) correct++;
      nll -= Math.log(Math.max(1e-12, firstWon ? prob : 1 - prob));
    }
  });
  const out = bins.map((b) => ({ lo: b.lo, hi: b.hi, count: b.count, predicted: b.count ? b.pSum / b.count : NaN, observed: b.count ? b.wins / b.count : NaN }));
  const ece = pairs ? out.reduce((a, b) => a + (b.count ? (b.count / pairs) * Math.abs(b.predicted - b.observed) : 0), 0) : NaN;
  return { pairs, accuracy: pairs ? correct / pairs : NaN, logLoss: pairs ? nll / pairs : NaN, ece, bins: out };
}
