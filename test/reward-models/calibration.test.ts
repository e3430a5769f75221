import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibration } from '../../reward-models/calibration.js';
import { Comparison } from '../../reward-models/comparisons.js';
import { loadRule, scoreAll } from '../../reward-models/rules.js';
import { tempDir } from '../helpers.js';

describe('reward-models: calibration, rules', () => {
  it('bins predicted win probabilities and counts accuracy, log loss and ECE by hand', () => {
    const cs: Comparison[] = [
      { prompt: 'a', completions: ['x', 'y'], ranking: [0, 1] }, // first won; p = σ(2) = 0.8808
      { prompt: 'b', completions: ['x', 'y'], ranking: [1, 0] }, // first lost; p = σ(2) = 0.8808
      { prompt: 'c', completions: ['x', 'y'], ranking: [1, 0] }, // first lost; p = σ(-1) = 0.2689
      { prompt: 'd', completions: ['x', 'y'], ranking: null }, // a tie: left out
    ];
    const cal = calibration(cs, [[2, 0], [1, -1], [0, 1], [5, 5]], 2);
    expect(cal.pairs).to.equal(3);
    expect(cal.accuracy).to.be.closeTo(2 / 3, 1e-12);
    const [lo, hi] = cal.bins;
    expect(lo.count).to.equal(1);
    expect(lo.predicted).to.be.closeTo(0.268941, 1e-6);
    expect(lo.observed).to.equal(0);
    expect(hi.count).to.equal(2);
    expect(hi.predicted).to.be.closeTo(0.880797, 1e-6);
    expect(hi.observed).to.equal(0.5);
    // ECE = 1/3·|0.2689 − 0| + 2/3·|0.8808 − 0.5|
    expect(cal.ece).to.be.closeTo((0.268941 + 2 * 0.380797) / 3, 1e-6);
    // log loss = mean of −log 0.8808, −log 0.1192, −log 0.7311
    expect(cal.logLoss).to.be.closeTo((0.126928 + 2.126928 + 0.313262) / 3, 1e-5);
  });

  it('loads the built-in rules and a module rule, and says what is wrong with a bad one', async () => {
    const s = await loadRule('sentiment');
    expect(await scoreAll(s, ['p', 'p'], ['What a wonderful, happy day', 'What a terrible, sad day'])).to.deep.equal([7, -5]);
    const dir = tempDir();
    writeFileSync(join(dir, 'rule.mjs'), 'export function score(prompt, completion) { return completion.split("a").length - 1; }\n');
    const m = await loadRule(join(dir, 'rule.mjs'));
    expect(await scoreAll(m, ['p'], ['banana'])).to.deep.equal([3]);
    writeFileSync(join(dir, 'none.mjs'), 'export const x = 1;\n');
    let err = '';
    await loadRule(join(dir, 'none.mjs')).catch((e: Error) => (err = e.message));
    expect(err).to.match(/does not export a function score/);
    await loadRule('happiness').catch((e: Error) => (err = e.message));
    expect(err).to.match(/unknown rule "happiness"/);
    writeFileSync(join(dir, 'nan.mjs'), 'export const score = () => NaN;\n');
    err = '';
    await scoreAll(await loadRule(join(dir, 'nan.mjs')), ['p'], ['c']).catch((e: Error) => (err = e.message));
    expect(err).to.match(/returned NaN/);
  });
});
