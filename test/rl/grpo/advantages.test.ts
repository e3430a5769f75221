import { expect } from 'chai';
import { combineRewards, groupAdvantages } from '../../../rl/grpo/advantages.js';

const close = (got: number[], want: number[], tol = 1e-9) => {
  expect(got).to.have.length(want.length);
  got.forEach((g, i) => expect(g, `index ${i}`).to.be.closeTo(want[i], tol));
};

describe('rl/grpo/advantages', () => {
  // two prompts of G = 4: a spread group (mean 2.5, unbiased std √(5/3)) and an all-equal one
  const rewards = [1, 2, 3, 4, 5, 5, 5, 5];
  const centred = [-1.5, -0.5, 0.5, 1.5];

  it('group: (r − group mean) / (group std + 1e-4); an all-equal group gets 0 and is counted', () => {
    const a = groupAdvantages(rewards, 4, 'group');
    const s = Math.sqrt(5 / 3);
    close(a.advantages, [...centred.map((x) => x / (s + 1e-4)), 0, 0, 0, 0]);
    close(a.groupMean, [2.5, 5]);
    close(a.groupStd, [s, 0]);
    expect(a.zeroStdGroups).to.equal(1);
    expect(a.fracRewardZeroStd).to.equal(0.5);
  });

  it('batch: the mean stays per group, the scale is the std of the whole batch', () => {
    const a = groupAdvantages(rewards, 4, 'batch');
    // batch mean 3.75, squared deviations sum to 17.5, unbiased variance 17.5 / 7 = 2.5
    const s = Math.sqrt(2.5);
    expect(a.batchStd).to.be.closeTo(s, 1e-12);
    close(a.advantages, [...centred.map((x) => x / (s + 1e-4)), 0, 0, 0, 0]);
    expect(a.zeroStdGroups).to.equal(0);
    expect(a.fracRewardZeroStd).to.equal(0);
    // every reward equal: the batch std is 0, so every group counts
    const flat = groupAdvantages([2, 2, 2, 2], 2, 'batch');
    close(flat.advantages, [0, 0, 0, 0]);
    expect(flat.zeroStdGroups).to.equal(2);
    expect(flat.fracRewardZeroStd).to.equal(1);
  });

  it('none: r − group mean unscaled; the group std is still measured for frac_reward_zero_std', () => {
    const a = groupAdvantages(rewards, 4, 'none');
    close(a.advantages, [...centred, 0, 0, 0, 0]);
    expect(a.zeroStdGroups).to.equal(1);
    expect(a.fracRewardZeroStd).to.equal(0.5);
  });

  it('unscorable (NaN) rewards are left out of the baseline and get advantage 0; a lone scored one too', () => {
    const r = [NaN, 1, 3, NaN, NaN, 2, NaN, NaN];
    const g = groupAdvantages(r, 4, 'group');
    // group 0: scored {1, 3}, mean 2, std √2; group 1: one scored, std NaN (Bessel), advantage 0, not "zero std"
    close(g.advantages, [0, -1 / (Math.SQRT2 + 1e-4), 1 / (Math.SQRT2 + 1e-4), 0, 0, 0, 0, 0]);
    expect(g.groupMean).to.deep.equal([2, 2]);
    expect(Number.isNaN(g.groupStd[1])).to.equal(true);
    expect(g.zeroStdGroups).to.equal(0);
    close(groupAdvantages(r, 4, 'none').advantages, [0, -1, 1, 0, 0, 0, 0, 0]);
    // batch std over the three scored rewards {1, 3, 2}: 1
    close(groupAdvantages(r, 4, 'batch').advantages, [0, -1 / 1.0001, 1 / 1.0001, 0, 0, 0, 0, 0]);
  });

  it('refuses a batch that does not split into groups', () => {
    expect(() => groupAdvantages([1, 2, 3], 2, 'group')).to.throw(/3 values do not split into groups of 2/);
  });
});

describe('rl/combine-rewards (combineRewards)', () => {
  it('weighted nansum per completion, per-function mean/std over what each scored, unscorable rows NaN', () => {
    const c = combineRewards([[1, null, 0.5, null], [2, 3, null, null]], [1, 0.5]);
    close(c.rewards.slice(0, 3), [2, 1.5, 0.5]);
    expect(Number.isNaN(c.rewards[3])).to.equal(true);
    expect(c.unscorable).to.deep.equal([false, false, false, true]);
    expect(c.perFunction[0].mean).to.be.closeTo(0.75, 1e-12);
    expect(c.perFunction[0].std).to.be.closeTo(Math.sqrt(0.125), 1e-12);
    expect(c.perFunction[1].mean).to.be.closeTo(2.5, 1e-12);
    expect(c.perFunction[1].std).to.be.closeTo(Math.sqrt(0.5), 1e-12);
    expect(c.reward).to.be.closeTo(4 / 3, 1e-12);
    expect(c.rewardStd).to.be.closeTo(Math.sqrt(7 / 12), 1e-12);
  });

  it('null weights weigh every function 1; NaN counts as null; infinities and mismatches are refused', () => {
    expect(combineRewards([[1, NaN], [2, 4]], null).rewards).to.deep.equal([3, 4]);
    expect(() => combineRewards([[1], [2]], [1])).to.throw(/rewardWeights has 1 entries for 2 reward functions/);
    expect(() => combineRewards([[1, Infinity]], null)).to.throw(/reward function 0 returned Infinity for completion 1/);
    expect(() => combineRewards([[1, 2], [3]], null)).to.throw(/reward function 1 returned 1 rewards for 2 completions/);
  });

  it('feeds groupAdvantages: a completion no function scored gets advantage 0', () => {
    const c = combineRewards([[1, 0, null, 1]], null);
    close(groupAdvantages(c.rewards, 2, 'none').advantages, [0.5, -0.5, 0, 0]);
  });
});
