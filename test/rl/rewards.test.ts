import { expect } from 'chai';
import { applyMissingEosPenalty, clipScores, tokenRewards, truncateAtStop, whitenRewards } from '../../rl/rewards.js';

describe('rl/rewards', () => {
  it('adds the score at the last real token and −β·KL everywhere real', () => {
    const { rewards, nonScore } = tokenRewards([2, -1], [[0.1, 0.2, 0.3], [0.5, 0.7, 0.9]], [3, 1], 0.5);
    const near = (a: number[][], b: number[][]) => a.forEach((r, i) => r.forEach((v, j) => expect(v).to.be.closeTo(b[i][j], 1e-12)));
    near(nonScore, [[-0.05, -0.1, -0.15], [-0.25, 0, 0]]);
    near(rewards, [[-0.05, -0.1, 1.85], [-1.25, 0, 0]]);
  });

  it('penalises completions that never ended', () => {
    expect(applyMissingEosPenalty([1, 2, 3], [true, false, true], 1)).to.deep.equal([1, 1, 3]);
    expect(applyMissingEosPenalty([1, 2], [false, false], 0)).to.deep.equal([1, 2]);
  });

  it('cuts text at the first stop string', () => {
    expect(truncateAtStop('Hello.\nWorld. Bye', ['\n', '.'])).to.equal('Hello');
    expect(truncateAtStop('Hello world', ['\n'])).to.equal('Hello world');
    expect(truncateAtStop('ab', [''])).to.equal('ab');
  });

  it('clips scores symmetrically, 0 disables', () => {
    expect(clipScores([-5, 0.5, 7], 2)).to.deep.equal([-2, 0.5, 2]);
    expect(clipScores([-5, 7], 0)).to.deep.equal([-5, 7]);
  });

  it('whitens token rewards over real tokens without moving their mean', () => {
    const w = whitenRewards([[1, 3, 0], [2, 9, 9]], [[1, 1, 0], [1, 0, 0]]);
    // real values 1, 3, 2: mean 2, unbiased variance 1 → (x − 2)/1 + 2 = x
    expect(w[0][0]).to.be.closeTo(1, 1e-6);
    expect(w[0][1]).to.be.closeTo(3, 1e-6);
    expect(w[1][0]).to.be.closeTo(2, 1e-6);
    expect(w[1][1]).to.equal(0);
  });
});
