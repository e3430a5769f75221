// DPO learns from simulated labels: the starter model's completions become 2-way tasks in a real store,
// simulated labelers (sentiment rule, 10% noise) label them through a live server, and runDpo on that
// store must raise the mean sentiment (the gold score) of the policy's samples on prompts it never saw,
// with a validation reward accuracy above chance.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectSimulatedLabels } from '../../demo/simulated-labels.js';
import { resolveDpoConfig } from '../../dpo/config.js';
import { runDpo } from '../../dpo/dpo.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { generate } from '../../lm/generate.js';
import { sentimentScore } from '../../reward-models/rules.js';
import { tempDir, useBackend } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STARTER = join(ROOT, 'data', 'models', 'starter');
const PROMPTS = readFileSync(join(ROOT, 'data', 'prompts', 'openings.txt'), 'utf8').split('\n').filter(Boolean);
const TEMPERATURE = 0.7;

/** Mean sentiment of 4 samples (16 tokens) for each held-out prompt. */
async function gold(modelDir: string, prompts: string[]): Promise<number> {
  const { model, tokenizer } = loadCheckpoint(modelDir);
  try {
    const out = await generate(model, tokenizer!, prompts, { maxNewTokens: 16, temperature: TEMPERATURE, topK: 0, topP: 1, seed: 7, numReturnSequences: 4 });
    return out.reduce((a, c) => a + sentimentScore(c.text), 0) / out.length;
  } finally {
    model.dispose();
  }
}

describe('dpo learning: simulated labels -> live server -> store -> DPO', function () {
  this.timeout(10 * 60_000);
  before(useBackend);

  it('raises the gold sentiment of samples on held-out prompts, with validation reward accuracy > 0.5', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    // 384 prompts, one task of two 16-token starter completions each; the last 128 prompts are held out
    const labelled = PROMPTS.slice(0, 384);
    const heldOut = PROMPTS.slice(384);
    const lab = await collectSimulatedLabels({
      db, model: STARTER, prompts: labelled, tasksPerPrompt: 1, k: 2, maxNewTokens: 16, temperature: TEMPERATURE, labelers: 2, rule: 'sentiment', noise: 0.1, seed: 1,
    });
    expect(lab.labels).to.equal(384);
    expect(lab.labels - lab.ties).to.be.within(200, 300); // the rest are rule ties, which DPO drops

    const before = tf.memory().numTensors;
    // lr 5e-4 for the 2.6M-parameter starter (TRL's 1e-6 is for large pretrained models)
    const c = resolveDpoConfig({ model: STARTER, db, out: join(dir, 'dpo'), lr: 5e-4, epochs: 3, batchSize: 16, evalEvery: 10, valFraction: 0.2 });
    const r = await runDpo(c);
    expect(tf.memory().numTensors).to.equal(before);
    const best = r.evals.find((e) => e.step === r.best!.step)!;
    const start = await gold(STARTER, heldOut);
    const end = await gold(r.final!, heldOut);
    process.stderr.write(`      ${lab.labels - lab.ties} preference pairs (${r.train} train, ${r.val} val), ${r.step} steps; best eval loss ${best['eval/loss'].toFixed(3)} at step ${best.step}, reward accuracy ${best['eval/rewards/accuracies'].toFixed(3)}; gold ${start.toFixed(3)} -> ${end.toFixed(3)}\n`);
    expect(r.val).to.be.above(30);
    expect(best['eval/rewards/accuracies']).to.be.above(0.5);
    expect(r.evals.at(-1)!['eval/rewards/accuracies']).to.be.above(0.5);
    expect(end, `gold ${start.toFixed(3)} -> ${end.toFixed(3)}`).to.be.above(start + 0.3);
  });
});
