import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { runPpo } from '../../rl/ppo.js';
import { resolvePpoConfig } from '../../rl/ppo-config.js';
import { openRewardSource } from '../../rl/reward-source.js';
import { RewardModel } from '../../reward-models/reward-model.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { promptsFile } from './fixtures.js';

describe('rl/reward-source', () => {
  it('built-in sentiment scores text (AFINN sum of the completion)', async () => {
    const s = await openRewardSource('sentiment');
    expect(s.name).to.equal('sentiment');
    const [good, bad] = await s.score(['x', 'x'], [' a good and happy day', ' a terrible, awful day']);
    expect(good).to.equal(6); // AFINN-165: good +3, happy +3
    expect(bad).to.be.lessThan(0);
  });

  it('a module exporting score(prompt, completion), sync or async', async () => {
    const f = join(tempDir(), 'reward.mjs');
    writeFileSync(f, 'export async function score(prompt, completion) { return completion.length - prompt.length; }\n');
    const s = await openRewardSource(f);
    expect(await s.score(['ab', 'a'], ['abcd', 'a'])).to.deep.equal([2, 0]);
  });

  it('a module returning a non-number fails naming the module and completion', async () => {
    const f = join(tempDir(), 'bad.mjs');
    writeFileSync(f, 'export function score() { return "high"; }\n');
    const s = await openRewardSource(f);
    let msg = '';
    await s.score(['p'], ['c']).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/bad\.mjs returned NaN for completion 0/);
  });

  it('a folder must be a reward-model checkpoint', async () => {
    const d = join(tempDir(), 'not-a-model');
    mkdirSync(d);
    let msg = '';
    await openRewardSource(d).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/not-a-model: a folder must be a reward-model checkpoint/);
  });

  it('a reward-model folder scores text (PPO passes text, not ids), and PPO trains against it without leaking', async () => {
    await useBackend();
    const { model, tokenizer } = loadCheckpoint(await tinyCheckpoint(13));
    const rm = new RewardModel(model, tokenizer!);
    const dir = join(tempDir(), 'rm');
    await rm.save(dir);
    rm.dispose();
    const s = await openRewardSource(dir);
    expect(s.name).to.equal(`reward-model:${dir}`);
    const scores = await s.score(['The whale', 'Call me'], [' is white', ' Ishmael']);
    expect(scores).to.have.length(2);
    expect(scores[0]).to.not.equal(scores[1]);
    s.dispose!();
    const before = tf.memory().numTensors;
    const c = resolvePpoConfig({ model: await tinyCheckpoint(14), prompts: promptsFile(), reward: dir, out: tempDir(), steps: 2, batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 4 });
    const r = await runPpo(c);
    expect(r.history.map((h) => Number.isFinite(h['objective/scores']))).to.deep.equal([true, true]);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('an unknown name says what is allowed', async () => {
    let msg = '';
    await openRewardSource('happiness').catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/unknown rule "happiness"/);
  });
});
