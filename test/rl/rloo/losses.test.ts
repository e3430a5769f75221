import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { namedLossMetrics, stackLossMetrics } from '../../../rl/grpo/losses.js';
import { rlooLoss } from '../../../rl/rloo/losses.js';
import { useBackend } from '../../helpers.js';

// Three completions, T = 3, per-token log ratios (log π − log π_old); the ratio is per sequence, exp of the
// masked sum: #0 Σ 0.3 → ρ = e^0.3 ≈ 1.35 (A = 1), #1 Σ −0.3 → ρ ≈ 0.74 (A = −0.5; its pad's 2.0 is masked),
// #2 truncated and masked whole → ρ = 1 (A = 2).
const logRatio = [[0.1, 0.1, 0.1], [-0.3, 0, 2], [0.5, 0.5, 0.5]];
const oldRows = [[-1, -2, -0.5], [-3, -1.5, -1], [-2, -2, -2]];
const maskRows = [[1, 1, 1], [1, 1, 0], [0, 0, 0]];
const adv = [1, -0.5, 2];
const logpRows = logRatio.map((r, b) => r.map((x, t) => oldRows[b][t] + x));

function inputs(lp: tf.Tensor) {
  return { logp: lp as tf.Tensor2D, oldLogp: tf.tensor2d(oldRows), advantages: tf.tensor1d(adv), mask: tf.tensor2d(maskRows) };
}

describe('rl/rloo/losses', () => {
  before(useBackend);

  for (const [epsilonHigh, high] of [[0.28, true], [0.4, false]] as const) {
    it(`sequence-level clipping with ε_high = ${epsilonHigh}: value, gradient, per-sequence clip metrics`, () => {
      const before = tf.memory().numTensors;
      const o = { epsilon: 0.2, epsilonHigh, gradientAccumulationSteps: 1 };
      const [loss, m, g] = tf.tidy(() => {
        const p = rlooLoss(inputs(tf.tensor2d(logpRows)), o);
        const grad = tf.grad((lp: tf.Tensor) => rlooLoss(inputs(lp), o).loss)(tf.tensor2d(logpRows));
        return [p.loss.dataSync()[0], namedLossMetrics(stackLossMetrics(p).dataSync()), grad.arraySync() as number[][]];
      });
      const r0 = Math.exp(0.3);
      // #0: −min(ρ, 1.28) when clipped, −ρ otherwise; #1: ρ·A = −0.37 vs 0.8·A = −0.4 → clipped low, ℓ = 0.4; #2: −2
      const l0 = high ? -1.28 : -r0;
      expect(loss).to.be.closeTo((l0 + 0.4 - 2) / 3, 1e-5);
      // d/dlogp_t of −A·ρ = −A·ρ·m_t (ρ is the exp of a masked sum), / B; zero when clipped or masked
      const g0 = high ? 0 : -r0 / 3;
      const want = [[g0, g0, g0], [0, 0, 0], [0, 0, 0]];
      g.forEach((row, b) => row.forEach((x, t) => expect(x, `[${b}][${t}]`).to.be.closeTo(want[b][t], 1e-5)));
      expect(m['clip_ratio/low_mean']).to.be.closeTo(1 / 3, 1e-6);
      expect(m['clip_ratio/low_min']).to.equal(0);
      expect(m['clip_ratio/high_mean']).to.be.closeTo(high ? 1 / 3 : 0, 1e-6);
      expect(m['clip_ratio/high_max']).to.equal(high ? 1 : 0);
      expect(m['clip_ratio/region_mean']).to.be.closeTo(high ? 2 / 3 : 1 / 3, 1e-6);
      expect(tf.memory().numTensors).to.equal(before);
    });
  }

  it('divides by gradientAccumulationSteps; entropy is a masked token mean', () => {
    const before = tf.memory().numTensors;
    const [one, two, ent] = tf.tidy(() => {
      const x = { ...inputs(tf.tensor2d(logpRows)), entropy: tf.tensor2d([[1, 2, 3], [4, 5, 99], [99, 99, 99]]) };
      const a = rlooLoss(x, { epsilon: 0.2, epsilonHigh: 0.2, gradientAccumulationSteps: 1 });
      const b = rlooLoss(x, { epsilon: 0.2, epsilonHigh: 0.2, gradientAccumulationSteps: 2 });
      return [a.loss.dataSync()[0], b.loss.dataSync()[0], a.entropy!.dataSync()[0]];
    });
    expect(two).to.be.closeTo(one / 2, 1e-6);
    expect(ent).to.be.closeTo(3, 1e-6);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
