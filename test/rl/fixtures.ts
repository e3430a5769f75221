// Shared pieces of the PPO tests: a token-counting reward and a small prompts file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RewardSource } from '../../rl/reward-source.js';
import { tempDir } from '../helpers.js';

/** Reward: the fraction of response tokens (a final EOS included) equal to `target`. */
export function targetTokenReward(target: number): RewardSource {
  return {
    name: `fraction of token ${target}`,
    score: async (_p, _c, ids) => ids!.map((r) => (r.length ? r.filter((t) => t === target).length / r.length : 0)),
  };
}

export function promptsFile(): string {
  const f = join(tempDir('rlhf-ppo-prompts-'), 'prompts.txt');
  writeFileSync(f, ['The whale', 'Call me', 'It was', 'The sea', 'A ship', 'Old man', 'The captain', 'White'].join('\n') + '\n');
  return f;
}
