// GRPO learns the shipped verifiable task: on the starter model, the include-word reward (the completion
// contains the word its prompt names; data/tasks/include-word) must rise well above its start within a
// minute or two of this machine, through the real reward module and the prompt file's `word` column.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { join } from 'node:path';
import { MemorySink } from '../../data/metrics-sink.js';
import { resolveGrpoConfig } from '../../rl/grpo/config.js';
import { runGrpo } from '../../rl/grpo/grpo.js';
import { tempDir, useBackend } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TASK = join(ROOT, 'data', 'tasks', 'include-word');

describe('rl/grpo learning on the shipped task', function () {
  this.timeout(15 * 60_000);
  before(useBackend);

  it('raises the include-word reward of the starter model, with no tensor leak', async () => {
    const steps = 60;
    const config = resolveGrpoConfig({
      model: join(ROOT, 'data', 'models', 'starter'), prompts: join(TASK, 'train.jsonl'), reward: [join(TASK, 'reward.ts')], out: tempDir('rlhf-grpo-learn-'),
      steps, promptsPerStep: 8, numGenerations: 8, maxCompletionLength: 16, lr: 3e-4, lrSchedule: 'constant', saveEvery: 1000, sampleEvery: 0,
    });
    const sink = new MemorySink();
    const counts: number[] = [];
    const res = await runGrpo(config, { sink, onStep: () => void counts.push(tf.memory().numTensors) });
    expect(res.step).to.equal(steps);
    const reward = sink.series('reward');
    const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
    const [start, end] = [mean(reward.slice(0, 10)), mean(reward.slice(-10))];
    process.stderr.write(`      include-word reward: first 10 steps ${start.toFixed(3)}, last 10 ${end.toFixed(3)}\n`);
    expect(end, `reward ${start.toFixed(3)} -> ${end.toFixed(3)}`).to.be.greaterThan(start + 0.15);
    expect(sink.series('rewards/include-word/mean')).to.have.length(steps);
    expect(new Set(counts.slice(1)).size, `tensor counts ${counts.join(',')}`).to.equal(1);
  });
});
