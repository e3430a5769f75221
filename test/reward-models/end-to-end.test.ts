// The reward model's end-to-end test: starter-model completions become comparison tasks in a real store,
// simulated labelers (sentiment rule, 10% noise) label them through a live server, and a reward model
// trained on those labels must agree with the noise-free rule on held-out prompts at least 82% of the time.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readComparisonsDb, splitByPrompt } from '../../reward-models/comparisons.js';
import { RewardModel } from '../../reward-models/reward-model.js';
import { resolveRmConfig } from '../../reward-models/rm-config.js';
import { sentimentScore } from '../../reward-models/rules.js';
import { collectSimulatedLabels } from '../../demo/simulated-labels.js';
import { trainRewardModel } from '../../reward-models/train-rm.js';
import { tempDir, useBackend } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STARTER = join(ROOT, 'data', 'models', 'starter');
const PROMPTS = readFileSync(join(ROOT, 'data', 'prompts', 'openings.txt'), 'utf8').split('\n').filter(Boolean);

describe('reward model end to end: simulated labelers -> live server -> Bradley-Terry', function () {
  this.timeout(20 * 60_000);
  before(useBackend);

  it('learns the sentiment rule from ~1000 noisy preference labels to >= 82% held-out accuracy', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    // 3 tasks of two 16-token starter completions (temperature 0.5) for each of 512 prompts, labelled by
    // 4 simulated labelers (sentiment rule, 10% of choices flipped) through a live server: about 1050
    // preference pairs, the rest rule ties. At temperature 0.5 the starter's words concentrate on frequent
    // ones, so the labels cover most sentiment words of the held-out prompts (at temperature 1 even a
    // bag-of-words model reaches only ~61% on 1000 labels). The reward model trains with the train-rm
    // defaults (reward-models/rm-config.ts: lr 5e-4, 4 epochs). The bar follows the labels: on the Llama-layout
    // starter's completions this recipe measured 84.96% here (wasm) and 84.1% on native, and the former GPT-2
    // starter's backbone trained on the same labels 81.1%, where that starter's own completions gave 90.4%
    // (its bar was 85%). BENCHMARKS.md ("Reward model") has the curve.
    const { tasks, labels, ties, flipped } = await collectSimulatedLabels({
      db, model: STARTER, prompts: PROMPTS, tasksPerPrompt: 3, k: 2, maxNewTokens: 16, temperature: 0.5, labelers: 4, rule: 'sentiment', noise: 0.1, seed: 1,
    });
    expect(tasks).to.equal(3 * PROMPTS.length);
    expect(labels).to.equal(tasks);
    expect(labels - ties).to.be.within(900, 1200);
    expect(flipped / (labels - ties)).to.be.within(0.06, 0.14);

    // Train on the store with the train-rm defaults; hold out 20% of prompts.
    const before = tf.memory().numTensors;
    const r = await trainRewardModel(resolveRmConfig({ model: STARTER, db, out: join(dir, 'rm'), evalEvery: 40, valFraction: 0.2 }), false);
    expect(tf.memory().numTensors).to.equal(before);

    // Held-out accuracy against the noise-free rule (the labels themselves carry 10% flips).
    const { val } = splitByPrompt(readComparisonsDb(db).filter((c) => c.ranking), 0.2, 0);
    const rm = RewardModel.load(r.final!);
    const flat = val.flatMap((c) => c.completions.map((t) => [c.prompt, t] as const));
    const s = await rm.scoreRaw(flat.map((f) => f[0]), flat.map((f) => f[1]));
    rm.dispose();
    let agree = 0;
    val.forEach((c, i) => {
      if ((s[2 * i] > s[2 * i + 1]) === (sentimentScore(c.completions[0]) > sentimentScore(c.completions[1]))) agree++;
    });
    const accuracy = agree / val.length;
    process.stderr.write(`      ${labels} labels (${labels - ties} preferences, ${flipped} flipped); ${val.length} held-out pairs; accuracy vs the clean rule ${(accuracy * 100).toFixed(1)}%\n`);
    expect(val.length).to.be.above(120);
    expect(accuracy).to.be.at.least(0.82);

    // The CLI on the trained model: a happy day outranks a sad one after a prompt from the prompt set.
    const out = execFileSync(process.execPath, [join(ROOT, 'bin', 'rlhf.js'), 'score', '--model', r.final!, '--prompt', PROMPTS[0], '--completion', ' What a wonderful, happy day', '--completion', ' What a terrible, sad day', '--json', '--backend', 'wasm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [happy, sad] = out.trim().split('\n').map((l) => JSON.parse(l) as { score: number });
    expect(happy.score).to.be.above(sad.score);
  });
});
