import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { btLoss, buildPairBatch, pairStats } from '../../reward-models/bt-loss.js';
import { Comparison, comparisonPairs, parseComparison, splitByPrompt } from '../../reward-models/comparisons.js';
import { canonical } from '../../reward-models/train-rm.js';
import { useBackend } from '../helpers.js';

describe('reward-models/bt-loss', () => {
  before(useBackend);

  it('turns a ranking of K into its K(K-1)/2 ordered pairs, and a tie into unordered ones', () => {
    const c: Comparison = { prompt: 'p', completions: ['a', 'b', 'c', 'd'], ranking: [2, 0, 3, 1] };
    const pairs = comparisonPairs(c).map((p) => `${p.winner}>${p.loser}`);
    expect(pairs).to.deep.equal(['2>0', '2>3', '2>1', '0>3', '0>1', '3>1']);
    const tie = comparisonPairs({ prompt: 'p', completions: ['a', 'b', 'c'], ranking: null });
    expect(tie.map((p) => [p.winner, p.loser, p.tie])).to.deep.equal([[0, 1, true], [0, 2, true], [1, 2, true]]);
  });

  it('weighs each comparison as one example however many pairs it holds', () => {
    const cs: Comparison[] = [
      { prompt: 'p', completions: ['a', 'b', 'c'], ranking: [0, 1, 2] },
      { prompt: 'q', completions: ['x', 'y'], ranking: [1, 0] },
    ];
    const b = buildPairBatch(cs, [0, 3], 5, 'drop');
    expect(b.examples).to.equal(2);
    expect(b.weight.slice(0, 3).reduce((a, w) => a + w, 0)).to.be.closeTo(0.5, 1e-12);
    expect(b.weight[3]).to.be.closeTo(0.5, 1e-12);
    expect([b.winner[3], b.loser[3]]).to.deep.equal([4, 3]);
  });

  it('matches hand-worked values and gradients for a preference with margin and a tie', () => {
    const cs: Comparison[] = [
      { prompt: 'p', completions: ['a', 'b'], ranking: [0, 1], margin: 0.5 },
      { prompt: 'q', completions: ['c', 'd'], ranking: null },
    ];
    const b = buildPairBatch(cs, [0, 2], 4, 'equal', 0.5); // margins: 0.5 (config) + 0.5 (example) = 1
    const r = tf.tensor1d([2, 0, 1, 3]);
    const before = tf.memory().numTensors;
    const { value, grad: grads } = tf.tidy(() => tf.valueAndGrad((x: tf.Tensor) => btLoss(x as tf.Tensor1D, b))(r));
    // preference: d = 2, m = 1: log(1 + e^-1) = 0.3132617; tie: d = -2: ½(log(1+e^-2) + log(1+e^2)) = ½(0.1269280 + 2.1269280) = 1.1269280
    const want = 0.5 * 0.3132617 + 0.5 * 1.126928;
    expect(value.dataSync()[0]).to.be.closeTo(want, 1e-6);
    // dL/dd: preference −σ(−(d−m)) = −0.2689414; tie ½(σ(d) − σ(−d)) = ½(0.1192029 − 0.8807971) = −0.3807971
    const g = Array.from(grads.dataSync());
    const expected = [-0.2689414 * 0.5, 0.2689414 * 0.5, -0.3807971 * 0.5, 0.3807971 * 0.5];
    g.forEach((x, i) => expect(x).to.be.closeTo(expected[i], 1e-6));
    tf.dispose([value, grads]);
    expect(tf.memory().numTensors).to.equal(before);
    r.dispose();
  });

  it('drops ties under the drop policy and counts accuracy on preferences only', () => {
    const cs: Comparison[] = [
      { prompt: 'p', completions: ['a', 'b'], ranking: [1, 0] },
      { prompt: 'q', completions: ['c', 'd'], ranking: null },
    ];
    const b = buildPairBatch(cs, [0, 2], 4, 'drop');
    expect(b.winner).to.deep.equal([1]);
    expect(b.weight).to.deep.equal([1]);
    expect(pairStats([0, 1, 5, -5], b)).to.deep.equal({ correct: 1, total: 1, marginSum: 1 });
    const both = buildPairBatch(cs, [0, 2], 4, 'equal');
    expect(pairStats([1, 0, 5, -5], both)).to.deep.equal({ correct: 0, total: 1, marginSum: -1 });
  });

  it('is stable for large reward gaps', () => {
    const b = buildPairBatch([{ prompt: 'p', completions: ['a', 'b'], ranking: [0, 1] }], [0], 2, 'drop');
    const loss = tf.tidy(() => btLoss(tf.tensor1d([-100, 100]), b).dataSync()[0]);
    expect(loss).to.be.closeTo(200, 1e-3);
    expect(tf.tidy(() => btLoss(tf.tensor1d([100, -100]), b).dataSync()[0])).to.be.closeTo(0, 1e-6);
  });

  it('parses both JSONL formats, skips skips, and rejects bad rankings with the line', () => {
    expect(parseComparison('{"prompt":"p","chosen":"a","rejected":"b"}', 'f:1')).to.deep.include({ completions: ['a', 'b'], ranking: [0, 1] });
    expect(parseComparison('{"prompt":"p","completions":["a","b","c"],"kind":"ranking","ranking":[2,0,1]}', 'f:2')!.ranking).to.deep.equal([2, 0, 1]);
    expect(parseComparison('{"prompt":"p","completions":["a","b"],"kind":"tie","ranking":null}', 'f:3')!.ranking).to.equal(null);
    expect(parseComparison('{"prompt":"p","completions":["a","b"],"kind":"skip"}', 'f:4')).to.equal(null);
    expect(() => parseComparison('{"prompt":"p","completions":["a","b"],"kind":"ranking","ranking":[0,0]}', 'f:5')).to.throw(/f:5: ranking \[0,0\]/);
    expect(() => parseComparison('{"prompt":1}', 'f:6')).to.throw(/f:6: "prompt" must be a string/);
    expect(() => parseComparison('nope', 'f:7')).to.throw(/f:7: bad JSON/);
  });

  it('puts a comparison in text order with its ranking following the completions', () => {
    const c = canonical({ prompt: 'p', completions: ['c', 'a', 'b'], ranking: [0, 2, 1] }); // c > b > a
    expect(c.completions).to.deep.equal(['a', 'b', 'c']);
    expect(c.ranking!.map((i) => c.completions[i])).to.deep.equal(['c', 'b', 'a']);
    expect(canonical({ prompt: 'p', completions: ['y', 'x'], ranking: null })).to.deep.include({ completions: ['x', 'y'], ranking: null });
  });

  it('splits by prompt so that no prompt is on both sides', () => {
    const cs: Comparison[] = [];
    for (let i = 0; i < 400; i++) cs.push({ prompt: `prompt ${i % 100}`, completions: ['a', 'b'], ranking: [0, 1] });
    const { train, val } = splitByPrompt(cs, 0.2);
    const tp = new Set(train.map((c) => c.prompt));
    expect(val.length).to.be.within(40, 140);
    expect(val.every((c) => !tp.has(c.prompt))).to.equal(true);
    expect(train.length + val.length).to.equal(400);
  });
});
