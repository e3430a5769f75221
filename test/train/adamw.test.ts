import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AdamW, NonFiniteError } from '../../train/adamw.js';
import { useBackend } from '../helpers.js';

describe('train/adamw', () => {
  before(useBackend);

  it("matches torch.optim.AdamW's update worked by hand over two steps", () => {
    const w = tf.variable(tf.tensor2d([[1, -2]]), true, 'adamw_w');
    const b = tf.variable(tf.tensor1d([0.5]), true, 'adamw_b');
    const opt = new AdamW(new Map<string, tf.Variable>([['w', w], ['b', b]]), { lr: 0.1, weightDecay: 0.5, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    // step 1, g = [0.2, -0.4]: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², update = lr·sign(g)
    //   w ← w (1 - 0.1·0.5) - 0.1·sign(g) = [0.95 - 0.1, -1.9 + 0.1] = [0.85, -1.8]
    // bias (rank 1) does not decay: b ← 0.5 - 0.1 = 0.4 for g = 1
    opt.applyGradients({ w: tf.tensor2d([[0.2, -0.4]]), b: tf.tensor1d([1]) });
    expect(Array.from(w.dataSync())[0]).to.be.closeTo(0.85, 1e-6);
    expect(Array.from(w.dataSync())[1]).to.be.closeTo(-1.8, 1e-6);
    expect(b.dataSync()[0]).to.be.closeTo(0.4, 1e-6);
    // step 2, g = [0.1, 0]: m = 0.9·0.02 + 0.1·0.1 = 0.028, v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5
    //   m̂ = 0.028 / 0.19 = 0.147368..., v̂ = 4.996e-5 / 0.001999 = 0.0249925..., step = 0.1 m̂ / (√v̂ + ε)
    const mhat = 0.028 / (1 - 0.9 ** 2);
    const vhat = 4.996e-5 / (1 - 0.999 ** 2);
    const expected0 = 0.85 * 0.95 - (0.1 * mhat) / (Math.sqrt(vhat) + 1e-8);
    // second element: g = 0, m = 0.9·(-0.04) = -0.036, v = 0.999·1.6e-4
    const expected1 = -1.8 * 0.95 - (0.1 * (-0.036 / 0.19)) / (Math.sqrt((0.999 * 1.6e-4) / (1 - 0.999 ** 2)) + 1e-8);
    opt.applyGradients({ w: tf.tensor2d([[0.1, 0]]), b: tf.tensor1d([0]) });
    expect(w.dataSync()[0]).to.be.closeTo(expected0, 1e-6);
    expect(w.dataSync()[1]).to.be.closeTo(expected1, 1e-6);
    expect(opt.t).to.equal(2);
    w.dispose();
    b.dispose();
  });

  it('clips the global gradient norm', () => {
    const w = tf.variable(tf.tensor1d([0, 0]), true, 'adamw_clip');
    const opt = new AdamW(new Map([['w', w]]), { lr: 1, maxGradNorm: 1, beta1: 0, beta2: 0, eps: 0 });
    const info = opt.applyGradients({ w: tf.tensor1d([3, 4]) });
    expect(info.gradNorm).to.be.closeTo(5, 1e-9);
    // with β = 0 the step is g_clipped / |g_clipped| elementwise = sign: clipping shows in m and v
    expect(opt.m.get('w')![0]).to.be.closeTo(0.6, 1e-5);
    expect(opt.m.get('w')![1]).to.be.closeTo(0.8, 1e-5);
    w.dispose();
  });

  it('refuses a NaN or Inf gradient and leaves the weights and moments untouched', () => {
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'adamw_nan');
    const opt = new AdamW(new Map([['w', w]]), { lr: 0.1 });
    for (const bad of [NaN, Infinity]) {
      expect(() => opt.applyGradients({ w: tf.tensor1d([0.5, bad]) })).to.throw(NonFiniteError);
      expect(Array.from(w.dataSync())).to.deep.equal([1, 2]);
      expect(Array.from(opt.m.get('w')!)).to.deep.equal([0, 0]);
      expect(opt.t).to.equal(0);
    }
    w.dispose();
  });
});
