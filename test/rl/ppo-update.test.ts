// The optimisation phase's guards (rl/ppo-update.ts) on a tiny model: the ratio-threshold skip and the
// target-KL early stop with each estimator. The rollout's old logprobs are the current ones shifted by a
// known log-ratio, and lr 0 keeps the weights (so every minibatch sees that same log-ratio) where the
// test is about which updates run.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AdamW } from '../../train/adamw.js';
import { pack, Packed, PpoModels } from '../../rl/policy.js';
import { ppoUpdate, Rollouts, UpdateSettings } from '../../rl/ppo-update.js';
import { useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';

describe('rl/ppo-update guards', () => {
  before(useBackend);
  let m: PpoModels;
  let packed: Packed;
  let current: number[][];
  before(async () => {
    m = PpoModels.load(await tinyCheckpoint(31), { lora: null, separateCritic: false, seed: 0 });
    packed = pack([[3, 4, 5], [6, 7], [8, 9, 10], [11]], [[12, 13, 14], [15, 16], [17], [18, 19, 20]], 0);
    const lp = tf.tidy(() => tf.slice(m.policyForward(packed, 1).le, [0, 0], [-1, 1]).dataSync().slice());
    const R = packed.R;
    current = Array.from({ length: 4 }, (_, b) => Array.from(lp.slice(b * R, (b + 1) * R)));
  });
  after(() => m.dispose());

  /** Old logprobs = current − logratio[b] for row b. */
  const rollouts = (logratio: number[], over: Partial<Rollouts> = {}): Rollouts => ({
    packed,
    logprobs: current.map((r, b) => r.map((x) => x - logratio[b])),
    values: packed.mask.map((r) => r.map(() => 0)),
    advantages: packed.mask.map((r, b) => r.map((k, t) => (k ? (b % 2 ? -1 : 1) * (t + 1) * 0.3 : 0))),
    returns: packed.mask.map((r) => r.map((k) => (k ? 0.5 : 0))),
    ...over,
  });
  const settings = (over: Partial<UpdateSettings> = {}): UpdateSettings => ({
    ppoEpochs: 2, miniBatchSize: 2, temperature: 1, cliprange: 0.2, cliprangeValue: 0.2, vfCoef: 0.1, entCoef: 0, targetKl: null, ratioThreshold: 10, ...over,
  });
  const weights = () => m.policy.p('h.0.attn.c_attn.weight').dataSync().slice();

  it('skips every minibatch whose mean ratio exceeds ratioThreshold: no step, no NaN, the ratios reported', () => {
    const opt = new AdamW(m.trainable(), { lr: 1e-2 });
    const w0 = weights();
    const before = tf.memory().numTensors;
    const u = ppoUpdate(m, opt, rollouts([3, 3, 3, 3]), settings(), () => 7, '');
    expect(tf.memory().numTensors).to.equal(before);
    expect(u.updates).to.equal(0);
    expect(opt.t).to.equal(0);
    expect(u['policy/skipped_minibatches']).to.equal(4);
    for (const r of u.skippedRatios) expect(r).to.be.closeTo(Math.exp(3), 1e-3);
    expect(u['loss/policy_avg']).to.equal(undefined); // left out, never NaN
    expect(Object.values(u).filter((v) => typeof v === 'number').every(Number.isFinite)).to.equal(true);
    expect(Array.from(weights())).to.deep.equal(Array.from(w0));
  });

  it('skips only the minibatches over the threshold and averages the applied ones', () => {
    const opt = new AdamW(m.trainable(), { lr: 0 });
    const u = ppoUpdate(m, opt, rollouts([3, 3, 0, 0]), settings({ miniBatchSize: 1 }), () => 7, '');
    expect([u.updates, u['policy/skipped_minibatches'], opt.t]).to.deep.equal([4, 4, 4]);
    expect(u['val/ratio']).to.be.closeTo(1, 1e-4);
    const off = ppoUpdate(m, new AdamW(m.trainable(), { lr: 0 }), rollouts([3, 3, 0, 0]), settings({ miniBatchSize: 1, ratioThreshold: 0 }), () => 7, '');
    expect([off.updates, off['policy/skipped_minibatches']]).to.deep.equal([8, 0]); // 0 disables the guard
  });

  // log r = +0.5 on every token: approxkl 0.125, k1 −0.5, k3 e^0.5 − 1.5 ≈ 0.149; log r = −0.5: k1 +0.5, k3 ≈ 0.107
  const cases: [number, 'approxkl' | 'k1' | 'k3', number | null, number][] = [
    [0.5, 'approxkl', null, 4], // no target: every update runs
    [0.5, 'approxkl', 0.05, 1], // 0.125 > 1.5 · 0.05: stop after the first update
    [0.5, 'approxkl', 0.09, 4], // 0.125 < 0.135
    [0.5, 'k3', 0.09, 1], //       0.149 > 0.135
    [0.5, 'k1', 0.09, 4], //       −0.5 never stops
    [-0.5, 'k1', 0.09, 1], //      +0.5 > 0.135
    [-0.5, 'k3', 0.09, 4], //      0.107 < 0.135
  ];
  for (const [logr, estimator, targetKl, updates] of cases) {
    it(`target-KL early stop: log-ratio ${logr}, ${estimator}, targetKl ${targetKl} -> ${updates} update(s)`, () => {
      const opt = new AdamW(m.trainable(), { lr: 0 });
      const lrs: number[] = [];
      const u = ppoUpdate(m, opt, rollouts([logr, logr, logr, logr]), settings({ targetKl, targetKlEstimator: estimator, lrAt: (k) => (lrs.push(k), 0) }), () => 7, '');
      expect(u.updates).to.equal(updates);
      expect(u['policy/early_stopped']).to.equal(updates < 4 ? 1 : 0);
      expect(lrs).to.deep.equal([0, 1, 2, 3].slice(0, updates)); // the schedule is asked once per planned update
      expect(u['policy/approxkl_avg']).to.be.closeTo(0.125, 1e-4); // the logged metric stays TRL's approxkl
    });
  }

  it('the value loss counts the positions of valueMask (the score-after-last-token convention)', () => {
    // row 1 has 2 real tokens of R = 3; a return of 10 on its first padding position counts only under valueMask
    const returns = packed.mask.map((r, b) => r.map((k, t) => (k ? 0.5 : b === 1 && t === 2 ? 10 : 0)));
    const valueMask = packed.mask.map((r, b) => r.map((k, t) => (k || (b === 1 && t === 2) ? 1 : 0)));
    const run = (over: Partial<Rollouts>) => ppoUpdate(m, new AdamW(m.trainable(), { lr: 0 }), rollouts([0, 0, 0, 0], { returns, ...over }), settings({ ppoEpochs: 1, miniBatchSize: 4 }), () => 7, '');
    const plain = run({})['loss/value_avg']!;
    const covered = run({ valueMask })['loss/value_avg']!;
    // values are 0 (fresh head): ½·mean(R²) over 9 real tokens, or over those and the extra position
    expect(plain).to.be.closeTo((0.5 * 9 * 0.25) / 9, 1e-6);
    expect(covered).to.be.closeTo((0.5 * (9 * 0.25 + 100)) / 10, 1e-5);
  });
});
