// PPO's reward through reward functions (rl/reward-fns/): a batch module sees the prompt file's columns
// and the step, exactly as GRPO's do.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../../data/metrics-sink.js';
import { runPpo } from '../../rl/ppo.js';
import { resolvePpoConfig } from '../../rl/ppo-config.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';

describe('rl/ppo with a batch reward function', () => {
  before(useBackend);

  it("passes each prompt's columns and the step to the module, and optimises what it returns", async () => {
    const dir = tempDir('rlhf-ppo-fns-');
    const prompts = join(dir, 'prompts.jsonl');
    writeFileSync(prompts, ['The whale', 'Call me', 'It was', 'The sea'].map((p, i) => JSON.stringify({ prompt: p, bonus: i })).join('\n') + '\n');
    const mod = join(dir, 'reward.mjs');
    writeFileSync(mod, 'export default ({ columns, step }) => columns.map((c) => c.bonus * 10 + step);\n');
    const sink = new MemorySink();
    await runPpo(resolvePpoConfig({ model: await tinyCheckpoint(3), prompts, reward: mod, out: join(dir, 'run'), steps: 2, batchSize: 4, miniBatchSize: 4, maxNewTokens: 4 }), { sink });
    // every prompt once per step (batch 4 of 4 prompts): mean bonus 1.5 → 15, plus the step
    expect(sink.series('objective/scores')).to.deep.equal([16, 17]);
  });
});
