// Agreement measures against values worked by hand: Cohen's kappa on the 2x2 tables of the textbook
// examples, Krippendorff's alpha on his own reliability-data example (nominal, 4 coders, missing values).
import { expect } from 'chai';
import { cohensKappa, krippendorffAlpha, pairwiseAgreement, topChoice } from '../../data/agreement.js';

/** Items of a 2x2 table: yy both yes, yn coder 1 yes and coder 2 no, and so on. */
function table(yy: number, yn: number, ny: number, nn: number): [string, string][] {
  const rep = (n: number, p: [string, string]) => Array.from({ length: n }, () => p);
  return [...rep(yy, ['y', 'y']), ...rep(yn, ['y', 'n']), ...rep(ny, ['n', 'y']), ...rep(nn, ['n', 'n'])];
}

describe('data/agreement', () => {
  it("Cohen's kappa: (p_o - p_e) / (1 - p_e) on worked tables", () => {
    // 50 items: 20 both yes, 5 yes/no, 10 no/yes, 15 both no. p_o = 35/50 = 0.7; coder 1 says yes 25/50,
    // coder 2 30/50: p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4.
    expect(cohensKappa(table(20, 5, 10, 15))).to.be.closeTo(0.4, 1e-12);
    // 100 items 45/15/25/15: p_o = 0.6, p_e = 0.6 * 0.7 + 0.4 * 0.3 = 0.54, kappa = 0.06 / 0.46.
    expect(cohensKappa(table(45, 15, 25, 15))).to.be.closeTo(0.06 / 0.46, 1e-12);
    // 25/35/5/35: the same p_o = 0.6 but p_e = 0.6 * 0.3 + 0.4 * 0.7 = 0.46: kappa = 0.14 / 0.54.
    expect(cohensKappa(table(25, 35, 5, 35))).to.be.closeTo(0.14 / 0.54, 1e-12);
    // Perfect agreement over two codes is 1; agreement exactly at chance is 0; the opposite codes always is -1.
    expect(cohensKappa(table(3, 0, 0, 5))).to.equal(1);
    expect(cohensKappa(table(1, 1, 1, 1))).to.equal(0);
    expect(cohensKappa(table(0, 4, 4, 0))).to.equal(-1);
    // Three codes: a/a, b/b, c/c, a/b. p_o = 3/4; marginals 1: a 2, b 1, c 1; 2: a 1, b 2, c 1;
    // p_e = (2*1 + 1*2 + 1*1) / 16 = 5/16; kappa = (12/16 - 5/16) / (11/16) = 7/11.
    expect(cohensKappa([['a', 'a'], ['b', 'b'], ['c', 'c'], ['a', 'b']])).to.be.closeTo(7 / 11, 1e-12);
    // Undefined: no items, or both coders only ever used one code.
    expect(cohensKappa([])).to.equal(null);
    expect(cohensKappa([['a', 'a'], ['a', 'a']])).to.equal(null);
  });

  it("Krippendorff's alpha: his nominal example gives 0.743, and the two-coder case by hand", () => {
    // Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, values
    // 1..5, blanks missing (unit 12 has one value: unpairable). Nominal alpha = 0.743.
    const units = [['1', '1', '1'], ['2', '2', '3', '2'], ['3', '3', '3', '3'], ['3', '3', '3', '3'], ['2', '2', '2', '2'], ['1', '2', '3', '4'],
      ['4', '4', '4', '4'], ['1', '1', '2', '1'], ['2', '2', '2', '2'], ['5', '5', '5'], ['1', '1'], ['3']];
    expect(krippendorffAlpha(units)!).to.be.closeTo(0.743, 5e-4);
    // Two coders, 4 units: a/a, a/b, b/b, b/b. Coincidences: o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n = 8,
    // n_a = 3, n_b = 5. D_o = 2 (off-diagonal), D_e = (3*5 + 5*3) / 7 = 30/7, alpha = 1 - 2*7/30.
    expect(krippendorffAlpha([['a', 'a'], ['a', 'b'], ['b', 'b'], ['b', 'b']])).to.be.closeTo(1 - 14 / 30, 1e-12);
    expect(krippendorffAlpha([['a', 'a'], ['b', 'b']])).to.equal(1);
    expect(krippendorffAlpha([['a', 'b'], ['b', 'a'], ['a', 'b'], ['b', 'a']])!).to.be.lessThan(0);
    expect(krippendorffAlpha([['a'], ['b']])).to.equal(null); // nothing pairable
  });

  it('pairwise agreement within an item, and a label as a code', () => {
    expect(pairwiseAgreement(['0', '0', '1'])).to.be.closeTo(1 / 3, 1e-12); // 1 of the 3 pairs agrees
    expect(pairwiseAgreement(['0', '0', '0', '1', '1'])).to.be.closeTo((3 * 2 + 2 * 1) / 20, 1e-12);
    expect(pairwiseAgreement(['tie', 'tie'])).to.equal(1);
    expect(pairwiseAgreement(['0'])).to.equal(null);
    expect(topChoice('ranking', [2, 0, 1])).to.equal('2');
    expect(topChoice('tie', null)).to.equal('tie');
    expect(topChoice('skip', null)).to.equal(null);
  });
});
