import { expect } from 'chai';
import { looAdvantages, rlooRewards, sequenceKl } from '../../../rl/rloo/advantages.js';

const close = (got: number[], want: number[], tol = 1e-9) => {
  expect(got).to.have.length(want.length);
  got.forEach((g, i) => expect(g, `index ${i}`).to.be.closeTo(want[i], tol));
};

describe('rl/rloo/advantages', () => {
  it('leave-one-out baseline: b_i is the mean of the other K − 1 rewards of the prompt', () => {
    // K = 3: group {1, 2, 6}: baselines 4, 3.5, 1.5; group {4, 4, 4}: advantage 0, counted as zero std
    const a = looAdvantages([1, 2, 6, 4, 4, 4], 3, false);
    close(a.baselines, [4, 3.5, 1.5, 4, 4, 4]);
    close(a.advantages, [-3, -1.5, 4.5, 0, 0, 0]);
    // the same as K/(K−1) · (r − mean): mean 3
    close(a.advantages.slice(0, 3), [1, 2, 6].map((r) => 1.5 * (r - 3)));
    expect(a.zeroStdGroups).to.equal(1);
    expect(a.fracRewardZeroStd).to.equal(0.5);
  });

  it('normalizeAdvantages: (A − mean A) / (std A + 1e-4) over the batch', () => {
    const a = looAdvantages([1, 2, 6, 4, 4, 4], 3, true);
    // A = [−3, −1.5, 4.5, 0, 0, 0]: mean 0, unbiased variance 31.5 / 5
    const s = Math.sqrt(31.5 / 5);
    close(a.advantages, [-3, -1.5, 4.5, 0, 0, 0].map((x) => x / (s + 1e-4)));
  });

  it('unscorable rewards leave the baseline; a lone scored completion gets 0 (0/0)', () => {
    const a = looAdvantages([NaN, 2, 4, 5, NaN, NaN], 3, false);
    close(a.advantages, [0, -2, 2, 0, 0, 0]);
    close(a.baselines.slice(1, 3), [4, 2]);
    expect(a.zeroStdGroups).to.equal(0);
    // normalisation uses the scored advantages only: {−2, 2}, mean 0, unbiased variance (4 + 4) / 1 = 8
    close(looAdvantages([NaN, 2, 4, 5, NaN, NaN], 3, true).advantages, [0, -2 / (Math.sqrt(8) + 1e-4), 2 / (Math.sqrt(8) + 1e-4), 0, 0, 0]);
  });

  it('the KL is folded into the reward per sequence after the reward clip; NaN stays NaN', () => {
    const r = rlooRewards([7, -1, 3, NaN], { rewardClipRange: [0, 5], beta: 0.1, kl: [2, -1, 0, 1] });
    close(r.slice(0, 3), [5 - 0.2, 0 + 0.1, 3]);
    expect(Number.isNaN(r[3])).to.equal(true);
    expect(rlooRewards([7], { rewardClipRange: null, beta: 0, kl: null })).to.deep.equal([7]);
    expect(() => rlooRewards([1, 2], { rewardClipRange: null, beta: 0.05, kl: [1] })).to.throw(/beta is 0.05 but kl has 1 entries for 2 rewards/);
  });

  it('sequence KL: k1 = log π_old − log π_ref summed over masked tokens (TRL), k3 as an option', () => {
    const old = [[-1, -2], [-0.5, -9]];
    const ref = [[-1.5, -1], [-0.7, 0]];
    const mask = [[1, 1], [1, 0]];
    const k1 = sequenceKl(old, ref, mask);
    close(k1.perSequence, [0.5 - 1, 0.2]);
    expect(k1.meanPerToken).to.be.closeTo(-0.3 / 3, 1e-12);
    const k3 = sequenceKl(old, ref, mask, 'k3');
    close(k3.perSequence, [Math.exp(-0.5) - 0.5 + Math.exp(1) - 2, Math.exp(-0.2) - 0.8]);
  });
});
