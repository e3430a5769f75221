import { expect } from 'chai';
import { Rng } from '../../lm/rng.js';
import { loadNativeAddon } from '../../backend/native-addon.js';
import { checkSampling, sampleRows, sampleToken } from '../../lm/sampling.js';

const logits = Float32Array.from([2, 1, 0.5, 0, -1, -3]); // softmax ≈ [.56 .21 .12 .08 .03 .004]
const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

function frequencies(n: number, opts: { temperature: number; topK: number; topP: number }): number[] {
  const rng = new Rng(11);
  const f = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) f[sampleToken(logits, opts, rng).token] += 1 / n;
  return f;
}

describe('lm/sampling', () => {
  it('greedy picks the argmax and reports its untempered log-probability', () => {
    const p = sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, new Rng(0));
    expect(p.token).to.equal(0);
    expect(p.logprob).to.be.closeTo(Math.log(softmax([...logits])[0]), 1e-9);
  });

  it('samples from softmax(logits / T), and logprob is the log of that probability', () => {
    const want = softmax([...logits].map((v) => v / 0.7));
    const f = frequencies(40000, { temperature: 0.7, topK: 0, topP: 1 });
    for (let i = 0; i < want.length; i++) expect(f[i]).to.be.closeTo(want[i], 0.01);
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) {
      const p = sampleToken(logits, { temperature: 0.7, topK: 0, topP: 1 }, rng);
      expect(p.logprob).to.be.closeTo(Math.log(want[p.token]), 1e-9);
    }
  });

  it('top-k keeps the k best and renormalises', () => {
    const f = frequencies(20000, { temperature: 1, topK: 2, topP: 1 });
    const p = softmax([2, 1]);
    expect(f[0]).to.be.closeTo(p[0], 0.015);
    expect(f[1]).to.be.closeTo(p[1], 0.015);
    expect(f.slice(2).every((v) => v === 0)).to.equal(true);
    const pick = sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, new Rng(5));
    expect(pick.logprob).to.be.closeTo(Math.log(p[pick.token]), 1e-9);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // cumulative: .56, .77, .90 -> p = 0.8 keeps tokens 0..2
    const f = frequencies(20000, { temperature: 1, topK: 0, topP: 0.8 });
    expect(f[0] + f[1] + f[2]).to.be.closeTo(1, 1e-9);
    expect(f[3] + f[4] + f[5]).to.equal(0);
    expect(f[2]).to.be.greaterThan(0.05);
    const p = softmax([2, 1, 0.5]);
    const pick = sampleToken(logits, { temperature: 1, topK: 0, topP: 0.8 }, new Rng(6));
    expect(pick.logprob).to.be.closeTo(Math.log(p[pick.token]), 1e-9);
  });

  it('the same seed gives the same draws', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const o = { temperature: 1, topK: 0, topP: 1 };
    for (let i = 0; i < 50; i++) expect(sampleToken(logits, o, a).token).to.equal(sampleToken(logits, o, b).token);
  });

  it('the native row sampler draws the same tokens with the same log-probabilities as the JS path', () => {
    const r = loadNativeAddon();
    if (!r.ok) throw new Error(`the native addon is not available (${r.why})`);
    const gen = new Rng(5);
    for (const [V, T] of [[6, 0.7], [5000, 1.3], [50257, 1]]) {
      const rows = 5;
      const z = Float32Array.from({ length: rows * V }, () => (gen.next() - 0.5) * 12);
      const js = new Rng(8);
      const nat = new Rng(8);
      let draws = 0;
      for (let k = 0; k < (V > 10000 ? 20 : 200); k++) {
        const live = [0, 2, 3, 4].filter((b) => (b + k) % 3 !== 0); // some rows finished, as in generate
        const o = { temperature: T, topK: 0, topP: 1 };
        const a = sampleRows(z, V, live, o, js);
        const b = sampleRows(z, V, live, o, nat, r.addon);
        for (let j = 0; j < live.length; j++) {
          expect(b[j].token, `V ${V} draw ${k}`).to.equal(a[j].token);
          expect(b[j].logprob).to.be.closeTo(a[j].logprob, 1e-9);
          draws++;
        }
      }
      expect(draws).to.be.greaterThan(50);
    }
    // Top-k / top-p are not in the native sampler: those go through sampleToken.
    const o = { temperature: 1, topK: 2, topP: 1 };
    expect(sampleRows(logits, 6, [0], o, new Rng(4), r.addon)).to.deep.equal([sampleToken(logits, o, new Rng(4))]);
    expect(() => r.addon.sampleRows(logits, 6, Int32Array.from([1]), 1, new Float64Array(1), new Int32Array(1), new Float64Array(1))).to.throw(/row 1 at position 0 is outside/);
  });

  it('rejects bad options', () => {
    expect(() => checkSampling({ temperature: -1, topK: 0, topP: 1 })).to.throw(/temperature/);
    expect(() => checkSampling({ temperature: 1, topK: 1.5, topP: 1 })).to.throw(/top-k/);
    expect(() => checkSampling({ temperature: 1, topK: 0, topP: 0 })).to.throw(/top-p/);
  });
});
