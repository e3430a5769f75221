// The DPO loop (dpo/dpo.ts) on a tiny model: resume equals an unbroken run (full and LoRA, accumulation, a
// logging window cut by the interruption), TRL's metric names in training and evaluation with a samples
// table, cached reference log-probabilities equal recomputed ones and are reused, best checkpoint and early
// stopping, NaN/Inf stops naming the last good checkpoint, flat tensor counts.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveDpoConfig } from '../../dpo/config.js';
import { loadDpoData } from '../../dpo/data.js';
import { DpoResult, runDpo } from '../../dpo/dpo.js';
import { computeReference, REF_FILE } from '../../dpo/reference.js';
import { MemorySink } from '../../data/metrics-sink.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { Lora } from '../../lm/lora.js';
import { SafetensorsFile, serializeSafetensors } from '../../lm/safetensors.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { whaleData } from '../reward-models/fixtures.js';

const TRL_NAMES = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected'];
const LORA = { lora: { rank: 2, alpha: 4, targets: ['attn', 'mlp'] } };

describe('dpo/dpo: the DPO loop', function () {
  this.timeout(300_000);
  before(useBackend);
  let model: string;
  let data: string;
  before(async () => {
    model = await tinyCheckpoint(13);
    data = join(tempDir(), 'prefs.jsonl');
    whaleData(data, 40);
  });
  const config = (over: Record<string, unknown> = {}) => resolveDpoConfig({
    model, data: [data], out: join(tempDir('rlhf-dpo-'), 'run'), lr: 3e-3, epochs: 2, batchSize: 4, gradientAccumulationSteps: 2,
    loggingSteps: 2, evalEvery: 3, valFraction: 0.2, saveEvery: 100, sampleRows: 3, ...over,
  });

  async function finalLogits(lora: boolean, final: string): Promise<Float32Array> {
    const m = loadCheckpoint(lora ? model : final).model;
    if (lora) Lora.load(final, m);
    const probe = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6]], undefined, 'int32');
    const out = tf.tidy(() => m.forward(probe).logits!.dataSync().slice());
    probe.dispose();
    m.adapter = null;
    m.dispose();
    return out as Float32Array;
  }

  const variants: [string, Record<string, unknown>][] = [
    ['full fine-tuning, sigmoid with RPO, frozen-copy reference', { rpoAlpha: 0.5 }],
    ['LoRA, adapter-off reference, ipo, cosine with warm-up', { ...LORA, lossType: 'ipo', beta: 0.5, lrSchedule: 'cosine', warmupSteps: 2 }],
  ];
  for (const [name, over] of variants) {
    it(`resume continues exactly as an unbroken run (${name})`, async () => {
      const a = config(over);
      const ra = await runDpo(a);
      expect(ra.final).to.be.a('string');
      const b = config(over);
      const before = tf.memory().numTensors;
      const rb1 = await runDpo(b, { stopAfter: 3 }); // mid logging window (loggingSteps 2) and after an evaluation
      expect(tf.memory().numTensors).to.equal(before);
      expect([rb1.step, rb1.final]).to.deep.equal([3, null]);
      const sink = new MemorySink();
      const rb2 = await runDpo(b, { resume: true, sink });
      expect(rb2.referenceCached).to.equal(true); // the reference ran once, in the first part
      expect(sink.records.some((r) => r.type === 'event' && r.kind === 'resume')).to.equal(true);
      const joined = [...rb1.history, ...rb2.history];
      expect(joined.map((h) => h.step)).to.deep.equal(ra.history.map((h) => h.step));
      for (let i = 0; i < joined.length; i++) {
        for (const k of [...TRL_NAMES, 'grad_norm', 'lr', 'num_tokens', 'entropy']) expect(joined[i][k], `${k} at log ${i}`).to.be.closeTo(ra.history[i][k], 1e-6);
      }
      const evals = [...rb1.evals, ...rb2.evals];
      expect(evals.map((e) => e.step)).to.deep.equal(ra.evals.map((e) => e.step));
      evals.forEach((e, i) => expect(e['eval/loss']).to.be.closeTo(ra.evals[i]['eval/loss'], 1e-6));
      expect(rb2.best).to.deep.equal(ra.best);
      expect(maxAbsDiff(await finalLogits(Boolean(a.lora), ra.final!), await finalLogits(Boolean(a.lora), rb2.final!))).to.be.lessThan(1e-6);
    });
  }

  it("logs TRL's DPO names every logging step and under eval/, a table of validation pairs, with flat tensor counts", async () => {
    const sink = new MemorySink();
    const counts: number[] = [];
    const c = config({ rpoAlpha: 1 });
    const before = tf.memory().numTensors;
    const r = await runDpo(c, { sink, onStep: () => counts.push(tf.memory().numTensors) });
    expect(tf.memory().numTensors).to.equal(before);
    expect(new Set(counts).size, `tensor counts ${counts.join(',')}`).to.equal(1);
    const metrics = sink.records.flatMap((x) => (x.type === 'metrics' ? [x] : []));
    const train = metrics.filter((m) => 'grad_norm' in m.metrics);
    const upTo = (every: number) => [...Array.from({ length: Math.floor((r.total - 1) / every) }, (_, i) => (i + 1) * every), r.total];
    expect(r.total).to.equal(2 * Math.ceil(r.train / 8));
    expect(train.map((m) => m.step)).to.deep.equal(upTo(2));
    for (const m of train) for (const k of [...TRL_NAMES, 'grad_norm', 'lr', 'num_tokens', 'entropy', 'nll_loss']) expect(m.metrics[k], k).to.be.a('number').and.satisfy(Number.isFinite);
    const evals = metrics.filter((m) => 'eval/loss' in m.metrics);
    expect(evals.map((m) => m.step)).to.deep.equal(upTo(3));
    for (const m of evals) for (const k of TRL_NAMES) expect(m.metrics[`eval/${k}`], k).to.be.a('number');
    // implicit rewards: β · (log π − log π_ref); the margin is their difference
    const m = train[0].metrics;
    expect(m['rewards/margins']).to.be.closeTo(m['rewards/chosen'] - m['rewards/rejected'], 1e-9);
    expect(train[1].metrics.num_tokens).to.be.above(m.num_tokens);
    expect(evals[0].metrics['eval/num_tokens']).to.be.above(0);
    const samples = sink.records.filter((x) => x.type === 'samples');
    expect(samples).to.have.length(evals.length);
    expect(samples[0].type === 'samples' && samples[0].rows).to.have.length(3);
    const row = samples[0].type === 'samples' ? samples[0].rows[0] : null;
    expect(row!.prompt).to.match(/^Prompt \d+:$/);
    expect(row!.columns!.margin).to.be.closeTo(row!.score - (row!.columns!.rejected_reward as number), 1e-9);
    // the whale data is learnable: validation accuracy is high by the end, and final/ is the best model
    expect(evals.at(-1)!.metrics['eval/rewards/accuracies']).to.be.above(0.7);
    expect(r.best!.step).to.be.oneOf(upTo(3));
    expect(readdirSync(r.final!).sort()).to.deep.equal(readdirSync(join(c.out, 'best')).sort());
  });

  it('caches the reference log-probabilities keyed by model and data: equal to recomputed ones, reused, recomputed when the data changes', async () => {
    for (const over of [{}, LORA]) {
      const c = config({ ...over, epochs: 1 });
      await runDpo(c);
      const f = join(c.out, REF_FILE);
      const cached = new SafetensorsFile(readFileSync(f), f);
      // recompute from scratch: the model folder again, the examples in the run's order
      const { model: m, tokenizer } = loadCheckpoint(model);
      const lora = c.lora ? Lora.attach(m, c.lora, 5) : null; // any adapter: switched off, the base model is the reference
      const { train, val } = await loadDpoData({ ...c, out: tempDir() }, tokenizer!, m.config.nPositions, false);
      const fresh = computeReference({ modelDir: model, kind: c.lora ? 'adapter-off' : 'copy', examples: [...train, ...val], batchSize: 3, pad: tokenizer!.eosId!, policy: m, lora, fresh: !c.lora });
      lora?.dispose();
      m.dispose();
      expect(maxAbsDiff(cached.float32('ref_logps'), fresh)).to.be.lessThan(1e-5);
      expect(fresh.every((x) => x < 0)).to.equal(true);
    }
    // a second run into a new folder with the cache copied in reuses it; other data makes it recompute
    const c = config({ epochs: 1 });
    const first = await runDpo(c);
    expect(first.referenceCached).to.equal(false);
    const d = config({ epochs: 1 });
    const cache = readFileSync(join(c.out, REF_FILE));
    mkdirSync(d.out, { recursive: true });
    writeFileSync(join(d.out, REF_FILE), cache);
    expect((await runDpo(d)).referenceCached).to.equal(true);
    const other = join(tempDir(), 'other.jsonl');
    whaleData(other, 41);
    const e = config({ epochs: 1, data: [other] });
    mkdirSync(e.out, { recursive: true });
    writeFileSync(join(e.out, REF_FILE), cache);
    expect((await runDpo(e)).referenceCached).to.equal(false);
  });

  it('stops early after `patience` evaluations without a lower eval loss; final/ is the best model', async () => {
    // a high learning rate overfits the 32 training pairs: the eval loss turns up and stays up
    const c = config({ lr: 3e-2, epochs: 6, evalEvery: 1, patience: 2, gradientAccumulationSteps: 1 });
    const sink = new MemorySink();
    const r = await runDpo(c, { sink });
    expect(r.stoppedEarly).to.equal(true);
    expect(r.step).to.be.below(r.total);
    expect(r.step).to.equal(r.best!.step + 2);
    expect(sink.records.some((x) => x.type === 'event' && x.kind === 'early_stop')).to.equal(true);
    expect(readFileSync(join(r.final!, 'model.safetensors'))).to.deep.equal(readFileSync(join(c.out, 'best', 'model.safetensors')));
  });

  it('stops at a non-finite loss naming the last good checkpoint, and writes nothing after it', async () => {
    // β = 1e-30 under ipo: (Δ − 1/(2β))² overflows float32 at the first step
    let msg = '';
    const a = config({ lossType: 'ipo', beta: 1e-30 });
    await runDpo(a).catch((e: Error) => (msg = e.message));
    expect(msg).to.equal('step 1: loss is Infinity, training stopped; no checkpoint was written');
    // NaN reference log-probabilities from step 3 on (the cache poisoned after 2 good, checkpointed steps)
    const c = config({ saveEvery: 1 });
    const r: DpoResult = await runDpo(c, { stopAfter: 2 });
    expect(r.step).to.equal(2);
    const f = join(c.out, REF_FILE);
    const st = new SafetensorsFile(readFileSync(f), f);
    writeFileSync(f, serializeSafetensors([{ name: 'ref_logps', shape: [st.float32('ref_logps').length], data: new Float32Array(st.float32('ref_logps').length).fill(NaN) }], st.metadata));
    msg = '';
    await runDpo(c, { resume: true }).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/^step 3: loss is NaN, training stopped; the last good checkpoint is .*step-0000002$/);
    expect(readFileSync(join(c.out, 'latest'), 'utf8').trim()).to.equal('step-0000002');
    expect(existsSync(join(c.out, 'final'))).to.equal(false);
  });
});
