// DPO's losses (dpo/losses.ts) against values worked out by hand with Math (TRL's formulas), their
// gradients against central finite differences, the pair weighting of rankings, and flat tensor counts.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import type { LossType } from '../../dpo/config.js';
import type { DpoExample } from '../../dpo/data.js';
import { dpoLoss, LossParams, pairIndex, PairIndex } from '../../dpo/losses.js';
import { useBackend } from '../helpers.js';

const logSig = (x: number) => -Math.log1p(Math.exp(-x));
// two pairs: rows 0 > 1 and 2 > 3; the chosen rows hold 2 + 3 tokens
const LOGPS = [-1, -2, -3, -1.5];
const REF = [-1.2, -1.8, -2.5, -2.0];
const LENGTHS = [2, 4, 3, 1];
const PAIRS: PairIndex = { n: 4, winner: [0, 2], loser: [1, 3], weight: [0.5, 0.5], chosenWeight: [1 / 5, 0, 1 / 5, 0] };

/** The loss by hand: the mean over the two pairs of TRL's per-pair formula, plus RPO's α · NLL. */
function byHand(x: number[], p: LossParams): number {
  const r = x.map((v, i) => v - REF[i]);
  const s = p.lossType === 'ipo' || p.lossType === 'sigmoid_norm' ? r.map((v, i) => v / LENGTHS[i]) : r;
  const { beta: b, labelSmoothing: e } = p;
  const per = [s[0] - s[1], s[2] - s[3]].map((d) => {
    switch (p.lossType) {
      case 'sigmoid': return -(1 - e) * logSig(b * d) - e * logSig(-b * d);
      case 'robust': return (-(1 - e) * logSig(b * d) + e * logSig(-b * d)) / (1 - 2 * e);
      case 'hinge': return Math.max(0, 1 - b * d);
      case 'ipo': return (d - 1 / (2 * b)) ** 2;
      case 'sigmoid_norm': return -logSig(b * d);
    }
  });
  const nll = -(x[0] + x[2]) / 5;
  return (per[0] + per[1]) / 2 + (p.rpoAlpha ?? 0) * nll;
}

const lossAt = (x: number[], p: LossParams) => tf.tidy(() => dpoLoss(tf.tensor1d(x), tf.tensor1d(REF), LENGTHS, PAIRS, p).dataSync()[0]);

const CASES: LossParams[] = [
  { lossType: 'sigmoid', beta: 0.5, labelSmoothing: 0, rpoAlpha: null },
  { lossType: 'sigmoid', beta: 0.5, labelSmoothing: 0.1, rpoAlpha: null },
  { lossType: 'robust', beta: 0.5, labelSmoothing: 0.2, rpoAlpha: null },
  { lossType: 'hinge', beta: 0.5, labelSmoothing: 0, rpoAlpha: null },
  { lossType: 'ipo', beta: 0.5, labelSmoothing: 0, rpoAlpha: null },
  { lossType: 'sigmoid_norm', beta: 2, labelSmoothing: 0, rpoAlpha: null },
  { lossType: 'sigmoid', beta: 0.1, labelSmoothing: 0, rpoAlpha: 0.7 },
];

describe('dpo/losses', () => {
  before(useBackend);

  it('sigmoid at β = 0.5: log(1 + e^−0.2) and log(1 + e^0.5), averaged (0.786108)', () => {
    // Δ = (−1 + 1.2) − (−2 + 1.8) = 0.4 and (−3 + 2.5) − (−1.5 + 2) = −1
    expect(lossAt(LOGPS, CASES[0])).to.be.closeTo((Math.log(1 + Math.exp(-0.2)) + Math.log(1 + Math.exp(0.5))) / 2, 1e-6);
    expect(lossAt(LOGPS, CASES[0])).to.be.closeTo(0.786108, 1e-6);
    // ipo's per-token margins: 0.2/2 + 0.2/4 = 0.15 and −0.5/3 − 0.5/1; (Δ − 1)² averaged
    expect(lossAt(LOGPS, CASES[4])).to.be.closeTo(((0.15 - 1) ** 2 + (-0.5 / 3 - 0.5 - 1) ** 2) / 2, 1e-5);
  });

  for (const p of CASES) {
    const name = `${p.lossType}${p.labelSmoothing ? `, ε ${p.labelSmoothing}` : ''}${p.rpoAlpha ? `, rpoAlpha ${p.rpoAlpha}` : ''}`;
    it(`${name}: the value by hand, and the gradient by central differences`, () => {
      expect(lossAt(LOGPS, p)).to.be.closeTo(byHand(LOGPS, p), 1e-5);
      const before = tf.memory().numTensors;
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => dpoLoss(x as tf.Tensor1D, tf.tensor1d(REF), LENGTHS, PAIRS, p))(tf.tensor1d(LOGPS)).dataSync());
      expect(tf.memory().numTensors).to.equal(before);
      const h = 1e-2;
      LOGPS.forEach((_, i) => {
        const up = LOGPS.map((v, j) => (j === i ? v + h : v));
        const down = LOGPS.map((v, j) => (j === i ? v - h : v));
        const fd = (byHand(up, p) - byHand(down, p)) / (2 * h); // float64 differences of the hand formula
        const fd32 = (lossAt(up, p) - lossAt(down, p)) / (2 * h); // and of the tf loss itself
        expect(g[i], `∂/∂logp[${i}]`).to.be.closeTo(fd, 1e-4);
        expect(g[i], `∂/∂logp[${i}] (tf differences)`).to.be.closeTo(fd32, 2e-3);
      });
      // a chosen completion becoming likelier lowers every loss here
      expect(g[0]).to.be.below(0);
    });
  }

  it('robust at ε = 0 and cDPO at ε = 0 are plain DPO; hinge is 0 past the margin 1/β', () => {
    const dpo = lossAt(LOGPS, CASES[0]);
    expect(lossAt(LOGPS, { ...CASES[2], labelSmoothing: 0 })).to.be.closeTo(dpo, 1e-6);
    const far = [10, -10, 10, -10];
    expect(lossAt(far, { ...CASES[3], beta: 1 })).to.equal(0);
  });

  it('a ranking of 3 gives its 3 ordered pairs, sharing the weight of one comparison', () => {
    const ex = (ranking: number[], lens: number[]): DpoExample => ({
      prompt: 'p', completions: lens.map((_, i) => `c${i}`), ranking, where: 't', promptIds: [1], completionIds: lens.map((l) => new Array(l).fill(2)),
    });
    const xs = [ex([2, 0, 1], [1, 2, 3]), ex([1, 0], [4, 5])];
    const p = pairIndex(xs, [0, 3], 5, 2, 3 + 5);
    expect(p.winner).to.deep.equal([2, 2, 0, 4]);
    expect(p.loser).to.deep.equal([0, 1, 1, 3]);
    expect(p.weight.map((w) => +w.toFixed(6))).to.deep.equal([1 / 6, 1 / 6, 1 / 6, 1 / 2].map((w) => +w.toFixed(6)));
    expect(p.chosenWeight).to.deep.equal([0, 0, 1 / 8, 0, 1 / 8]);
  });
});
