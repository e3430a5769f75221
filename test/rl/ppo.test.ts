import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../../data/metrics-sink.js';
import { NonFiniteError } from '../../train/adamw.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { Lora } from '../../lm/lora.js';
import { ppoLr, runPpo } from '../../rl/ppo.js';
import { PpoConfig, PpoConfigError, resolvePpoConfig } from '../../rl/ppo-config.js';
import { RewardSource } from '../../rl/reward-source.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { promptsFile, targetTokenReward } from './fixtures.js';

const constant = (v: number, onDispose?: () => void): RewardSource => ({
  name: `constant ${v}`, score: async (p) => p.map(() => v), dispose: onDispose,
});

describe('rl/ppo', () => {
  before(useBackend);
  let model: string;
  let prompts: string;
  before(async () => {
    model = await tinyCheckpoint(9);
    prompts = promptsFile();
  });
  const cfg = (over: Record<string, unknown> = {}): PpoConfig => resolvePpoConfig({
    model, prompts, reward: 'length', out: tempDir('rlhf-ppo-'), steps: 4, batchSize: 8, miniBatchSize: 4, ppoEpochs: 2,
    maxNewTokens: 6, temperature: 1, lr: 3e-3, saveEvery: 2, sampleEvery: 2, sampleRows: 2, ...over,
  });

  async function finalLogits(c: PpoConfig, final: string): Promise<Float32Array> {
    const m = c.lora ? loadCheckpoint(model).model : loadCheckpoint(final).model;
    if (c.lora) Lora.load(final, m);
    const probe = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6]], undefined, 'int32');
    const out = tf.tidy(() => m.forward(probe).logits!.dataSync().slice());
    probe.dispose();
    m.adapter = null;
    m.dispose();
    return out as Float32Array;
  }

  const variants: [string, Record<string, unknown>][] = [
    ['full fine-tuning, shared value head, fixed KL', {}],
    ['LoRA, separate critic, adaptive KL, k3', { lora: { rank: 2, alpha: 4, targets: ['attn', 'mlp'] }, valueModel: 'separate', klTarget: 0.5, klHorizon: 100, klEstimator: 'k3' }],
  ];
  for (const [name, over] of variants) {
    it(`resume continues exactly as an unbroken run (${name})`, async () => {
      const reward = () => targetTokenReward(101);
      const a = cfg(over);
      const ra = await runPpo(a, { rewardOverride: reward() });
      const b = cfg(over);
      const before = tf.memory().numTensors;
      const rb1 = await runPpo(b, { rewardOverride: reward(), stopAfter: 2 });
      expect(tf.memory().numTensors).to.equal(before);
      expect(rb1.step).to.equal(2);
      expect(rb1.final).to.equal(null);
      const sink = new MemorySink();
      const rb2 = await runPpo(b, { rewardOverride: reward(), resume: true, sink });
      expect(rb2.step).to.equal(4);
      expect(sink.records.some((r) => r.type === 'event' && r.kind === 'resume')).to.equal(true);
      const joined = [...rb1.history, ...rb2.history];
      for (const key of ['objective/scores', 'objective/kl', 'objective/kl_coef', 'loss/policy_avg', 'loss/value_avg', 'episode', 'lr']) {
        for (let i = 0; i < 4; i++) expect(joined[i][key], `${key} at step ${i + 1}`).to.be.closeTo(ra.history[i][key], 1e-6);
      }
      expect(maxAbsDiff(await finalLogits(a, ra.final!), await finalLogits(b, rb2.final!))).to.be.lessThan(1e-6);
      expect(existsSync(join(rb2.final!, 'value_head.safetensors'))).to.equal(true);
      const saved = JSON.parse(readFileSync(join(b.out, 'ppo-config.json'), 'utf8'));
      expect(saved.klEstimator).to.equal(b.klEstimator);
    });
  }

  it('reports TRL metric names every step, sample tables, and checkpoint events', async () => {
    const sink = new MemorySink();
    await runPpo(cfg({ steps: 2, goldReward: 'length' }), { sink, rewardOverride: targetTokenReward(101) });
    const metrics = sink.records.filter((r) => r.type === 'metrics');
    expect(metrics).to.have.length(2);
    for (const k of ['objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/scores', 'objective/gold_scores',
      'policy/approxkl_avg', 'policy/clipfrac_avg', 'policy/entropy_avg', 'loss/policy_avg', 'loss/value_avg', 'val/clipfrac_avg', 'val/ratio',
      'val/num_eos_tokens', 'lr', 'episode', 'objective/kl_coef', 'perf/rollout_tokens_per_sec', 'perf/train_tokens_per_sec']) {
      expect(metrics[1].type === 'metrics' && metrics[1].metrics[k], k).to.be.a('number');
    }
    const m1 = metrics[0].type === 'metrics' ? metrics[0].metrics : {};
    expect(m1.episode).to.equal(8);
    // the first step's policy equals the reference, so its KL is 0 whatever the estimator
    expect(m1['objective/kl']).to.be.closeTo(0, 1e-5);
    expect(sink.records.filter((r) => r.type === 'samples').map((r) => r.step)).to.deep.equal([1, 2]);
    expect(sink.records.filter((r) => r.type === 'event' && r.kind === 'checkpoint').map((r) => r.step)).to.deep.equal([2]);
  });

  it('swaps the reward source at a step boundary and disposes the old one', async () => {
    const sink = new MemorySink();
    let disposed = 0;
    let polls = 0;
    await runPpo(cfg({ steps: 4 }), {
      sink, rewardOverride: constant(1, () => disposed++),
      pollReward: () => (++polls === 3 ? constant(2) : null),
    });
    expect(sink.series('objective/scores')).to.deep.equal([1, 1, 2, 2]);
    expect(disposed).to.equal(1);
    expect(sink.records.some((r) => r.type === 'event' && r.kind === 'reward-switch' && r.data.name === 'constant 2')).to.equal(true);
  });

  it('a NaN score stops the run with a message naming the last good checkpoint, which stays intact', async () => {
    const c = cfg({ steps: 4 });
    let calls = 0;
    const flaky: RewardSource = { name: 'flaky', score: async (p) => p.map(() => (++calls > 16 ? NaN : 0.5)) };
    const before = tf.memory().numTensors;
    let err: Error | null = null;
    try {
      await runPpo(c, { rewardOverride: flaky });
    } catch (e) {
      err = e as Error;
    }
    expect(err).to.be.instanceOf(NonFiniteError);
    expect(err!.message).to.match(/step 3: reward flaky returned NaN .*last good checkpoint is .*step-0000002/);
    expect(readFileSync(join(c.out, 'latest'), 'utf8').trim()).to.equal('step-0000002');
    expect(tf.memory().numTensors).to.equal(before);
    // and the run resumes from it
    const r = await runPpo(c, { rewardOverride: constant(0.5), resume: true });
    expect(r.step).to.equal(4);
  });

  it('an infinite loss stops the run before any update, naming the step and the last good checkpoint', async () => {
    const c = cfg({ steps: 4 });
    let calls = 0;
    // finite scores whose squared value error overflows float32 from step 3 on
    const huge: RewardSource = { name: 'huge', score: async (p) => p.map(() => (++calls > 16 ? 3e38 : 0.5)) };
    let err: Error | null = null;
    await runPpo(c, { rewardOverride: huge }).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(NonFiniteError);
    expect(err!.message).to.match(/loss is (Infinity|NaN), training stopped at step 3; the last good checkpoint is .*step-0000002/);
    expect(readFileSync(join(c.out, 'latest'), 'utf8').trim()).to.equal('step-0000002');
  });

  it('refuses to overwrite a run, and a resume with a changed config', async () => {
    const c = cfg({ steps: 2 });
    await runPpo(c, { rewardOverride: constant(0) });
    let msg = '';
    await runPpo(c, { rewardOverride: constant(0) }).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/already holds a run/);
    await runPpo({ ...c, lr: 1 }, { rewardOverride: constant(0), resume: true }).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/different config \(lr\)/);
  });

  it('rejects a prompt set that does not fit the context', async () => {
    const f = join(tempDir(), 'long.txt');
    writeFileSync(f, 'word '.repeat(200) + '\n');
    let msg = '';
    await runPpo(cfg({ prompts: f, maxPromptTokens: 125 }), { rewardOverride: constant(0) }).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/maxNewTokens \(6\) exceeds the model's 128 positions/);
  });
});

describe('rl/ppo-config', () => {
  const base = { model: 'm', prompts: 'p.txt', reward: 'sentiment', out: 'o' };
  it('fills TRL defaults', () => {
    const c = resolvePpoConfig(base);
    expect([c.klCoef, c.cliprange, c.cliprangeValue, c.vfCoef, c.gamma, c.lam, c.ppoEpochs, c.temperature]).to.deep.equal([0.05, 0.2, 0.2, 0.1, 1, 0.95, 4, 0.7]);
  });
  it('names the field in every error', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ klCoef: -1 }, /klCoef must be a number/],
      [{ miniBatchSize: 0 }, /miniBatchSize must be an integer/],
      [{ batchSize: 10, miniBatchSize: 4 }, /batchSize \(10\) must be a multiple of miniBatchSize \(4\)/],
      [{ klEstimator: 'k2' }, /klEstimator must be one of k1, k3/],
      [{ valueModel: 'both' }, /valueModel must be one of shared, separate/],
      [{ klTarget: 'six' }, /klTarget must be a number .* or null/],
      [{ stop: [''] }, /stop must be a list/],
      [{ lora: { rank: 0, alpha: 1, targets: ['attn'] } }, /lora\.rank must be an integer >= 1/],
      [{ bogus: 1 }, /unknown field 'bogus'/],
      [{ model: undefined }, /model is required/],
    ];
    for (const [over, re] of bad) expect(() => resolvePpoConfig({ ...base, ...over }, 'x.json')).to.throw(PpoConfigError, re);
  });
  it('decays the learning rate linearly to 0 over the run', () => {
    const c = resolvePpoConfig({ ...base, steps: 4, lr: 1 });
    expect([1, 2, 3, 4].map((s) => ppoLr(c, s))).to.deep.equal([1, 0.75, 0.5, 0.25]);
    expect(ppoLr({ ...c, lrSchedule: 'constant' }, 4)).to.equal(1);
  });
});
