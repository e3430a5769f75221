import { expect } from 'chai';
import { maskedMean, maskedVar, maskedWhiten } from '../../rl/whiten.js';

describe('rl/whiten', () => {
  const x = [[1, 2, 3, 100]];
  const mask = [[1, 1, 1, 0]];

  it('counts only masked positions (the 100 is padding)', () => {
    expect(maskedMean(x, mask)).to.equal(2);
    expect(maskedVar(x, mask)).to.equal(1); // ((−1)² + 0 + 1²) / (3 − 1)
    expect(maskedVar(x, mask, false)).to.be.closeTo(2 / 3, 1e-12);
  });

  it('whitens to mean 0 and unit (unbiased) variance, padding set to 0', () => {
    const w = maskedWhiten(x, mask);
    for (const [got, want] of w[0].map((v, i) => [v, [-1, 0, 1, 0][i]])) expect(got).to.be.closeTo(want, 1e-6);
  });

  it('keeps the mean when shiftMean is false', () => {
    const w = maskedWhiten([[1, 2, 3, 100]], mask, false);
    for (const [got, want] of w[0].map((v, i) => [v, [1, 2, 3, 0][i]])) expect(got).to.be.closeTo(want, 1e-6);
  });

  it('spans rows', () => {
    expect(maskedMean([[1, 0], [3, 5]], [[1, 0], [1, 1]])).to.equal(3);
  });

  it('refuses an empty mask', () => {
    expect(() => maskedMean([[1]], [[0]])).to.throw(/no positions/);
  });
});
