// The LM head's statistics a slice of rows at a time equal the whole-tensor ops (values and gradients, a
// trainable and a frozen head), and the sliced path never holds the [N, V] logits: its peak memory stays
// a fraction of theirs.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { headCrossEntropy, headRows, WHOLE_LOGITS } from '../../lm/head-rows.js';
import { crossEntropy, oneHotF32, tiedHead } from '../../lm/ops.js';
import { headLogprobsAndEntropy, logprobsAndEntropy } from '../../rl/logprobs.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

const nllStats = (targets: tf.Tensor1D, V: number) => ({
  k: 1,
  value: (z: tf.Tensor2D, r: [number, number]) => {
    const t = tf.slice(targets, [r[0]], [r[1] - r[0]]) as tf.Tensor1D;
    return tf.reshape(tf.sub(tf.logSumExp(z, -1), tf.sum(tf.mul(z, oneHotF32(t, V)), -1)), [-1, 1]) as tf.Tensor2D;
  },
  grad: (z: tf.Tensor2D, r: [number, number], dy: tf.Tensor2D) => tf.mul(tf.sub(tf.softmax(z), oneHotF32(tf.slice(targets, [r[0]], [r[1] - r[0]]) as tf.Tensor1D, V)), dy) as tf.Tensor2D,
});

describe('lm/head-rows', () => {
  before(useBackend);

  for (const frozen of [false, true]) {
    it(`sliced cross-entropy equals the whole-tensor loss, with its gradients (${frozen ? 'frozen' : 'trainable'} head)`, () => {
      const [N, C, V] = [37, 16, 101];
      const h = tf.variable(tf.randomNormal([N, C], 0, 1, 'float32', 1)) as tf.Variable<tf.Rank.R2>;
      const w = tf.variable(tf.randomNormal([V, C], 0, 0.5, 'float32', 2), !frozen) as tf.Variable<tf.Rank.R2>;
      const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7) % V), 'int32');
      const weights = tf.tensor1d(Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 0 : 1 + (i % 3))));
      const before = tf.memory().numTensors;
      const whole = tf.variableGrads(() => crossEntropy(tiedHead(h, w), targets, weights));
      const sliced = tf.variableGrads(() => headCrossEntropy(h, w, targets, weights, 5)); // 8 slices, the last one short
      const generic = tf.tidy(() => { // headRows itself, with statistics written here
        const nll = headRows(h, w, nllStats(targets, V), 6);
        return tf.div(tf.sum(tf.mul(tf.reshape(nll, [-1]), weights)), tf.sum(weights)).dataSync()[0];
      });
      expect(Math.abs(generic - whole.value.dataSync()[0])).to.be.below(1e-5);
      expect(Math.abs(whole.value.dataSync()[0] - sliced.value.dataSync()[0])).to.be.below(1e-5);
      const names = Object.keys(whole.grads);
      expect(names.sort()).to.deep.equal(Object.keys(sliced.grads).sort());
      expect(names).to.have.length(frozen ? 1 : 2);
      for (const n of names) expect(maxAbsDiff(whole.grads[n].dataSync(), sliced.grads[n].dataSync()), n).to.be.below(1e-5);
      tf.dispose([whole.value, sliced.value, ...Object.values(whole.grads), ...Object.values(sliced.grads)]);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([h, w, targets, weights]);
    });
  }

  it('PPO\'s log-probabilities and entropy, sliced, equal the whole-tensor op with its gradients', () => {
    const [N, C, V] = [23, 8, 64];
    const h = tf.variable(tf.randomNormal([N, C], 0, 1, 'float32', 3)) as tf.Variable<tf.Rank.R2>;
    const w = tf.variable(tf.randomNormal([V, C], 0, 0.5, 'float32', 4)) as tf.Variable<tf.Rank.R2>;
    const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 5) % V), 'int32');
    const mix = tf.tensor2d(Array.from({ length: N }, (_, i) => [1 + (i % 2), -0.3]));
    const whole = tf.variableGrads(() => tf.sum(tf.mul(logprobsAndEntropy(tiedHead(h, w), targets, 0.7), mix)) as tf.Scalar);
    const sliced = tf.variableGrads(() => tf.sum(tf.mul(headLogprobsAndEntropy(h, w, targets, 0.7, 4), mix)) as tf.Scalar); // 6 slices of 4 rows
    expect(Math.abs(whole.value.dataSync()[0] - sliced.value.dataSync()[0])).to.be.below(1e-4);
    for (const n of Object.keys(whole.grads)) expect(maxAbsDiff(whole.grads[n].dataSync(), sliced.grads[n].dataSync()), n).to.be.below(1e-5);
    // below the threshold the public function is the whole-tensor op itself
    const direct = tf.tidy(() => headLogprobsAndEntropy(h, w, targets, 0.7).dataSync());
    expect(maxAbsDiff(direct, tf.tidy(() => logprobsAndEntropy(tiedHead(h, w), targets, 0.7).dataSync()))).to.equal(0);
    tf.dispose([whole.value, sliced.value, ...Object.values(whole.grads), ...Object.values(sliced.grads), h, w, targets, mix]);
  });

  it('sliced, the gradients need no tensor of the caller to outlive the forward (targets made inside the function)', () => {
    // PPO builds its targets inside the differentiated function; its forward's tidy frees them before
    // backward runs, so the sliced backward must use the copies tfjs saved (it once read freed targets).
    const [N, C, V] = [12, 8, 64];
    const h = tf.variable(tf.randomNormal([N, C], 0, 1, 'float32', 5)) as tf.Variable<tf.Rank.R2>;
    const w = tf.variable(tf.randomNormal([V, C], 0, 0.5, 'float32', 6)) as tf.Variable<tf.Rank.R2>;
    const ids = Array.from({ length: N }, (_, i) => (i * 7) % V);
    const before = tf.memory().numTensors;
    const inside = [
      () => tf.variableGrads(() => tf.sum(headLogprobsAndEntropy(h, w, tf.tensor1d(ids, 'int32'), 0.7, 5)) as tf.Scalar),
      () => tf.variableGrads(() => headCrossEntropy(h, w, tf.tensor1d(ids, 'int32'), tf.ones([N]) as tf.Tensor1D, 5)),
    ];
    const outside = tf.tensor1d(ids, 'int32');
    const reference = [
      () => tf.variableGrads(() => tf.sum(headLogprobsAndEntropy(h, w, outside, 0.7, 5)) as tf.Scalar),
      () => tf.variableGrads(() => headCrossEntropy(h, w, outside, tf.ones([N]) as tf.Tensor1D, 5)),
    ];
    inside.forEach((run, k) => {
      const a = run();
      const b = reference[k]();
      for (const n of Object.keys(b.grads)) expect(maxAbsDiff(a.grads[n].dataSync(), b.grads[n].dataSync()), n).to.equal(0);
      tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
    });
    outside.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([h, w]);
  });

  it('sliced, the loss and the log-probabilities never hold the [N, V] logits: peak memory a fraction of the whole path\'s', async () => {
    const V = 151_936; // Qwen2's vocabulary
    const N = 200; // whole logits: 122 MB
    const C = 8;
    const h = tf.variable(tf.randomNormal([N, C], 0, 1, 'float32', 5)) as tf.Variable<tf.Rank.R2>;
    const w = tf.variable(tf.randomNormal([V, C], 0, 0.1, 'float32', 6), false) as tf.Variable<tf.Rank.R2>; // frozen, as under LoRA
    const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 977) % V), 'int32');
    const ones = tf.ones([N]) as tf.Tensor1D;
    const peak = async (run: () => { value: tf.Scalar; grads: tf.NamedTensorMap }) => {
      let out: { value: tf.Scalar; grads: tf.NamedTensorMap } | null = null;
      const info = await tf.profile(() => {
        out = run();
      });
      const value = out!.value.dataSync()[0];
      tf.dispose([out!.value, ...Object.values(out!.grads)]);
      return { value, peak: info.peakBytes };
    };
    const slice = N / 10;
    const pairs = [
      [() => tf.variableGrads(() => crossEntropy(tiedHead(h, w), targets, ones), [h]), () => tf.variableGrads(() => headCrossEntropy(h, w, targets, ones, slice), [h])],
      [() => tf.variableGrads(() => tf.sum(logprobsAndEntropy(tiedHead(h, w), targets, 1)) as tf.Scalar, [h]), () => tf.variableGrads(() => tf.sum(headLogprobsAndEntropy(h, w, targets, 1, slice)) as tf.Scalar, [h])],
    ];
    for (const [whole, sliced] of pairs) {
      const a = await peak(whole);
      const b = await peak(sliced);
      expect(Math.abs(a.value - b.value)).to.be.below(1e-3 * Math.max(1, Math.abs(a.value)));
      expect(a.peak).to.be.above(N * V * 4); // the whole path holds the logits (and more)
      expect(b.peak).to.be.below(a.peak / 3);
    }
    tf.dispose([h, w, targets, ones]);
  });
});
