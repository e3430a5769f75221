import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { RewardModel } from '../../reward-models/reward-model.js';
import { resolveRmConfig } from '../../reward-models/rm-config.js';
import { trainRewardModel } from '../../reward-models/train-rm.js';
import { MemorySink } from '../../data/metrics-sink.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { FILLER, whaleData } from './fixtures.js';

describe('reward-models/reward-model', () => {
  before(useBackend);

  it('scores the same whatever the batch and its padding, saves and loads back to identical scores', async () => {
    const { model, tokenizer } = loadCheckpoint(await tinyCheckpoint(3));
    const rm = new RewardModel(model, tokenizer!);
    const prompts = ['Call me', 'The whale', 'It was a dark night, and'];
    const completions = [' Ishmael.', ' swam away from the ship', ' cold'];
    const before = tf.memory().numTensors;
    const together = await rm.scoreRaw(prompts, completions, 8);
    const alone = [];
    for (let i = 0; i < 3; i++) alone.push(...(await rm.scoreRaw([prompts[i]], [completions[i]])));
    expect(maxAbsDiff(together, alone)).to.be.below(1e-5);
    expect(tf.memory().numTensors).to.equal(before);
    rm.normalizeOn([1, 2, 3, 4]);
    const dir = tempDir();
    await rm.save(dir);
    const back = RewardModel.load(dir);
    expect(back.norm.mean).to.equal(2.5);
    expect(maxAbsDiff(await back.score(prompts, completions), await rm.score(prompts, completions))).to.equal(0);
    back.dispose();
    rm.dispose();
  });

  it('refuses a plain language model and a broken normalisation with the file named', async () => {
    const dir = await tinyCheckpoint(1);
    expect(() => RewardModel.load(dir)).to.throw(/config.json: not a reward model/);
    const { model, tokenizer } = loadCheckpoint(dir);
    const rm = new RewardModel(model, tokenizer!);
    const out = tempDir();
    await rm.save(out);
    rm.dispose();
    const cfg = JSON.parse((await import('node:fs')).readFileSync(join(out, 'config.json'), 'utf8'));
    cfg.rlhf_reward_model.normalization.std = 0;
    writeFileSync(join(out, 'config.json'), JSON.stringify(cfg));
    expect(() => RewardModel.load(out)).to.throw(/normalization needs a finite mean and a positive std/);
  });

  it('validates its config with messages that name the field', () => {
    expect(() => resolveRmConfig({ model: 'm', out: 'o' })).to.throw(/exactly one of db/);
    expect(() => resolveRmConfig({ model: 'm', out: 'o', data: ['x'], ties: 'maybe' })).to.throw(/ties must be one of drop, equal/);
    expect(() => resolveRmConfig({ model: 'm', out: 'o', data: ['x'], lr: -1 })).to.throw(/lr must be a number/);
    expect(() => resolveRmConfig({ model: 'm', out: 'o', data: ['x'], bogus: 1 })).to.throw(/unknown field 'bogus'/);
  });

  it('learns a separable preference, keeps memory flat, and resumes exactly where it stopped', async () => {
    const base = await tinyCheckpoint(5);
    const data = join(tempDir(), 'prefs.jsonl');
    whaleData(data, 96);
    const cfg = (out: string) => resolveRmConfig({ model: base, data: [data], out, epochs: 4, batchSize: 8, lr: 3e-3, warmupSteps: 2, evalEvery: 5, saveEvery: 4, valFraction: 0.25 });
    const whole = new MemorySink();
    const before = tf.memory().numTensors;
    const r = await trainRewardModel(cfg(tempDir()), false, { sink: whole });
    expect(tf.memory().numTensors).to.equal(before);
    const acc = whole.series('train/accuracy');
    expect(acc[0]).to.be.below(0.9); // not separable by chance at the start
    expect(r.best!.accuracy).to.be.above(0.9);
    expect(r.valComparisons).to.be.above(5);
    const rm = RewardModel.load(r.final!);
    // Unseen prompts and word orders: the loaded final model still prefers "whale".
    const ps = FILLER.map((_, i) => `Prompt ${1000 + i}:`);
    const good = await rm.score(ps, FILLER.map((f, i) => ` whale ${FILLER[(i + 5) % 12]} ${f}`));
    const bad = await rm.score(ps, FILLER.map((f, i) => ` sea ${FILLER[(i + 5) % 12]} ${f}`));
    expect(good.filter((g, i) => g > bad[i]).length).to.be.at.least(10);
    rm.dispose();

    // The same run interrupted after step 6 and resumed: the same losses at every step.
    const out = tempDir();
    const first = new MemorySink();
    await trainRewardModel(cfg(out), false, { sink: first, stopAfter: 6 });
    const second = new MemorySink();
    await trainRewardModel(cfg(out), true, { sink: second });
    const resumed = [...first.series('train/loss').slice(0, 6), ...second.series('train/loss')];
    expect(resumed.length).to.equal(whole.series('train/loss').length);
    expect(maxAbsDiff(resumed, whole.series('train/loss'))).to.be.below(1e-5);
  });
});
