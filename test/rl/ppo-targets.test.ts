// The rollout-to-targets step of the PPO loop (rl/ppo-targets.ts), hand-worked for both places the score
// can land and with reward whitening, on two rows of width 3: row 0 has 2 real tokens, row 1 fills all 3.
import { expect } from 'chai';
import { ppoTargets, TargetSettings } from '../../rl/ppo-targets.js';

const near = (got: number[][], want: number[][], tol = 1e-9) =>
  got.forEach((r, b) => r.forEach((v, t) => expect(v, `[${b}][${t}]`).to.be.closeTo(want[b][t], tol)));

/** (x − mean) / √(var + 1e-8) over the masked positions, unbiased variance; + mean when keepMean; 0 elsewhere. */
function whiten(x: number[][], mask: number[][], keepMean: boolean): number[][] {
  const xs = x.flatMap((r, b) => r.filter((_, t) => mask[b][t]));
  const mean = xs.reduce((a, v) => a + v, 0) / xs.length;
  const v = xs.reduce((a, y) => a + (y - mean) ** 2, 0) / (xs.length - 1);
  return x.map((r, b) => r.map((y, t) => (mask[b][t] ? (y - mean) / Math.sqrt(v + 1e-8) + (keepMean ? mean : 0) : 0)));
}

describe('rl/ppo-targets', () => {
  // k1 KL = logp − ref: row 0 [0.2, 0.4, pad], row 1 [0.1, 0.1, 0.1]; β = 0.5
  const inputs = {
    scores: [1, 2],
    logprobs: [[-1, -2, -9], [-1, -1, -1]],
    refLogprobs: [[-1.2, -2.4, -3], [-1.1, -1.1, -1.1]],
    values: [[0.5, 0.25, 0.75], [0.1, 0.2, 0.3]], // 0.75 is the critic's value after row 0's last token
    mask: [[1, 1, 0], [1, 1, 1]],
    lengths: [2, 3],
    beta: 0.5,
  };
  const settings = (over: Partial<TargetSettings>): TargetSettings => ({ klEstimator: 'k1', whitenRewards: false, gamma: 1, lam: 0.5, scoreAt: 'last-token', ...over });

  it('last-token: the score on the last real token, values and GAE over the real tokens', () => {
    const t = ppoTargets(inputs, settings({}));
    near(t.kl, [[0.2, 0.4, 0], [0.1, 0.1, 0.1]]);
    near(t.nonScore, [[-0.1, -0.2, 0], [-0.05, -0.05, -0.05]]);
    near(t.rewards, [[-0.1, 0.8, 0], [-0.05, -0.05, 1.95]]);
    expect(t.valueMask).to.deep.equal(inputs.mask);
    near(t.values, [[0.5, 0.25, 0], [0.1, 0.2, 0.3]]);
    // row 0: δ1 = 0.8 − 0.25 = 0.55, A1 = 0.55; δ0 = −0.1 + 0.25 − 0.5 = −0.35, A0 = −0.35 + 0.5·0.55 = −0.075
    // row 1: δ2 = 1.95 − 0.3 = 1.65; δ1 = −0.05 + 0.3 − 0.2 = 0.05, A1 = 0.875; δ0 = 0.05, A0 = 0.4875
    near(t.returns, [[0.425, 0.8, 0], [0.5875, 1.075, 1.95]]);
    near(t.advantages, whiten([[-0.075, 0.55, 0], [0.4875, 0.875, 1.65]], inputs.mask, false), 1e-7);
  });

  it("after-last-token: the score one position later, where the value is kept (TRL's padding_mask_p1)", () => {
    const t = ppoTargets(inputs, settings({ scoreAt: 'after-last-token' }));
    near(t.nonScore, [[-0.1, -0.2, 0], [-0.05, -0.05, -0.05]]); // no KL on the extra position
    near(t.rewards, [[-0.1, -0.2, 1], [-0.05, -0.05, 1.95]]); // row 1 is full: its score stays on its last token
    expect(t.valueMask).to.deep.equal([[1, 1, 1], [1, 1, 1]]);
    near(t.values, [[0.5, 0.25, 0.75], [0.1, 0.2, 0.3]]);
    // row 0: δ2 = 1 − 0.75 = 0.25; δ1 = −0.2 + 0.75 − 0.25 = 0.3, A1 = 0.425; δ0 = −0.35, A0 = −0.1375
    near(t.returns, [[0.3625, 0.675, 1], [0.5875, 1.075, 1.95]]);
    // advantages are whitened over the real tokens only, and 0 on the extra position (the policy never acts there)
    near(t.advantages, whiten([[-0.1375, 0.425, 0.25], [0.4875, 0.875, 1.65]], inputs.mask, false), 1e-7);
    expect(t.advantages[0][2]).to.equal(0);
  });

  for (const scoreAt of ['last-token', 'after-last-token'] as const) {
    it(`whitens the rewards over the positions the values cover, keeping their mean (${scoreAt})`, () => {
      const plain = ppoTargets(inputs, settings({ scoreAt }));
      const t = ppoTargets(inputs, settings({ scoreAt, whitenRewards: true }));
      const want = whiten(plain.rewards, plain.valueMask, true);
      near(t.rewards, want, 1e-7);
      if (scoreAt === 'last-token') expect(t.rewards[0][2]).to.equal(0); // padding stays out
      // GAE runs on the whitened rewards: returns at the last position are the reward there (γ = 1, V after = 0)
      expect(t.returns[1][2]).to.be.closeTo(want[1][2], 1e-7);
      expect(t.returns[1][2]).to.not.be.closeTo(plain.returns[1][2], 1e-3);
    });
  }
});
