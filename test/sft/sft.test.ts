import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, NonFiniteError } from '../../train/adamw.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { Lora } from '../../lm/lora.js';
import { lrAt, runSft, accumulate, lossTokens } from '../../sft/sft.js';
import { batchLoss } from '../../sft/train-step.js';
import { resolveSftConfig, SftConfig, SftConfigError } from '../../sft/sft-config.js';
import { loadSftData } from '../../sft/sft-data.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { mobyDickText, smallTokenizer, tinyCheckpoint } from '../lm/fixtures.js';

const hooks = { corpus: () => mobyDickText(2) };

function pairsFile(): string {
  const f = join(tempDir(), 'pairs.jsonl');
  const lines = [];
  for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ prompt: `Question ${i}: what is the whale?`, completion: ` The whale is ${i % 2 ? 'white' : 'great'}.` }));
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

describe('sft/sft', () => {
  before(useBackend);
  let base: string;
  before(async () => {
    base = await tinyCheckpoint(21);
  });
  const cfg = (over: Record<string, unknown>): SftConfig =>
    resolveSftConfig({ model: base, data: ['corpus:moby-dick'], out: tempDir('rlhf-sft-'), steps: 6, batchSize: 2, seqLen: 32, lr: 3e-3, warmupSteps: 2, evalEvery: 3, evalBatches: 2, saveEvery: 3, ...over });

  for (const kind of ['full fine-tuning on text', 'LoRA on prompt/completion pairs']) {
    it(`resume continues exactly where the run stopped (${kind})`, async () => {
      const over = kind.startsWith('LoRA') ? { data: [pairsFile()], lora: { rank: 2, alpha: 4, targets: ['attn', 'mlp'] } } : {};
      const unbroken = cfg(over);
      const a = await runSft(unbroken, false, hooks);
      const split = { ...cfg(over) };
      const b1 = await runSft(split, false, { ...hooks, stopAfter: 3 });
      expect(b1.step).to.equal(3);
      expect(b1.final).to.equal(null);
      // as if the process had logged step 4 and then died before its checkpoint
      appendFileSync(join(split.out, 'metrics.jsonl'), JSON.stringify({ step: 4, 'train/loss': 1 }) + '\n');
      const b2 = await runSft(split, true, hooks);
      expect(b2.step).to.equal(6);
      const curve = [...b1.losses, ...b2.losses];
      expect(curve).to.have.length(6);
      for (let i = 0; i < 6; i++) expect(curve[i]).to.be.closeTo(a.losses[i], 1e-5);
      expect(b2.evalLoss!).to.be.closeTo(a.evalLoss!, 1e-5);
      // final weights agree
      const load = (dir: string) => {
        const m = loadCheckpoint(base).model;
        if (kind.startsWith('LoRA')) Lora.load(dir, m);
        return m;
      };
      const [ma, mb] = kind.startsWith('LoRA') ? [load(a.final!), load(b2.final!)] : [loadCheckpoint(a.final!).model, loadCheckpoint(b2.final!).model];
      const probe = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6]], undefined, 'int32');
      const la = tf.tidy(() => ma.forward(probe).logits!.dataSync().slice());
      const lb = tf.tidy(() => mb.forward(probe).logits!.dataSync().slice());
      expect(maxAbsDiff(la, lb)).to.be.lessThan(1e-5);
      probe.dispose();
      for (const m of [ma, mb]) {
        (m.adapter as Lora | null)?.dispose();
        m.dispose();
      }
      const metrics = readFileSync(join(split.out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(metrics.filter((m) => 'train/loss' in m).map((m) => m.step)).to.deep.equal([1, 2, 3, 4, 5, 6]);
      expect(metrics[0]).to.include.keys('step', 'time', 'run_id', 'train/loss', 'train/grad_norm', 'lr');
      expect(JSON.parse(readFileSync(join(split.out, 'sft-config.json'), 'utf8')).steps).to.equal(6);
    });
  }

  it('learns: held-out loss falls', async () => {
    const c = cfg({ steps: 30, evalEvery: 0, lr: 1e-2 });
    const before = loadCheckpoint(base).model;
    const data = loadSftData([{ name: 'moby', text: mobyDickText(2) }], smallTokenizer(), c);
    const { batchPerplexity } = await import('../../sft/perplexity.js');
    const start = batchPerplexity(before, data.evalBatches(2)).loss;
    before.dispose();
    const r = await runSft(c, false, hooks);
    expect(r.evalLoss!).to.be.lessThan(start - 0.5);
  });

  it('pairs put the loss on completion tokens and EOS only', () => {
    const tok = smallTokenizer();
    const data = loadSftData([{ name: 'p.jsonl', text: JSON.stringify({ prompt: 'Call me', completion: ' Ishmael.' }) }], tok, { seqLen: 32, batchSize: 1, gradAccum: 1, heldOut: 0, seed: 0 });
    const b = data.trainBatch(1, 0);
    const p = tok.encode('Call me');
    const c = [...tok.encode(' Ishmael.'), tok.eosId!];
    expect(b.ids[0]).to.deep.equal([...p, ...c]);
    expect(b.lossMask![0]).to.deep.equal(Array.from({ length: p.length + c.length - 1 }, (_, t) => (t + 1 >= p.length ? 1 : 0)));
  });

  it('gradient accumulation over two micro-batches equals one batch of both', () => {
    const m1 = loadCheckpoint(base).model;
    const m2 = loadCheckpoint(base).model;
    const rows = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [3, 3, 3, 4, 4, 4], [9, 8, 7, 6, 5, 4]];
    const o1 = new AdamW(m1.params, { lr: 1e-2 });
    const o2 = new AdamW(m2.params, { lr: 1e-2 });
    const a = accumulate(m1, o1, m1.params, 2, (i) => ({ ids: rows.slice(2 * i, 2 * i + 2) }), 1, null);
    const b = accumulate(m2, o2, m2.params, 1, () => ({ ids: rows }), 1, null);
    expect(a.loss.loss).to.be.closeTo(b.loss.loss, 1e-6);
    expect(a.loss.gradNorm).to.be.closeTo(b.loss.gradNorm, 1e-5);
    expect(maxAbsDiff(m1.p('h.1.mlp.c_fc.weight').dataSync(), m2.p('h.1.mlp.c_fc.weight').dataSync())).to.be.lessThan(1e-6);
    for (const m of [m1, m2]) m.dispose();
  });

  it('gradient accumulation of 2 x B equals one batch of 2B when the micro-batches hold unequal loss tokens', () => {
    const m1 = loadCheckpoint(base).model;
    const m2 = loadCheckpoint(base).model;
    const rows = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [3, 3, 3, 4, 4, 4], [9, 8, 7, 6, 5, 4]];
    // micro-batch 0 trains 1 target per row, micro-batch 1 all 5: 2 and 10 loss tokens
    const masks = [[0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]];
    const attn = rows.map((r) => r.map(() => 1));
    const part = (i: number) => ({ ids: rows.slice(2 * i, 2 * i + 2), lossMask: masks.slice(2 * i, 2 * i + 2), attentionMask: attn.slice(2 * i, 2 * i + 2) });
    expect([part(0), part(1)].map(lossTokens)).to.deep.equal([2, 10]);
    const before = tf.memory().numTensors;
    const o1 = new AdamW(m1.params, { lr: 1e-2 });
    const o2 = new AdamW(m2.params, { lr: 1e-2 });
    const a = accumulate(m1, o1, m1.params, 2, part, 1, null);
    const b = accumulate(m2, o2, m2.params, 1, () => ({ ids: rows, lossMask: masks, attentionMask: attn }), 1, null);
    expect(tf.memory().numTensors).to.equal(before);
    expect(a.loss.loss).to.be.closeTo(b.loss.loss, 1e-5);
    expect(a.loss.gradNorm).to.be.closeTo(b.loss.gradNorm, 1e-5);
    expect(maxAbsDiff(m1.p('h.1.mlp.c_fc.weight').dataSync(), m2.p('h.1.mlp.c_fc.weight').dataSync())).to.be.lessThan(1e-6);
    // the mean of the two micro-batch means (the pre-4.46 transformers average) is another number
    const fresh = loadCheckpoint(base).model;
    const means = [0, 1].map((i) => tf.tidy(() => batchLoss(fresh, part(i)).dataSync()[0]));
    const whole = tf.tidy(() => batchLoss(fresh, { ids: rows, lossMask: masks, attentionMask: attn }).dataSync()[0]);
    expect(Math.abs((means[0] + means[1]) / 2 - whole)).to.be.greaterThan(1e-3);
    for (const m of [m1, m2, fresh]) m.dispose();
  });

  it('a NaN stops the run with a clear message and keeps the last good checkpoint', async () => {
    const c = { ...cfg({ steps: 10, warmupSteps: 0, saveEvery: 1, evalEvery: 0 }), lr: 1e30 }; // past validation: weights overflow to Inf within a couple of steps
    let err: Error | null = null;
    const before = tf.memory().numTensors;
    await runSft(c, false, hooks).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(NonFiniteError);
    expect(String(err)).to.match(/step \d+: .*(NaN|Infinity).*training stopped; the last good checkpoint is .*step-\d+/);
    expect(tf.memory().numTensors).to.equal(before);
    const last = /checkpoint is (\S+)/.exec(String(err))![1];
    const { model } = loadCheckpoint(last); // loads: nothing non-finite was saved
    model.dispose();
    expect(existsSync(join(c.out, 'final'))).to.equal(false);
  });

  it('refuses to overwrite a run, and a resume with another config', async () => {
    const c = cfg({ steps: 2, saveEvery: 1, evalEvery: 0 });
    await runSft(c, false, hooks);
    let err = '';
    await runSft(c, false, hooks).catch((e: Error) => (err = e.message));
    expect(err).to.match(/already holds a run; pass --resume/);
    await runSft({ ...c, lr: 0.5 }, true, hooks).catch((e: Error) => (err = e.message));
    expect(err).to.match(/--resume with a different config \(lr\)/);
  });

  it('schedules warm-up then cosine decay to the floor', () => {
    const c = cfg({ steps: 100, warmupSteps: 10, lr: 1, minLrRatio: 0.1 });
    expect(lrAt(c, 5)).to.be.closeTo(0.5, 1e-12);
    expect(lrAt(c, 10)).to.be.closeTo(1, 1e-12);
    expect(lrAt(c, 55)).to.be.closeTo(0.55, 1e-12);
    expect(lrAt(c, 100)).to.be.closeTo(0.1, 1e-12);
  });

  it('validates its config with messages that name the field', () => {
    expect(() => resolveSftConfig({ data: ['x'], out: 'o', model: 'm', stpes: 3 })).to.throw(SftConfigError, /unknown field 'stpes'/);
    expect(() => resolveSftConfig({ data: [], out: 'o', model: 'm' })).to.throw(SftConfigError, /data must be/);
    expect(() => resolveSftConfig({ data: ['x'], out: 'o' })).to.throw(SftConfigError, /exactly one of model .* or init/);
    expect(() => resolveSftConfig({ data: ['x'], out: 'o', model: 'm', lr: -1 })).to.throw(SftConfigError, /lr must be a number/);
    expect(() => resolveSftConfig({ data: ['x'], out: 'o', model: 'm', lora: { rank: 0, alpha: 1, targets: ['attn'] } })).to.throw(SftConfigError, /lora\.rank must be an integer >= 1/);
    expect(() => resolveSftConfig({ data: ['x'], out: 'o', model: 'm', lora: { rank: 2, alpha: 1, targets: ['ffn'] } })).to.throw(SftConfigError, /lora\.targets must be a non-empty list of attn, mlp/);
  });
});
