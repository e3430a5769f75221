import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { AdamW } from '../../../train/adamw.js';
import { ConfigError, GPTConfig, validateConfig } from '../../../lm/config.js';
import { GPT, KVCache } from '../../../lm/model.js';
import { GPT2 } from '../../../lm/models/gpt2.js';
import { parameterShapes } from '../../../lm/models/registry.js';
import { Rng } from '../../../lm/rng.js';
import { maxAbsDiff, tinyConfig, useBackend } from '../../helpers.js';
import { referenceLogits, referenceLoss, Weights } from './reference-gpt2.js';

/** Random weights large enough that a wrong op shows: N(0, 0.3), LayerNorm gains near 1. */
export function randomWeights(c: GPTConfig, seed: number): Weights {
  const rng = new Rng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const w: Weights = new Map();
  for (const [name, shape] of parameterShapes(c)) {
    const n = shape.reduce((a, d) => a * d, 1);
    const isGain = /ln_\w+\.weight$/.test(name);
    w.set(name, Float64Array.from({ length: n }, () => (isGain ? 1 + 0.1 * normal() : name.endsWith('.bias') ? 0.1 * normal() : 0.3 * normal())));
  }
  return w;
}

export function modelFrom(c: GPTConfig, w: Weights): GPT {
  const values = new Map([...w].map(([k, v]) => [k, tf.tensor(Float32Array.from(v), parameterShapes(c).find(([n]) => n === k)![1])] as const));
  const m = new GPT2(c, values);
  tf.dispose([...values.values()]);
  return m;
}

async function logitsOf(m: GPT, ids: number[][], mask?: number[][]): Promise<number[][][]> {
  const t = tf.tidy(() =>
    m.forward(tf.tensor2d(ids, undefined, 'int32'), { attentionMask: mask ? tf.tensor2d(mask, undefined, 'int32') : undefined }).logits!,
  );
  const a = (await t.array()) as number[][][];
  t.dispose();
  return a;
}

describe('lm/model', () => {
  before(useBackend);

  for (const scaleAttnByInverseLayerIdx of [false, true]) {
    it(`logits equal an independent float64 GPT-2 (scale_attn_by_inverse_layer_idx=${scaleAttnByInverseLayerIdx})`, async () => {
      const c = tinyConfig({ scaleAttnByInverseLayerIdx });
      const w = randomWeights(c, 1);
      const m = modelFrom(c, w);
      const ids = [3, 17, 0, 36, 5, 5, 21, 9, 30, 12, 1, 8];
      const ours = (await logitsOf(m, [ids]))[0];
      const ref = referenceLogits(c, w, ids);
      const diff = Math.max(...ours.map((row, t) => maxAbsDiff(row, ref[t])));
      expect(diff).to.be.lessThan(1e-4);
      expect(Math.max(...ref.flatMap((r) => [...r].map(Math.abs)))).to.be.greaterThan(1); // not a trivially small output
      m.dispose();
    });
  }

  it('a left-padded batch gives each row the outputs it gets alone', async () => {
    const c = tinyConfig();
    const m = modelFrom(c, randomWeights(c, 2));
    const rows = [[4, 8, 15, 16, 23, 7, 2, 9, 11, 30, 31, 1], [5, 6, 7, 19, 20, 21, 33], [12, 13, 2]];
    const T = 12;
    const ids = rows.map((r) => [...new Array(T - r.length).fill(36), ...r]);
    const mask = rows.map((r) => [...new Array(T - r.length).fill(0), ...new Array(r.length).fill(1)]);
    const batch = await logitsOf(m, ids, mask);
    for (let b = 0; b < rows.length; b++) {
      const alone = (await logitsOf(m, [rows[b]]))[0];
      const padded = batch[b].slice(T - rows[b].length);
      expect(Math.max(...alone.map((row, t) => maxAbsDiff(row, padded[t])))).to.be.lessThan(1e-4);
    }
    m.dispose();
  });

  it('KV-cached decoding gives the full forward logits at every step, with left padding', async () => {
    const c = tinyConfig();
    const m = modelFrom(c, randomWeights(c, 3));
    const seqs = [[0, 0, 5, 9, 2], [7, 3, 1, 4, 4]];
    const mask = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]];
    const cache = new KVCache();
    const before = tf.memory().numTensors;
    let worst = 0;
    let fresh = seqs[0].length;
    for (let step = 0; step < 12; step++) {
      const T = seqs[0].length;
      const cached = tf.tidy(() => m.forward(tf.tensor2d(seqs.map((s) => s.slice(T - fresh)), undefined, 'int32'), {
        attentionMask: tf.tensor2d(mask, undefined, 'int32'), cache, logits: 'last',
      }).logits!);
      const cachedLast = (await cached.array()) as number[][][];
      cached.dispose();
      const full = await logitsOf(m, seqs, mask);
      for (let b = 0; b < 2; b++) worst = Math.max(worst, maxAbsDiff(cachedLast[b][0], full[b][T - 1]));
      seqs.forEach((s, b) => s.push((step * 7 + b * 3) % c.vocabSize));
      mask.forEach((r) => r.push(1));
      fresh = 1;
    }
    expect(cache.length).to.equal(16);
    cache.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    expect(worst).to.be.lessThan(1e-4);
    m.dispose();
  });

  it('gradients of the LM loss agree with finite differences of the float64 reference', async () => {
    const c = tinyConfig({ nLayer: 2, nEmbd: 8, nHead: 2, vocabSize: 11, nPositions: 8 });
    const w = randomWeights(c, 4);
    const m = modelFrom(c, w);
    const batch = [[1, 5, 2, 9, 9, 3, 0], [4, 4, 10, 2, 7, 1, 6]];
    const { value, grads } = tf.variableGrads(() => m.loss(tf.tensor2d(batch, undefined, 'int32')));
    expect(Math.abs(value.dataSync()[0] - referenceLoss(c, w, batch))).to.be.lessThan(1e-5);
    const rng = new Rng(9);
    let checked = 0;
    for (const [name] of parameterShapes(c)) {
      const g = grads[m.p(name).name].dataSync();
      const vals = w.get(name)!;
      for (let k = 0; k < 3; k++) {
        const i = Math.floor(rng.next() * vals.length);
        const orig = vals[i];
        const eps = 1e-5;
        vals[i] = orig + eps;
        const up = referenceLoss(c, w, batch);
        vals[i] = orig - eps;
        const down = referenceLoss(c, w, batch);
        vals[i] = orig;
        const fd = (up - down) / (2 * eps);
        expect(Math.abs(g[i] - fd), `${name}[${i}]: grad ${g[i]} vs finite difference ${fd}`).to.be.lessThan(2e-5 + 1e-3 * Math.abs(fd));
        checked++;
      }
    }
    expect(checked).to.equal(parameterShapes(c).length * 3);
    value.dispose();
    tf.dispose(grads);
    m.dispose();
  });

  it('keeps tf.memory().numTensors flat over 50 training steps', () => {
    const c = tinyConfig();
    const m = GPT2.init(c, 5);
    const opt = new AdamW(m.params, { lr: 3e-3, weightDecay: 0.1, maxGradNorm: 1 });
    const ids = tf.tensor2d(Array.from({ length: 4 * 13 }, (_, i) => (i * 5) % c.vocabSize), [4, 13], 'int32');
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    for (let s = 0; s < 50; s++) {
      const { value, grads } = tf.variableGrads(() => m.loss(ids as tf.Tensor2D));
      opt.applyGradients(grads);
      losses.push(value.dataSync()[0]);
      value.dispose();
      tf.dispose(grads);
    }
    expect(tf.memory().numTensors).to.equal(before);
    expect(losses[49]).to.be.lessThan(losses[0] * 0.5); // it learns the +5 pattern
    ids.dispose();
    m.dispose();
  });

  it('validates its config with messages that name the field', () => {
    expect(() => validateConfig({ vocabSize: 10, nPositions: 8, nEmbd: 10, nLayer: 1, nHead: 3 })).to.throw(ConfigError, /divisible by nHead/);
    expect(() => validateConfig({ vocabSize: 0, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2 })).to.throw(ConfigError, /vocabSize/);
    expect(() => validateConfig({ vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2, eosTokenId: 10 })).to.throw(ConfigError, /eosTokenId/);
    expect(() => validateConfig({ vocabSize: 10, nPositions: 8, nEmbd: 8, nLayer: 1.5, nHead: 2 })).to.throw(ConfigError, /nLayer/);
  });

  it('refuses sequences longer than nPositions', () => {
    const c = tinyConfig({ nPositions: 4 });
    const m = GPT2.init(c);
    expect(() => tf.tidy(() => m.forward(tf.zeros([1, 5], 'int32')).hidden)).to.throw(/exceeds nPositions 4/);
    m.dispose();
  });
});
