import { expect } from 'chai';
import { applyMissingEosPenalty, clipScores, scoreIndex, stopTokenCut, tokenRewards, truncateAtStop, valueMask, whitenRewards } from '../../rl/rewards.js';

describe('rl/rewards', () => {
  it('adds the score at the last real token and −β·KL everywhere real', () => {
    const { rewards, nonScore } = tokenRewards([2, -1], [[0.1, 0.2, 0.3], [0.5, 0.7, 0.9]], [3, 1], 0.5);
    const near = (a: number[][], b: number[][]) => a.forEach((r, i) => r.forEach((v, j) => expect(v).to.be.closeTo(b[i][j], 1e-12)));
    near(nonScore, [[-0.05, -0.1, -0.15], [-0.25, 0, 0]]);
    near(rewards, [[-0.05, -0.1, 1.85], [-1.25, 0, 0]]);
  });

  it("adds the score after the last real token (TRL's sequence_lengths_p1), at the last token when the row is full", () => {
    const { rewards, nonScore } = tokenRewards([2, -1], [[0.1, 0.2, 0.3], [0.5, 0.7, 0.9]], [2, 3], 0.5, 'after-last-token');
    const near = (a: number[][], b: number[][]) => a.forEach((r, i) => r.forEach((v, j) => expect(v).to.be.closeTo(b[i][j], 1e-12)));
    near(nonScore, [[-0.05, -0.1, 0], [-0.25, -0.35, -0.45]]);
    near(rewards, [[-0.05, -0.1, 2], [-0.25, -0.35, -1.45]]);
    expect([scoreIndex(2, 3), scoreIndex(2, 3, 'after-last-token'), scoreIndex(3, 3, 'after-last-token'), scoreIndex(1, 1, 'after-last-token')]).to.deep.equal([1, 2, 2, 0]);
    // values cover the real tokens, plus the score's position when it lies after them (TRL's ~padding_mask_p1)
    expect(valueMask([1, 2, 4], 4)).to.deep.equal([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]]);
    expect(valueMask([1, 2, 4], 4, 'after-last-token')).to.deep.equal([[1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]);
  });

  it('finds the token that completes a stop string (at least one token stays)', () => {
    const text: Record<number, string> = { 1: 'a', 2: '\n', 3: 'b\n', 4: '\n\n' };
    const decode = (ids: number[]) => ids.map((i) => text[i]).join('');
    const stops = ['\n\n'];
    expect(stopTokenCut([1, 2, 2], decode, stops)).to.equal(2); // 'a' '\n' stay; the second '\n' completes it
    expect(stopTokenCut([1, 4, 1], decode, stops)).to.equal(1);
    expect(stopTokenCut([3, 2], decode, stops)).to.equal(1); // 'b\n' holds part of the stop string and the 'b': it stays
    expect(stopTokenCut([4], decode, stops)).to.equal(1); // the first token completes it: kept, the score needs a position
    expect(stopTokenCut([1, 1], decode, stops)).to.equal(2);
    expect(stopTokenCut([1, 2, 2], decode, [])).to.equal(3);
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
