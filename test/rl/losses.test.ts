import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { logprobsAndEntropy } from '../../rl/logprobs.js';
import { policyKl, policyLoss, valueLoss } from '../../rl/losses.js';
import { useBackend } from '../helpers.js';

const t1 = (x: number[]) => tf.tensor1d(x);

describe('rl/losses', () => {
  before(useBackend);

  it('clipped surrogate: values, clip fraction and zero gradient outside the clip range', () => {
    // clip 0.2. Tokens: (A=1, r=1.19) inside; (A=1, r=1.21) clipped; (A=−1, r=0.79) clipped; (A=−1, r=0.81) inside;
    // a padding token with absurd values that the mask must drop.
    const ratios = [1.19, 1.21, 0.79, 0.81, 50];
    const adv = t1([1, 1, -1, -1, 100]);
    const old = t1([-1, -2, -3, -1.5, -1]);
    const logp = t1(ratios.map((r, i) => [-1, -2, -3, -1.5, -1][i] + Math.log(r)));
    const mask = t1([1, 1, 1, 1, 0]);
    const before = tf.memory().numTensors;
    const stats = tf.tidy(() => {
      const p = policyLoss(logp, old, adv, mask, 0.2);
      return [p.loss, p.clipfrac, p.approxkl, p.ratioMean].map((x) => x.dataSync()[0]);
    });
    const [loss, clipfrac, approxkl, ratioMean] = stats;
    expect(loss).to.be.closeTo((-1.19 - 1.2 + 0.8 + 0.81) / 4, 1e-5);
    expect(clipfrac).to.be.closeTo(0.5, 1e-6);
    expect(ratioMean).to.be.closeTo((1.19 + 1.21 + 0.79 + 0.81) / 4, 1e-5);
    expect(approxkl).to.be.closeTo(0.5 * ratios.slice(0, 4).reduce((s, r) => s + Math.log(r) ** 2, 0) / 4, 1e-6);
    const g = tf.tidy(() => tf.grad((lp: tf.Tensor) => policyLoss(lp as tf.Tensor1D, old, adv, mask, 0.2).loss)(logp).dataSync().slice());
    // d/dlogp of −A·r is −A·r inside the range, 0 where clipped or masked
    const want = [-1.19 / 4, 0, 0, 0.81 / 4, 0];
    for (let i = 0; i < 5; i++) expect(g[i]).to.be.closeTo(want[i], 1e-5);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('clipped value loss: max of the plain and clipped squared errors, halved', () => {
    // clip 0.2, old value 0, return 1: v=0.1 inside; v=0.5 clipped to 0.2 (larger error); v=−0.5 clip is smaller
    const v = t1([0.1, 0.5, -0.5]);
    const old = t1([0, 0, 0]);
    const ret = t1([1, 1, 1]);
    const mask = t1([1, 1, 1]);
    const [loss, clipfrac] = tf.tidy(() => {
      const p = valueLoss(v, old, ret, mask, 0.2);
      return [p.loss.dataSync()[0], p.clipfrac.dataSync()[0]];
    });
    expect(loss).to.be.closeTo((0.5 * (0.81 + 0.64 + 2.25)) / 3, 1e-6);
    expect(clipfrac).to.be.closeTo(1 / 3, 1e-6);
    const g = tf.tidy(() => tf.grad((x: tf.Tensor) => valueLoss(x as tf.Tensor1D, old, ret, mask, 0.2).loss)(v).dataSync().slice());
    // ½·2(v − R)/3 where the plain error wins; 0 where the clipped one does
    const want = [(0.1 - 1) / 3, 0, (-0.5 - 1) / 3];
    for (let i = 0; i < 3; i++) expect(g[i]).to.be.closeTo(want[i], 1e-6);
  });
});

describe('rl/logprobs', () => {
  before(useBackend);
  const logits = [[1, 2, 3, 0.5], [0, 0, 0, 0], [-1, 4, 0.3, 2]];
  const targets = [2, 1, 0];

  function reference(z: number[][], tau: number) {
    return z.map((row, i) => {
      const s = row.map((x) => x / tau);
      const lse = Math.log(s.reduce((a, x) => a + Math.exp(x), 0));
      const p = s.map((x) => Math.exp(x - lse));
      return [s[targets[i]] - lse, -p.reduce((a, q) => a + q * Math.log(q), 0)];
    });
  }

  for (const tau of [1, 0.7]) {
    it(`log π(y) and entropy at temperature ${tau}, and gradients against finite differences`, () => {
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => logprobsAndEntropy(tf.tensor2d(logits), tf.tensor1d(targets, 'int32'), tau).arraySync());
      const want = reference(logits, tau);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(got[i][j]).to.be.closeTo(want[i][j], 1e-5);
      // objective: Σ logp·w0 + Σ H·w1 with different weights per row
      const w = [[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9]];
      const f = (z: number[][]) => reference(z, tau).reduce((s, r, i) => s + r[0] * w[i][0] + r[1] * w[i][1], 0);
      const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(logprobsAndEntropy(x as tf.Tensor2D, tf.tensor1d(targets, 'int32'), tau), tf.tensor2d(w))))(tf.tensor2d(logits)).arraySync()) as number[][];
      const h = 1e-5;
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 4; j++) {
          const up = logits.map((r) => r.slice());
          const dn = logits.map((r) => r.slice());
          up[i][j] += h;
          dn[i][j] -= h;
          expect(g[i][j]).to.be.closeTo((f(up) - f(dn)) / (2 * h), 1e-3);
        }
      }
      expect(tf.memory().numTensors).to.equal(before);
    });
  }
});

describe('rl/losses policyKl', () => {
  before(useBackend);
  it('approxkl, k1 and k3 estimates of KL(π_old ‖ π) over real tokens', () => {
    const logr = [0.5, -0.2, 0.1, 7]; // the last is padding
    const old = t1([-1, -2, -0.5, -3]);
    const logp = t1([-1 + 0.5, -2 - 0.2, -0.5 + 0.1, -3 + 7]);
    const mask = t1([1, 1, 1, 0]);
    const before = tf.memory().numTensors;
    const got = (['approxkl', 'k1', 'k3'] as const).map((e) => tf.tidy(() => policyKl(logp, old, mask, e).dataSync()[0]));
    const real = logr.slice(0, 3);
    const mean = (f: (x: number) => number) => real.reduce((a, x) => a + f(x), 0) / 3;
    expect(got[0]).to.be.closeTo(0.5 * mean((x) => x * x), 1e-6);
    expect(got[1]).to.be.closeTo(mean((x) => -x), 1e-6);
    expect(got[2]).to.be.closeTo(mean((x) => Math.expm1(x) - x), 1e-6);
    expect(got[2]).to.be.greaterThan(0);
    // the same as policyLoss's approxkl
    expect(got[0]).to.be.closeTo(tf.tidy(() => policyLoss(logp, old, t1([1, 1, 1, 1]), mask, 0.2).approxkl.dataSync()[0]), 1e-7);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
