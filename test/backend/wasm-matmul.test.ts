import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { initBackend } from '../../backend/backend.js';
import { Rng } from '../../lm/rng.js';
import { maxAbsDiff, useBackend } from '../helpers.js';

/** [aShape, bShape, transposeA, transposeB]: batched, transposed, broadcast and odd sizes. */
const CASES: [number[], number[], boolean, boolean][] = [
  [[8, 33, 17], [8, 17, 29], false, false],
  [[2, 3, 40, 16], [2, 3, 40, 16], false, true], // attention scores q·kᵀ
  [[2, 3, 40, 40], [2, 3, 40, 16], false, false], // probabilities · v
  [[2, 3, 40, 40], [2, 3, 40, 16], true, false], // backward: pᵀ · dy
  [[6, 19, 35], [6, 23, 19], true, true],
  [[5, 31, 37], [1, 37, 41], false, false], // b broadcast over the batch
  [[1, 31, 37], [4, 37, 41], false, false], // a broadcast
  [[4, 37, 64], [37, 70], true, false], // rank-2 b
  [[3, 1, 64], [3, 64, 50], false, false], // one row per batch entry (KV-cache decoding): stock kernel
  [[300, 200], [200, 100], false, false], // plain 2-D
];

function randomArray(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** fn's result on the cpu backend, then on wasm; null when wasm cannot load here. */
async function cpuThenWasm<T>(fn: () => T): Promise<[T, T] | null> {
  await initBackend('cpu', { quiet: true });
  const cpu = fn();
  try {
    await initBackend('wasm', { quiet: true });
  } catch {
    return null;
  }
  return [cpu, fn()];
}

describe('backend/wasm-matmul', () => {
  after(useBackend);

  it('BatchMatMul on wasm (XNNPACK per batch entry) equals the cpu backend on every case', async function () {
    const rng = new Rng(3);
    const inputs = CASES.map(([sa, sb]) => [randomArray(sa.reduce((x, y) => x * y), rng), randomArray(sb.reduce((x, y) => x * y), rng)]);
    const run = () => CASES.map(([sa, sb, ta, tb], i) => tf.tidy(() => {
      const y = tf.matMul(tf.tensor(inputs[i][0], sa), tf.tensor(inputs[i][1], sb), ta, tb);
      return { shape: y.shape, data: y.dataSync().slice() };
    }));
    const before = tf.memory().numTensors;
    const both = await cpuThenWasm(run);
    if (!both) this.skip();
    const [want, got] = both!;
    expect(tf.memory().numTensors).to.equal(before);
    CASES.forEach((c, i) => {
      expect(got[i].shape, JSON.stringify(c)).to.deep.equal(want[i].shape);
      expect(maxAbsDiff(got[i].data, want[i].data), JSON.stringify(c)).to.be.lessThan(1e-4);
    });
  });

  it('its gradients (transposed products) equal the cpu backend', async function () {
    const rng = new Rng(4);
    const q = randomArray(2 * 3 * 24 * 8, rng);
    const k = randomArray(2 * 3 * 24 * 8, rng);
    const grad = () => tf.tidy(() => {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, false, true))));
      return g([tf.tensor(q, [2, 3, 24, 8]), tf.tensor(k, [2, 3, 24, 8])]).map((t) => t.dataSync().slice());
    });
    const both = await cpuThenWasm(grad);
    if (!both) this.skip();
    const [want, got] = both!;
    for (let i = 0; i < 2; i++) expect(maxAbsDiff(got[i], want[i])).to.be.lessThan(1e-4);
  });
});
