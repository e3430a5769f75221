// The streaming backward pass (backend/streaming-backprop.ts) against tfjs's own: the same gradients, bit for
// bit, on GPT-2 and Llama-family models (full and LoRA); fewer bytes held while it runs; no tensor left over.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { configFromHF } from '../../lm/hf-config.js';
import { Lora } from '../../lm/lora.js';
import { GPT } from '../../lm/model.js';
import { initModel } from '../../lm/models/registry.js';
import { FAMILIES } from '../lm/models/families.js';
import { tinyConfig, useBackend } from '../helpers.js';

type Grads = (f: () => tf.Scalar, xs: tf.Variable[]) => { value: tf.Scalar; grads: tf.Tensor[] };
const engine = () => tf.engine() as unknown as { gradients: Grads; rlhfTfjsGradients?: Grads };

/** The loss's gradients for the model's trainable variables, by the given gradients() implementation. */
function gradsBy(impl: Grads, model: GPT, ids: tf.Tensor2D, vars: tf.Variable[]): Float32Array[] {
  const { value, grads } = impl.call(tf.engine(), () => model.loss(ids) as tf.Scalar, vars);
  const out = grads.map((g) => g.dataSync() as Float32Array);
  value.dispose();
  tf.dispose(grads);
  return out;
}

describe('streaming backprop: tfjs gradients, freeing as it goes', () => {
  before(useBackend);

  const cases: [string, () => GPT][] = [
    ['gpt2', () => initModel(tinyConfig(), 1)],
    ...Object.entries(FAMILIES).slice(0, 5).map(([name, hf]) => [name, () => initModel(configFromHF(hf), 2)] as [string, () => GPT]),
  ];
  for (const [name, make] of cases) {
    for (const lora of [false, true]) {
      it(`${name}${lora ? ', LoRA' : ''}: gradients equal tfjs's bit for bit, no tensor left`, () => {
        expect(engine().rlhfTfjsGradients, 'installed by initBackend').to.be.a('function');
        const model = make();
        const adapter = lora ? Lora.attach(model, { rank: 4, alpha: 8, targets: ['attn', 'mlp'] }, 3) : null;
        if (adapter) tf.tidy(() => [...adapter.params.values()].forEach((v, i) => v.assign(tf.randomNormal(v.shape, 0, 0.05, 'float32', 7 + i))));
        const vars = [...(adapter ? adapter.params : model.params).values()];
        const ids = tf.tensor2d([[1, 5, 9, 3, 7, 2], [4, 4, 8, 1, 0, 6]], [2, 6], 'int32');
        const before = tf.memory().numTensors;
        const ours = gradsBy(engine().gradients, model, ids, vars);
        expect(tf.memory().numTensors).to.equal(before);
        const theirs = gradsBy(engine().rlhfTfjsGradients!, model, ids, vars);
        expect(ours.length).to.equal(theirs.length);
        ours.forEach((g, i) => expect(Array.from(g)).to.deep.equal(Array.from(theirs[i]), `gradient ${i}`));
        ids.dispose();
        adapter?.dispose();
        model.dispose();
      });
    }
  }

  it('holds far fewer bytes than tfjs at the end of the backward pass', () => {
    // A customGrad at the very start of the forward: its gradient runs last, when the streaming pass has freed
    // every later node's saved activations and gradients, and tfjs's still holds them all.
    const model = initModel(tinyConfig({ nEmbd: 64, nLayer: 4, nHead: 4, nPositions: 64, vocabSize: 50 }), 1);
    const vars = [...model.params.values()];
    const ids = tf.tensor2d(Array.from({ length: 8 }, (_, b) => Array.from({ length: 64 }, (_, t) => (b * 7 + t * 3) % 50)), [8, 64], 'int32');
    const bytesAtEnd = (impl: Grads) => {
      let seen = 0;
      const probe = tf.customGrad(((x: tf.Tensor) => ({ value: tf.mul(x, 1), gradFunc: (dy: tf.Tensor) => ((seen = tf.memory().numBytes), [tf.mul(dy, 1)]) })) as unknown as Parameters<typeof tf.customGrad>[0]);
      const w = vars[0];
      const { value, grads } = impl.call(tf.engine(), () => tf.tidy(() => {
        const wv = probe(w); // recorded first on the tape, so its gradient runs last
        return tf.add(model.loss(ids), tf.mul(tf.sum(wv), 0)) as tf.Scalar;
      }), vars);
      value.dispose();
      tf.dispose(grads);
      return seen;
    };
    const ours = bytesAtEnd(engine().gradients);
    const theirs = bytesAtEnd(engine().rlhfTfjsGradients!);
    process.stderr.write(`      bytes held when the first op's gradient runs: streaming ${(ours / 1e6).toFixed(1)} MB, tfjs ${(theirs / 1e6).toFixed(1)} MB\n`);
    expect(ours).to.be.below(theirs * 0.6);
    ids.dispose();
    model.dispose();
  });
});
