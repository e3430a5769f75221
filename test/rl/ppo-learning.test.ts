// PPO learns: on a tiny random model, the reward "fraction of completion tokens equal to a target
// token" must rise well above its start, with a finite KL, and the loop must not leak tensors.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { MemorySink } from '../../data/metrics-sink.js';
import { runPpo } from '../../rl/ppo.js';
import { resolvePpoConfig } from '../../rl/ppo-config.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { promptsFile, targetTokenReward } from './fixtures.js';

describe('rl/ppo learning', () => {
  before(useBackend);

  it('raises the fraction of a target token well beyond its start, with finite KL and no tensor leak', async () => {
    const model = await tinyCheckpoint(5);
    const config = resolvePpoConfig({
      model, prompts: promptsFile(), reward: 'length', out: tempDir('rlhf-ppo-learn-'), steps: 40, batchSize: 32, miniBatchSize: 16,
      ppoEpochs: 2, maxNewTokens: 8, temperature: 1, lr: 3e-3, lrSchedule: 'constant', klCoef: 0.01, vfCoef: 0.1, saveEvery: 1000, sampleEvery: 0,
    });
    const sink = new MemorySink();
    const counts: number[] = [];
    const res = await runPpo(config, {
      sink, rewardOverride: targetTokenReward(101),
      onStep: ({ step }) => {
        counts.push(tf.memory().numTensors);
        if (process.env.PPO_TEST_VERBOSE) console.log(step, sink.series('objective/scores').at(-1), sink.series('objective/kl').at(-1));
      },
    });
    expect(res.step).to.equal(40);
    const scores = sink.series('objective/scores');
    const kls = sink.series('objective/kl');
    const start = scores.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
    const end = scores.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(end, `reward ${start.toFixed(3)} -> ${end.toFixed(3)}`).to.be.greaterThan(start + 0.3);
    for (const k of kls) expect(Number.isFinite(k)).to.equal(true);
    // the tensor count is flat from the second step on (the first creates the optimizer's lazies, if any)
    expect(new Set(counts.slice(1)).size, `tensor counts ${counts.join(',')}`).to.equal(1);
  });
});
