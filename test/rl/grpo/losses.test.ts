import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { type GrpoLossOptions, grpoLoss, type GrpoLossType, k3PerToken, LOSS_METRIC_NAMES, namedLossMetrics, stackLossMetrics } from '../../../rl/grpo/losses.js';
import { useBackend } from '../../helpers.js';

// Three completions, T = 3: #0 three tokens (A = 1), #1 two tokens and a pad (A = −0.5), #2 truncated and
// masked out whole (maskTruncatedCompletions) with absurd ratios the mask must drop. ε = 0.2, ε_high = 0.28.
//   #0 ratios 1.25 (inside: 1.25 < 1.28), 1.3 (clipped high to 1.28), 0.9  → ℓ = −1.25, −1.28, −0.9  (Σ −3.43)
//   #1 ratios 0.7 (A < 0: clipped low to 0.8, ℓ = 0.4), 1.0 (ℓ = 0.5)                            (Σ 0.9)
const ratios = [[1.25, 1.3, 0.9], [0.7, 1.0, 5], [1.5, 1.5, 1.5]];
const oldRows = [[-1, -2, -0.5], [-3, -1.5, -1], [-2, -2, -2]];
const maskRows = [[1, 1, 1], [1, 1, 0], [0, 0, 0]];
const adv = [1, -0.5, 2];
const logpRows = ratios.map((r, b) => r.map((x, t) => oldRows[b][t] + Math.log(x)));

const base: GrpoLossOptions = { lossType: 'grpo', epsilon: 0.2, epsilonHigh: 0.28, beta: 0, maxCompletionLength: 4, numItemsInBatch: 10, gradientAccumulationSteps: 1 };

function run(o: Partial<GrpoLossOptions>, withOld = true, ref?: number[][]) {
  return tf.tidy(() => {
    const p = grpoLoss({
      logp: tf.tensor2d(logpRows), oldLogp: withOld ? tf.tensor2d(oldRows) : null, refLogp: ref ? tf.tensor2d(ref) : null,
      advantages: tf.tensor1d(adv), mask: tf.tensor2d(maskRows), entropy: tf.tensor2d([[1, 2, 3], [4, 5, 99], [99, 99, 99]]),
    }, { ...base, ...o });
    return { loss: p.loss.dataSync()[0], metrics: namedLossMetrics(stackLossMetrics(p).dataSync()) };
  });
}

function grad(o: Partial<GrpoLossOptions>, ref?: number[][]): number[][] {
  return tf.tidy(() => {
    const f = (lp: tf.Tensor) => grpoLoss({ logp: lp as tf.Tensor2D, oldLogp: tf.tensor2d(oldRows), refLogp: ref ? tf.tensor2d(ref) : null, advantages: tf.tensor1d(adv), mask: tf.tensor2d(maskRows) }, { ...base, ...o }).loss;
    return tf.grad(f)(tf.tensor2d(logpRows)).arraySync() as number[][];
  });
}

const expectRows = (got: number[][], want: number[][], tol = 1e-5) => got.forEach((row, b) => row.forEach((g, t) => expect(g, `[${b}][${t}]`).to.be.closeTo(want[b][t], tol)));

describe('rl/grpo/losses', () => {
  before(useBackend);

  const want: Record<GrpoLossType, number> = {
    grpo: (-3.43 / 3 + 0.9 / 2 + 0) / 3, //   per-sequence means, the empty sequence counting as 0
    bnpo: (-3.43 + 0.9) / 5, //                 5 counted tokens in the micro-batch
    dr_grpo: (-3.43 + 0.9) / (3 * 4), //        B × maxCompletionLength
    dapo: (-3.43 + 0.9) / 10, //                numItemsInBatch over the whole step
  };
  for (const lossType of Object.keys(want) as GrpoLossType[]) {
    it(`${lossType}: the hand-computed value, and gradient accumulation scaling`, () => {
      const before = tf.memory().numTensors;
      expect(run({ lossType }).loss).to.be.closeTo(want[lossType], 1e-5);
      // dapo's global token count already spans the accumulated micro-batches; the others divide by G_a
      expect(run({ lossType, gradientAccumulationSteps: 2 }).loss).to.be.closeTo(lossType === 'dapo' ? want.dapo : want[lossType] / 2, 1e-5);
      expect(tf.memory().numTensors).to.equal(before);
    });
  }

  it('gradients: −A·ρ times the aggregation weight where unclipped, 0 where clipped or masked', () => {
    const before = tf.memory().numTensors;
    // grpo weights a token 1 / (n_b · B): #0 has n = 3, #1 n = 2, B = 3
    expectRows(grad({ lossType: 'grpo' }), [[-1.25 / 9, 0, -0.9 / 9], [0, 0.5 / 6, 0], [0, 0, 0]]);
    expectRows(grad({ lossType: 'dapo' }), [[-1.25 / 10, 0, -0.9 / 10], [0, 0.5 / 10, 0], [0, 0, 0]]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('asymmetric clipping: ε_high = 0.28 keeps ρ = 1.25 in, ε_high = ε = 0.2 clips it', () => {
    const sym = run({ lossType: 'bnpo', epsilonHigh: 0.2 });
    expect(sym.loss).to.be.closeTo((-1.2 - 1.2 - 0.9 + 0.9) / 5, 1e-5);
    expect(sym.metrics['clip_ratio/high_mean']).to.be.closeTo(2 / 5, 1e-6);
    expectRows(grad({ lossType: 'bnpo', epsilonHigh: 0.2 }), [[0, 0, -0.9 / 5], [0, 0.5 / 5, 0], [0, 0, 0]]);
  });

  it("clip metrics as TRL defines them: token means, per-sequence min / max skipping empty sequences", () => {
    const m = run({}).metrics;
    expect(m['clip_ratio/low_mean']).to.be.closeTo(1 / 5, 1e-6); //     #1's ρ = 0.7 with A < 0
    expect(m['clip_ratio/high_mean']).to.be.closeTo(1 / 5, 1e-6); //    #0's ρ = 1.3 with A > 0 (#2's are masked)
    expect(m['clip_ratio/region_mean']).to.be.closeTo(2 / 5, 1e-6);
    expect(m['clip_ratio/low_min']).to.be.closeTo(0, 1e-6); //          min(0, 1/2), #2 (no tokens) skipped
    expect(m['clip_ratio/high_max']).to.be.closeTo(1 / 3, 1e-6); //     max(1/3, 0)
    expect(m.entropy).to.be.closeTo(15 / 5, 1e-6);
    expect(m.kl).to.equal(undefined);
    expect(Object.keys(m)).to.deep.equal(LOSS_METRIC_NAMES.filter((n) => n !== 'kl'));
  });

  it('oldLogp null (numIterations 1): ratio 1, the same gradient as a constant copy of logp', () => {
    const before = tf.memory().numTensors;
    const [gNull, gCopy, value] = tf.tidy(() => {
      const lp = tf.tensor2d(logpRows);
      const common = { refLogp: null, advantages: tf.tensor1d(adv), mask: tf.tensor2d(maskRows) };
      const f = (old: tf.Tensor2D | null) => (x: tf.Tensor) => grpoLoss({ ...common, logp: x as tf.Tensor2D, oldLogp: old }, { ...base, lossType: 'bnpo' }).loss;
      return [tf.grad(f(null))(lp).arraySync(), tf.grad(f(tf.tensor2d(logpRows)))(lp).arraySync(), f(null)(lp).dataSync()[0]] as [number[][], number[][], number];
    });
    // ρ = 1 everywhere: ℓ = −A, d/dlogp = −A / 5 on counted tokens
    expect(value).to.be.closeTo((-3 * 1 + 2 * 0.5) / 5, 1e-6);
    expectRows(gNull, [[-0.2, -0.2, -0.2], [0.1, 0.1, 0], [0, 0, 0]]);
    expectRows(gNull, gCopy);
    expect(run({}, false).metrics['clip_ratio/region_mean']).to.equal(0);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('k3 KL: e^d − d − 1 (d = ref − logp), its gradient 1 − e^d against tf.grad and finite differences', () => {
    const before = tf.memory().numTensors;
    const lp = [-1, -2, -0.4];
    const ref = [-0.5, -2.3, -0.4]; // d = 0.5, −0.3, 0
    const want = [Math.exp(0.5) - 1.5, Math.exp(-0.3) + 0.3 - 1, 0];
    const [val, g] = tf.tidy(() => [
      Array.from(k3PerToken(tf.tensor1d(lp), tf.tensor1d(ref)).dataSync()),
      Array.from(tf.grad((x: tf.Tensor) => tf.sum(k3PerToken(x, tf.tensor1d(ref))))(tf.tensor1d(lp)).dataSync()),
    ]);
    val.forEach((v, i) => expect(v).to.be.closeTo(want[i], 1e-6));
    const k3 = (x: number, r: number) => Math.exp(r - x) - (r - x) - 1;
    const h = 1e-4;
    g.forEach((v, i) => {
      expect(v).to.be.closeTo(1 - Math.exp(ref[i] - lp[i]), 1e-5);
      expect(v).to.be.closeTo((k3(lp[i] + h, ref[i]) - k3(lp[i] - h, ref[i])) / (2 * h), 1e-4);
    });
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('beta > 0 adds β·k3 per token before the aggregation, and logs kl as its masked token mean', () => {
    // reference 0.5 above the policy on every token: k3 = e^0.5 − 1.5 per counted token
    const ref = logpRows.map((row) => row.map((x) => x + 0.5));
    const k = Math.exp(0.5) - 1.5;
    const r = run({ lossType: 'bnpo', beta: 0.1 }, true, ref);
    expect(r.loss).to.be.closeTo(want.bnpo + 0.1 * k, 1e-5);
    expect(r.metrics.kl).to.be.closeTo(k, 1e-6);
    const g0 = grad({ lossType: 'bnpo' });
    const g1 = grad({ lossType: 'bnpo', beta: 0.1 }, ref);
    // the KL adds β (1 − e^0.5) / 5 on every counted token
    expectRows(g1, g0.map((row, b) => row.map((x, t) => x + maskRows[b][t] * 0.1 * (1 - Math.exp(0.5)) / 5)));
    expect(() => tf.tidy(() => grpoLoss({ logp: tf.tensor2d(logpRows), oldLogp: null, refLogp: null, advantages: tf.tensor1d(adv), mask: tf.tensor2d(maskRows) }, { ...base, beta: 0.1 }).loss)).to.throw(/beta is 0.1 but no refLogp/);
  });
});
