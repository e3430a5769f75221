// Tie models (reward-models/tie-models.ts), Plackett-Luce (reward-models/plackett-luce.ts) and the reward
// model's loss with them (bt-loss.ts): values against the strength (λ = eʳ) forms of Chen et al. (2024) and
// of the DPO paper worked out in float64, gradients against central differences of those hand formulas,
// Plackett-Luce for K = 3 against the enumerated product of choice probabilities and equal to Bradley-Terry
// at K = 2, stability far from 0, and flat tensor counts.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { btLoss, buildPairBatch, RmLossOptions } from '../../reward-models/bt-loss.js';
import type { Comparison } from '../../reward-models/comparisons.js';
import { plackettLuceLoss } from '../../reward-models/plackett-luce.js';
import { DEFAULT_TIE_STRENGTH, preferenceOptionsError, TieModel, TiePolicy } from '../../reward-models/preference-options.js';
import { resolveRmConfig } from '../../reward-models/rm-config.js';
import { equalTieLoss, outcomeProbabilities, tieNll, winNll } from '../../reward-models/tie-models.js';
import { useBackend } from '../helpers.js';

/** The paper's strength forms: P(w ≻ l), P(w ~ l) for rewards rw, rl. */
function byStrength(rw: number, rl: number, model: TieModel | null, nu: number): { win: number; tie: number } {
  const [a, b] = [Math.exp(rw), Math.exp(rl)];
  if (model === 'rao-kupper') return { win: a / (a + nu * b), tie: ((nu * nu - 1) * a * b) / ((a + nu * b) * (b + nu * a)) };
  if (model === 'davidson') {
    const g = 2 * nu * Math.sqrt(a * b);
    return { win: a / (a + b + g), tie: g / (a + b + g) };
  }
  return { win: a / (a + b), tie: 0 };
}

const MARGINS = [-3, -0.5, 0, 0.7, 4];
const MODELS: [TieModel, number][] = [['rao-kupper', 3], ['rao-kupper', 1.5], ['davidson', 1], ['davidson', 0.3]];
const at = (f: (d: tf.Tensor) => tf.Tensor, xs: number[]) => tf.tidy(() => Array.from(f(tf.tensor1d(xs)).dataSync()));
const grad = (f: (d: tf.Tensor) => tf.Tensor, xs: number[]) => tf.tidy(() => Array.from(tf.grad((d: tf.Tensor) => tf.sum(f(d)))(tf.tensor1d(xs)).dataSync()));
const fd = (f: (x: number) => number, x: number, h = 1e-4) => (f(x + h) - f(x - h)) / (2 * h);

describe('reward-models/tie-models', () => {
  before(useBackend);

  for (const [model, nu] of MODELS) {
    it(`${model} ν ${nu}: three outcomes summing to 1, the NLLs by hand and their gradients by central differences`, () => {
      const before = tf.memory().numTensors;
      const win = at((d) => winNll(d, model, nu), MARGINS);
      const tie = at((d) => tieNll(d, model, nu), MARGINS);
      const gWin = grad((d) => winNll(d, model, nu), MARGINS);
      const gTie = grad((d) => tieNll(d, model, nu), MARGINS);
      expect(tf.memory().numTensors).to.equal(before);
      MARGINS.forEach((d, i) => {
        // rewards rw − rl = d, anywhere on the line: only the margin counts
        const p = byStrength(1.3 + d, 1.3, model, nu);
        const lossSide = byStrength(1.3, 1.3 + d, model, nu).win;
        expect(p.win + p.tie + lossSide, `sum at d ${d}`).to.be.closeTo(1, 1e-12);
        const o = outcomeProbabilities(d, model, nu);
        [[o.win, p.win], [o.tie, p.tie], [o.loss, lossSide]].forEach(([x, y]) => expect(x).to.be.closeTo(y, 1e-12));
        expect(win[i], `win NLL at ${d}`).to.be.closeTo(-Math.log(p.win), 1e-5);
        expect(tie[i], `tie NLL at ${d}`).to.be.closeTo(-Math.log(p.tie), 1e-5);
        expect(gWin[i], `∂ win NLL at ${d}`).to.be.closeTo(fd((x) => -Math.log(byStrength(x, 0, model, nu).win), d), 1e-4);
        expect(gTie[i], `∂ tie NLL at ${d}`).to.be.closeTo(fd((x) => -Math.log(byStrength(x, 0, model, nu).tie), d), 1e-4);
      });
    });
  }

  it("the paper's defaults give ties probability ½ at equal rewards; ν_RK = 1 and ν_D = 0 are Bradley-Terry", () => {
    expect(outcomeProbabilities(0, 'rao-kupper', DEFAULT_TIE_STRENGTH['rao-kupper']).tie).to.be.closeTo(0.5, 1e-12);
    expect(outcomeProbabilities(0, 'davidson', DEFAULT_TIE_STRENGTH.davidson).tie).to.be.closeTo(0.5, 1e-12);
    const bt = MARGINS.map((d) => Math.log1p(Math.exp(-d)));
    for (const [m, nu] of [['rao-kupper', 1], ['davidson', 0]] as const) at((d) => winNll(d, m, nu), MARGINS).forEach((v, i) => expect(v).to.be.closeTo(bt[i], 1e-6));
    // the tie model moves a preference's optimum: at d = 0 the win NLL is above Bradley-Terry's log 2
    expect(at((d) => winNll(d, 'rao-kupper', 3), [0])[0]).to.be.closeTo(Math.log(4), 1e-6);
    expect(at((d) => winNll(d, 'davidson', 1), [0])[0]).to.be.closeTo(Math.log(4), 1e-6);
    // equal: ½ softplus(d) + ½ softplus(−d), least at 0
    const eq = at(equalTieLoss, [0, 2]);
    expect(eq[0]).to.be.closeTo(Math.log(2), 1e-6);
    expect(eq[1]).to.be.closeTo(0.5 * (Math.log1p(Math.exp(2)) + Math.log1p(Math.exp(-2))), 1e-6);
  });

  it('is finite with finite gradients far from 0 (|d| = 200), where the asymptotes are |d| and the log of the constants', () => {
    for (const [model, nu] of MODELS) {
      const w = at((d) => winNll(d, model, nu), [200, -200]);
      const t = at((d) => tieNll(d, model, nu), [200, -200]);
      expect(w[0]).to.be.closeTo(0, 1e-3);
      expect(w[1]).to.be.closeTo(model === 'rao-kupper' ? 200 + Math.log(nu) : 200, 1e-2);
      expect(t[0]).to.be.closeTo(t[1], 1e-3);
      expect(t[0]).to.be.closeTo(model === 'rao-kupper' ? 200 + Math.log(nu) - Math.log(nu * nu - 1) : 100 - Math.log(2 * nu), 1e-2);
      for (const g of [...grad((d) => winNll(d, model, nu), [200, -200]), ...grad((d) => tieNll(d, model, nu), [200, -200])]) expect(Number.isFinite(g)).to.equal(true);
    }
  });
});

describe('reward-models/plackett-luce', () => {
  before(useBackend);
  const R = [0.4, -1.1, 2.0];
  const pl = (r: number[], rows: number[]) => tf.tidy(() => plackettLuceLoss(tf.tensor1d(r), [{ rows, weight: 1 }], r.length).dataSync()[0]);

  it('K = 3: every ordering is the product of its choice probabilities, and the six sum to 1', () => {
    const e = R.map(Math.exp);
    let total = 0;
    for (const tau of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
      const [a, b, c] = tau;
      const p = (e[a] / (e[a] + e[b] + e[c])) * (e[b] / (e[b] + e[c])); // the last choice is certain
      total += p;
      expect(pl(R, tau), `ordering ${tau}`).to.be.closeTo(-Math.log(p), 1e-5);
    }
    expect(total).to.be.closeTo(1, 1e-12);
  });

  it('K = 2 is Bradley-Terry, also through btLoss; the gradient matches central differences; flat tensors', () => {
    for (const [a, b] of [[0.3, -0.9], [-2, 1.5], [50, -50]]) expect(pl([a, b], [0, 1])).to.be.closeTo(Math.log1p(Math.exp(-(a - b))), 1e-5);
    const cs: Comparison[] = [{ prompt: 'p', completions: ['a', 'b'], ranking: [1, 0] }, { prompt: 'q', completions: ['c', 'd'], ranking: [0, 1] }];
    const b = buildPairBatch(cs, [0, 2], 4, 'drop');
    const r = [0.2, 1.4, -0.3, 0.9];
    const both = tf.tidy(() => [btLoss(tf.tensor1d(r), b).dataSync()[0], btLoss(tf.tensor1d(r), b, { tieStrength: null, rankings: 'plackett-luce', centerRewardsCoefficient: null }).dataSync()[0]]);
    expect(both[1]).to.be.closeTo(both[0], 1e-6);
    const hand = (x: number[]) => [[0, 1, 2], [2, 1, 0], [1, 0, 2]].reduce((s, [i, j, k]) => {
      const e = x.map(Math.exp);
      return s - Math.log((e[i] / (e[i] + e[j] + e[k])) * (e[j] / (e[j] + e[k])));
    }, 0);
    const before = tf.memory().numTensors;
    const g = tf.tidy(() => Array.from(tf.grad((x: tf.Tensor) => plackettLuceLoss(x as tf.Tensor1D, [{ rows: [0, 1, 2], weight: 1 }, { rows: [2, 1, 0], weight: 1 }, { rows: [1, 0, 2], weight: 1 }], 3))(tf.tensor1d(R)).dataSync()));
    expect(tf.memory().numTensors).to.equal(before);
    R.forEach((_, i) => expect(g[i], `∂/∂r${i}`).to.be.closeTo(fd((v) => hand(R.map((x, j) => (j === i ? v : x))), R[i]), 1e-4));
  });
});

describe('reward-models/bt-loss with ties, rankings and centering', () => {
  before(useBackend);
  // a ranking of 3 (rows 0-2), a pair (3-4), a tie of 2 (5-6), a tie of 3 (7-9)
  const CS: Comparison[] = [
    { prompt: 'a', completions: ['x', 'y', 'z'], ranking: [2, 0, 1] },
    { prompt: 'b', completions: ['x', 'y'], ranking: [0, 1] },
    { prompt: 'c', completions: ['x', 'y'], ranking: null },
    { prompt: 'd', completions: ['x', 'y', 'z'], ranking: null },
  ];
  const OFFSETS = [0, 3, 5, 7];
  const R = [0.5, -0.2, 1.1, 0.3, 0.8, -0.4, 0.6, 0.1, -0.7, 0.9];

  /** The loss by hand in float64: each comparison weighs 1/4 (or 1/2 with ties dropped). */
  function byHand(r: number[], ties: TiePolicy, o: RmLossOptions): number {
    const model = ties === 'davidson' || ties === 'rao-kupper' ? ties : null;
    const nu = model ? o.tieStrength ?? DEFAULT_TIE_STRENGTH[model] : 0;
    const used = CS.filter((c) => c.ranking || ties !== 'drop');
    let loss = 0;
    let center = 0;
    for (const c of used) {
      const off = OFFSETS[CS.indexOf(c)];
      const x = (i: number) => r[off + i];
      const pairs: [number, number][] = [];
      const K = c.completions.length;
      if (c.ranking) for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) pairs.push([c.ranking[i], c.ranking[j]]);
      else for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) pairs.push([i, j]);
      const w = 1 / used.length / pairs.length;
      for (const [a, b] of pairs) center += w * (x(a) + x(b)) ** 2;
      if (c.ranking && o.rankings === 'plackett-luce') {
        const e = c.ranking.map((k) => Math.exp(x(k)));
        let p = 1;
        for (let k = 0; k < e.length - 1; k++) p *= e[k] / e.slice(k).reduce((s, v) => s + v, 0);
        loss -= Math.log(p) / used.length;
      } else if (c.ranking) for (const [a, b] of pairs) loss -= w * Math.log(byStrength(x(a), x(b), model, nu).win);
      else if (model) for (const [a, b] of pairs) loss -= w * Math.log(byStrength(x(a), x(b), model, nu).tie);
      else for (const [a, b] of pairs) loss -= w * 0.5 * (Math.log(byStrength(x(a), x(b), null, 0).win) + Math.log(byStrength(x(b), x(a), null, 0).win));
    }
    return loss + (o.centerRewardsCoefficient ?? 0) * center;
  }

  const CASES: [TiePolicy, RmLossOptions][] = [
    ['drop', { tieStrength: null, rankings: 'all-pairs', centerRewardsCoefficient: null }],
    ['equal', { tieStrength: null, rankings: 'all-pairs', centerRewardsCoefficient: null }],
    ['davidson', { tieStrength: null, rankings: 'all-pairs', centerRewardsCoefficient: null }],
    ['davidson', { tieStrength: 0.4, rankings: 'all-pairs', centerRewardsCoefficient: 0.01 }],
    ['rao-kupper', { tieStrength: null, rankings: 'all-pairs', centerRewardsCoefficient: null }],
    ['rao-kupper', { tieStrength: 2, rankings: 'all-pairs', centerRewardsCoefficient: null }],
    ['drop', { tieStrength: null, rankings: 'plackett-luce', centerRewardsCoefficient: null }],
    ['equal', { tieStrength: null, rankings: 'plackett-luce', centerRewardsCoefficient: 0.5 }],
  ];
  for (const [ties, o] of CASES) {
    it(`ties ${ties}${o.tieStrength ? ` ν ${o.tieStrength}` : ''}, ${o.rankings}${o.centerRewardsCoefficient ? `, centering ${o.centerRewardsCoefficient}` : ''}: value and gradient by hand`, () => {
      const b = buildPairBatch(CS, OFFSETS, R.length, ties);
      expect(b.examples).to.equal(ties === 'drop' ? 2 : 4);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.tidy(() => {
        const { value: v, grad: g } = tf.valueAndGrad((x: tf.Tensor) => btLoss(x as tf.Tensor1D, b, o))(tf.tensor1d(R));
        return { value: v.dataSync()[0], grads: Array.from(g.dataSync()) };
      });
      expect(tf.memory().numTensors).to.equal(before);
      expect(value).to.be.closeTo(byHand(R, ties, o), 1e-5);
      R.forEach((_, i) => expect(grads[i], `∂/∂r${i}`).to.be.closeTo(fd((v) => byHand(R.map((x, j) => (j === i ? v : x)), ties, o), R[i]), 2e-4));
    });
  }

  it('centering adds coef × the mean over pairs of (r_w + r_l)² (TRL), 0 when rewards sum to zero pairwise', () => {
    const cs: Comparison[] = [{ prompt: 'p', completions: ['a', 'b'], ranking: [0, 1] }];
    const b = buildPairBatch(cs, [0], 2, 'drop');
    const loss = (r: number[], c: number | null) => tf.tidy(() => btLoss(tf.tensor1d(r), b, { tieStrength: null, rankings: 'all-pairs', centerRewardsCoefficient: c }).dataSync()[0]);
    expect(loss([1, -1], 0.01)).to.be.closeTo(loss([1, -1], null), 1e-7);
    expect(loss([3, 1], 0.01) - loss([3, 1], null)).to.be.closeTo(0.01 * 16, 1e-6);
  });

  it('options are checked with messages naming the field', () => {
    const base = { model: 'm', out: 'o', data: ['x'] };
    expect(resolveRmConfig(base)).to.include({ ties: 'drop', rankings: 'all-pairs', tieStrength: null, centerRewardsCoefficient: null });
    expect(() => resolveRmConfig({ ...base, ties: 'equal', tieStrength: 2 })).to.throw(/config: tieStrength applies to ties davidson and rao-kupper only, not equal/);
    expect(() => resolveRmConfig({ ...base, ties: 'rao-kupper', tieStrength: 1 })).to.throw(/tieStrength must be > 1 for rao-kupper/);
    expect(() => resolveRmConfig({ ...base, ties: 'davidson', tieStrength: 0 })).to.throw(/tieStrength must be > 0 for davidson/);
    expect(() => resolveRmConfig({ ...base, ties: 'davidson', rankings: 'plackett-luce' })).to.throw(/plackett-luce has no tie probability/);
    expect(() => resolveRmConfig({ ...base, rankings: 'plackett-luce', margin: 0.5 })).to.throw(/margin applies to rankings all-pairs only/);
    expect(() => resolveRmConfig({ ...base, rankings: 'top-k' })).to.throw(/rankings must be one of all-pairs, plackett-luce/);
    expect(() => resolveRmConfig({ ...base, centerRewardsCoefficient: -1 })).to.throw(/centerRewardsCoefficient/);
    expect(preferenceOptionsError({ ties: 'equal', tieStrength: null, rankings: 'plackett-luce' })).to.equal(null);
  });
});
