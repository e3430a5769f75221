// The whole GPT training step on the native backend equals the wasm backend's within float32 noise:
// loss, logits, every gradient and one AdamW update. Also: backend choice and flat tensor counts.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AdamW } from '../../train/adamw.js';
import { currentBackend, initBackend } from '../../backend/backend.js';
import { Lora } from '../../lm/lora.js';
import { GPT, KVCache } from '../../lm/model.js';
import { GPT2 } from '../../lm/models/gpt2.js';
import { Llama } from '../../lm/models/llama.js';
import { validateConfig } from '../../lm/config.js';
import { loadNativeAddon } from '../../backend/native-addon.js';
import { nativeFallbackKernels } from '../../backend/native-backend.js';
import { Rng } from '../../lm/rng.js';
import { trainStep } from '../../sft/train-step.js';
import { tinyConfig, useBackend } from '../helpers.js';

interface StepRecord {
  loss: number;
  logits: Float32Array;
  grads: Map<string, Float32Array>;
  after: Map<string, Float32Array>;
}

const config = tinyConfig({ vocabSize: 301, nPositions: 40, nEmbd: 64, nLayer: 2, nHead: 4 });
const rng = new Rng(3);
const ids = Array.from({ length: 4 }, () => Array.from({ length: 33 }, () => Math.floor(rng.next() * config.vocabSize)));

async function step(backend: 'wasm' | 'native', init: Map<string, Float32Array>): Promise<StepRecord> {
  await initBackend(backend, { quiet: true });
  const model = new GPT2(config, new Map([...init].map(([k, v]) => [k, tf.tensor(v, model0Shapes.get(k)!)])));
  const logits = tf.tidy(() => model.forward(tf.tensor2d(ids, undefined, 'int32')).logits!.dataSync().slice());
  const { value, grads } = tf.variableGrads(() => model.loss(tf.tensor2d(ids, undefined, 'int32')));
  const loss = value.dataSync()[0];
  const g = new Map([...model.params].map(([name, p]) => [name, grads[p.name].dataSync().slice() as Float32Array]));
  const opt = new AdamW(model.params, { lr: 1e-3, weightDecay: 0.1, maxGradNorm: 1 });
  opt.applyGradients(grads);
  tf.dispose([value, ...Object.values(grads)]);
  const after = new Map([...model.params].map(([name, p]) => [name, p.dataSync().slice() as Float32Array]));
  model.dispose();
  return { loss, logits: logits as Float32Array, grads: g, after };
}

let model0Shapes: Map<string, number[]>;

/** Llama-family configs with grouped-query attention: plain Llama (untied head), and Qwen3's q/k norm with a free head_dim. */
const llamaConfigs = {
  llama: validateConfig({ modelType: 'llama', vocabSize: 301, nPositions: 40, nEmbd: 64, nLayer: 2, nHead: 4, nKvHead: 2, nInner: 96 }),
  qwen3: validateConfig({ modelType: 'qwen3', vocabSize: 301, nPositions: 40, nEmbd: 48, nLayer: 2, nHead: 6, nKvHead: 2, headDim: 16, nInner: 80, tieWordEmbeddings: true }),
};

/** A Llama training step (loss, logits, every gradient, one AdamW update) on a backend from the same initial weights. */
async function llamaStep(backend: 'wasm' | 'native', name: keyof typeof llamaConfigs, init: Map<string, { v: Float32Array; s: number[] }>): Promise<StepRecord> {
  await initBackend(backend, { quiet: true });
  const model = new Llama(llamaConfigs[name], new Map([...init].map(([k, { v, s }]) => [k, tf.tensor(v, s)])));
  const x = () => tf.tensor2d(ids.map((r) => r.map((id) => id % model.config.vocabSize)), undefined, 'int32');
  const logits = tf.tidy(() => model.forward(x()).logits!.dataSync().slice());
  const { value, grads } = tf.variableGrads(() => model.loss(x()));
  const loss = value.dataSync()[0];
  const g = new Map([...model.params].map(([n, p]) => [n, grads[p.name].dataSync().slice() as Float32Array]));
  const opt = new AdamW(model.params, { lr: 1e-3, weightDecay: 0.1, maxGradNorm: 1 });
  opt.applyGradients(grads);
  tf.dispose([value, ...Object.values(grads)]);
  const after = new Map([...model.params].map(([n, p]) => [n, p.dataSync().slice() as Float32Array]));
  model.dispose();
  return { loss, logits: logits as Float32Array, grads: g, after };
}

/** max |a - b| relative to max |b|. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-12;
  let diff = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
}

describe('backend/native-backend', function () {
  this.timeout(300_000);
  before(function () {
    const r = loadNativeAddon();
    if (!r.ok) throw new Error(`the native addon is not available (${r.why}); it is built by \`npm ci\` (scripts/build-native.mjs)`);
  });
  after(useBackend);

  it('--backend native says what runs: instruction set, threads, GEMM', async () => {
    const info = await initBackend('native', { quiet: true });
    expect(info.name).to.equal('native');
    expect(info.detail).to.match(/^native \((avx512|avx2|neon|scalar), \d+ threads, GEMM: .+\)$/);
    expect(currentBackend()?.name).to.equal('native');
  });

  it('a GPT training step (loss, logits, every gradient, one AdamW update) equals the wasm backend within float32 noise', async () => {
    await initBackend('wasm', { quiet: true });
    const m0 = GPT2.init(config, 5);
    model0Shapes = new Map([...m0.params].map(([k, v]) => [k, v.shape]));
    const init = new Map([...m0.params].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    m0.dispose();
    const w = await step('wasm', init);
    const n = await step('native', init);
    expect(Math.abs(n.loss - w.loss) / w.loss, 'loss').to.be.below(1e-5);
    let worstLogit = 0;
    for (let i = 0; i < w.logits.length; i++) worstLogit = Math.max(worstLogit, Math.abs(n.logits[i] - w.logits[i]));
    expect(worstLogit, 'logits').to.be.below(1e-4);
    for (const [name, gw] of w.grads) expect(relDiff(n.grads.get(name)!, gw), `gradient of ${name}`).to.be.below(2e-4);
    // One AdamW step moves each weight by about lr·sign(g); where |g| is well above float32 noise the two
    // backends' updates must agree closely.
    for (const [name, pw] of w.after) {
      const pn = n.after.get(name)!;
      const g = w.grads.get(name)!;
      const p0 = init.get(name)!;
      let worst = 0;
      for (let i = 0; i < pw.length; i++) {
        if (Math.abs(g[i]) < 1e-5) continue;
        worst = Math.max(worst, Math.abs((pn[i] - p0[i]) - (pw[i] - p0[i])));
      }
      expect(worst, `AdamW update of ${name}`).to.be.below(2e-5); // lr is 1e-3
    }
  });

  for (const name of Object.keys(llamaConfigs) as (keyof typeof llamaConfigs)[]) {
    it(`a ${name} training step with grouped-query attention (fused RMSNorm, SwiGLU, RoPE) equals the wasm backend within float32 noise`, async () => {
      await initBackend('wasm', { quiet: true });
      const m0 = Llama.init(llamaConfigs[name], 5);
      // RMSNorm gains of 1 would leave their gradient path half tested: give them values.
      for (const [n, p] of m0.params) if (/norm\.weight$/.test(n)) p.assign(tf.add(1, tf.randomNormal(p.shape, 0, 0.3, 'float32', 11)));
      const init = new Map([...m0.params].map(([k, v]) => [k, { v: v.dataSync().slice() as Float32Array, s: v.shape }]));
      m0.dispose();
      const w = await llamaStep('wasm', name, init);
      const n = await llamaStep('native', name, init);
      expect(Math.abs(n.loss - w.loss) / w.loss, 'loss').to.be.below(1e-5);
      let worstLogit = 0;
      for (let i = 0; i < w.logits.length; i++) worstLogit = Math.max(worstLogit, Math.abs(n.logits[i] - w.logits[i]));
      expect(worstLogit, 'logits').to.be.below(1e-4);
      if (name === 'qwen3') expect([...w.grads.keys()].some((k) => k.endsWith('q_norm.weight'))).to.equal(true);
      for (const [k, gw] of w.grads) expect(relDiff(n.grads.get(k)!, gw), `gradient of ${k}`).to.be.below(2e-4);
      for (const [k, pw] of w.after) {
        const pn = n.after.get(k)!;
        const g = w.grads.get(k)!;
        const p0 = init.get(k)!.v;
        let worst = 0;
        for (let i = 0; i < pw.length; i++) {
          if (Math.abs(g[i]) < 1e-5) continue;
          worst = Math.max(worst, Math.abs((pn[i] - p0[i]) - (pw[i] - p0[i])));
        }
        expect(worst, `AdamW update of ${k}`).to.be.below(2e-5); // lr is 1e-3
      }
    });
  }

  it('LoRA on a left-padded batch (frozen base, per-row attention mask) has the same loss and adapter gradients as on wasm', async () => {
    const mask = ids.map((row, r) => row.map((_, j) => (j < 3 * r ? 0 : 1))); // row r has 3r pad tokens on the left
    const lossMask = mask.map((row) => row.slice(1));
    const run = async (backend: 'wasm' | 'native') => {
      await initBackend(backend, { quiet: true });
      const model = GPT2.init(config, 9);
      const lora = Lora.attach(model, { rank: 4, alpha: 8, targets: ['attn', 'mlp'] }, 2);
      // B starts at 0, which would leave A without gradient: give B values so both are exercised.
      for (const [name, v] of lora.params) if (name.endsWith('lora_B')) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 4));
      const { value, grads } = tf.variableGrads(() => model.loss(tf.tensor2d(ids, undefined, 'int32'), tf.tensor2d(lossMask), tf.tensor2d(mask, undefined, 'int32')));
      const r = { loss: value.dataSync()[0], grads: new Map([...lora.params].map(([n, v]) => [n, grads[v.name].dataSync().slice()])) };
      tf.dispose([value, ...Object.values(grads)]);
      for (const v of lora.params.values()) v.dispose();
      model.dispose();
      return r;
    };
    const w = await run('wasm');
    const n = await run('native');
    expect(Math.abs(n.loss - w.loss) / w.loss).to.be.below(1e-5);
    expect(w.grads.size).to.equal(16);
    for (const [name, gw] of w.grads) expect(relDiff(n.grads.get(name)!, gw), `gradient of ${name}`).to.be.below(2e-4);
  });

  it('recycled output buffers never change an array the caller holds, a user array, or a view', async () => {
    await initBackend('native', { quiet: true });
    const n = 4096;
    const base = tf.range(0, n);
    const churn = () => { for (let i = 0; i < 4; i++) tf.tidy(() => tf.mul(tf.add(base, 7), 3)); };
    // 1. dataSync() of a pooled buffer is the caller's own copy.
    const a = tf.add(base, 1);
    const held = a.dataSync() as Float32Array;
    a.dispose();
    churn();
    expect(held[5]).to.equal(6);
    // 2. an array handed to tf.tensor stays the user's.
    const user = new Float32Array(n).fill(3);
    const t = tf.tensor(user);
    tf.tidy(() => tf.add(t, 0)).dispose();
    t.dispose();
    churn();
    expect(user.every((v) => v === 3)).to.equal(true);
    // 3. a cpu kernel's view (unstack slices contiguous rows by subarray) outlives its parent.
    const parent = tf.tidy(() => tf.reshape(tf.add(base, 1), [2, n / 2]));
    const rows = tf.unstack(parent);
    parent.dispose();
    churn();
    expect(rows[1].dataSync()[0]).to.equal(n / 2 + 1);
    tf.dispose([base, ...rows]);
  });

  it('decoding with the in-place KV cache gives the full forward logits at every step (left padding, a cache that must grow)', async () => {
    await initBackend('native', { quiet: true });
    const model = GPT2.init(config, 4);
    const seqs = [[0, 0, 0, 5, 9, 2], [7, 3, 1, 4, 4, 8], [0, 11, 12, 13, 14, 15]];
    const mask = seqs.map((s) => s.map((id, t) => (t < 3 && id === 0 ? 0 : 1)));
    const cache = new KVCache(8); // too small for 6 + 12 positions: the buffers grow on the way
    const before = tf.memory().numTensors;
    const full = (): number[][] => tf.tidy(() => {
      const T = seqs[0].length;
      const l = model.forward(tf.tensor2d(seqs, undefined, 'int32'), { attentionMask: tf.tensor2d(mask, undefined, 'int32') }).logits!;
      return tf.reshape(tf.slice(l, [0, T - 1, 0], [3, 1, config.vocabSize]), [3, config.vocabSize]).arraySync() as number[][];
    });
    let worst = 0;
    let fresh = seqs[0].length;
    for (let step = 0; step < 12; step++) {
      const T = seqs[0].length;
      const cached = tf.tidy(() => model.forward(tf.tensor2d(seqs.map((s) => s.slice(T - fresh)), undefined, 'int32'), {
        attentionMask: tf.tensor2d(mask, undefined, 'int32'), cache, logits: 'last',
      }).logits!.reshape([3, config.vocabSize]).arraySync() as number[][]);
      const want = full();
      for (let b = 0; b < 3; b++) worst = Math.max(worst, relDiff(cached[b], want[b]));
      seqs.forEach((s, b) => s.push((step * 5 + b * 3) % config.vocabSize));
      mask.forEach((r) => r.push(1));
      fresh = 1;
    }
    expect(cache.layout).to.equal('in-place');
    expect(cache.length).to.equal(17);
    expect(cache.v[0].shape[2]).to.be.at.least(17); // values [B, H, cap, hd]
    expect(cache.k[0].shape[3]).to.equal(cache.v[0].shape[2]); // keys transposed [B, H, hd, cap]
    expect(worst).to.be.below(1e-4);
    cache.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    // Under a gradient tape the fused kernel (which has no gradient) is not used: the concat layout is.
    const taped = new KVCache();
    const g = tf.variableGrads(() => tf.tidy(() => tf.sum(model.forward(tf.tensor2d([[1, 2, 3]], undefined, 'int32'), { cache: taped }).logits!)));
    tf.dispose([g.value, ...Object.values(g.grads)]);
    expect(taped.layout).to.equal('concat');
    taped.dispose();
    model.dispose();
  });

  for (const name of Object.keys(llamaConfigs) as (keyof typeof llamaConfigs)[]) {
    it(`${name} (grouped-query, ${name === 'qwen3' ? 'q/k norm' : 'untied head'}): decoding with the in-place KV cache of the KV heads gives the full forward logits at every step`, async () => {
      await initBackend('native', { quiet: true });
      const c = llamaConfigs[name];
      const model = Llama.init(c, 4);
      for (const [n, p] of model.params) if (/norm\.weight$/.test(n)) p.assign(tf.add(1, tf.randomNormal(p.shape, 0, 0.3, 'float32', 12)));
      const seqs = [[0, 0, 0, 5, 9, 2], [7, 3, 1, 4, 4, 8], [0, 11, 12, 13, 14, 15]];
      const mask = seqs.map((s) => s.map((id, t) => (t < 3 && id === 0 ? 0 : 1)));
      const cache = new KVCache(8); // too small for 6 + 12 positions: the buffers grow on the way
      const before = tf.memory().numTensors;
      const full = (): number[][] => tf.tidy(() => {
        const T = seqs[0].length;
        const l = model.forward(tf.tensor2d(seqs, undefined, 'int32'), { attentionMask: tf.tensor2d(mask, undefined, 'int32') }).logits!;
        return tf.reshape(tf.slice(l, [0, T - 1, 0], [3, 1, c.vocabSize]), [3, c.vocabSize]).arraySync() as number[][];
      });
      let worst = 0;
      let fresh = seqs[0].length;
      for (let step = 0; step < 12; step++) {
        const T = seqs[0].length;
        const cached = tf.tidy(() => model.forward(tf.tensor2d(seqs.map((s) => s.slice(T - fresh)), undefined, 'int32'), {
          attentionMask: tf.tensor2d(mask, undefined, 'int32'), cache, logits: 'last',
        }).logits!.reshape([3, c.vocabSize]).arraySync() as number[][]);
        const want = full();
        for (let b = 0; b < 3; b++) worst = Math.max(worst, relDiff(cached[b], want[b]));
        seqs.forEach((s, b) => s.push((step * 5 + b * 3) % c.vocabSize));
        mask.forEach((r) => r.push(1));
        fresh = 1;
      }
      expect(cache.layout).to.equal('in-place');
      expect(cache.length).to.equal(17);
      expect(cache.v[0].shape.slice(0, 2)).to.deep.equal([3, c.nKvHead]); // values [B, Hkv, cap, hd]: the KV heads only
      expect(cache.v[0].shape[2]).to.be.at.least(17);
      expect(cache.k[0].shape).to.deep.equal([3, c.nKvHead, c.headDim, cache.v[0].shape[2]]); // keys transposed [B, Hkv, hd, cap]
      expect(worst).to.be.below(1e-4);
      cache.dispose();
      expect(tf.memory().numTensors).to.equal(before);
      // Under a gradient tape the fused kernel (which has no gradient) is not used: the concat layout is.
      const taped = new KVCache();
      const g = tf.variableGrads(() => tf.tidy(() => tf.sum(model.forward(tf.tensor2d([[1, 2, 3]], undefined, 'int32'), { cache: taped }).logits!)));
      tf.dispose([g.value, ...Object.values(g.grads)]);
      expect(taped.layout).to.equal('concat');
      taped.dispose();
      model.dispose();
    });
  }

  it('a synchronous loop gives large buffers back once the pool is full, and its reads are V8 memory (no growth waiting for the event loop)', function () {
    // A child process with a 16 MB pool runs 60 iterations of 8-24 MB tensors of ever new sizes, without ever
    // yielding to the event loop (where Node runs the collector's finalizers), as a training loop does.
    const code = `
      import * as tf from '@tensorflow/tfjs';
      import { readFileSync } from 'node:fs';
      import { initBackend } from '${join(import.meta.dirname, '..', '..', 'backend', 'backend.ts')}';
      await initBackend('native', { quiet: true });
      const rss = () => Number(readFileSync('/proc/self/status', 'utf8').match(/VmRSS:\\s+(\\d+)/)[1]) / 1024;
      const x = tf.ones([1 << 21]);
      tf.tidy(() => tf.add(x, 1)).dispose();
      const before = rss();
      for (let i = 0; i < 60; i++) {
        const n = (1 << 21) * (1 + (i % 3)) - i * 4096; // 7-24 MB, a new size class often
        tf.tidy(() => tf.add(tf.slice(tf.concat([x, x, x]), 0, n), 1)).dispose();
      }
      const mid = rss();
      // Reads: each dataSync() of a pooled buffer is the caller's own copy, 60 x 8 MB.
      for (let i = 0; i < 60; i++) {
        const y = tf.add(x, i);
        y.dataSync();
        y.dispose();
      }
      console.log(JSON.stringify({ grew: mid - before, readsGrew: rss() - mid }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, RLHF_NATIVE_POOL_MB: '16' } });
    expect(r.status, r.stderr).to.equal(0);
    const { grew, readsGrew } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { grew: number; readsGrew: number };
    // 60 iterations allocate ~2.4 GB of buffers in all; what stays is the pool (16 MB) and the live tensors.
    expect(grew).to.be.below(300);
    expect(readsGrew).to.be.below(300);
  });

  it('training on native keeps the tensor count flat and reports which kernels ran in JavaScript', async () => {
    await initBackend('native', { quiet: true });
    const model = GPT2.init(config, 1);
    const opt = new AdamW(model.params, { lr: 1e-3 });
    trainStep(model, opt, ids);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) losses.push(trainStep(model, opt, ids).loss);
    expect(tf.memory().numTensors).to.equal(before);
    expect(losses.at(-1)!).to.be.below(losses[0]);
    model.dispose();
    const js = nativeFallbackKernels();
    expect(js).to.not.include('BatchMatMul');
    expect(js).to.not.include('Softmax');
  });

  it('Llama training (grouped-query, q/k norm) on native keeps the tensor count flat', async () => {
    await initBackend('native', { quiet: true });
    const model = Llama.init(llamaConfigs.qwen3, 1);
    const opt = new AdamW(model.params, { lr: 1e-3 });
    const batch = ids.map((r) => r.map((id) => id % model.config.vocabSize));
    trainStep(model, opt, batch);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) losses.push(trainStep(model, opt, batch).loss);
    expect(tf.memory().numTensors).to.equal(before);
    expect(losses.at(-1)!).to.be.below(losses[0]);
    model.dispose();
  });
});
