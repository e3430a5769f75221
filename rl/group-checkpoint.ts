// GRPO and RLOO run checkpoints: everything a resumed run needs to continue exactly as an unbroken one.
// out/checkpoints/step-N/ holds the policy (a HF folder, or a PEFT adapter under LoRA), the AdamW moments
// (optimizer.safetensors) and group_state.json (optimizer steps, rollouts, data position, RNG, tokens seen).
// Checkpoints are written at rollout boundaries only (after a rollout's numIterations updates), so the
// rollout buffer never needs saving. train/run-checkpoint.ts's publishCheckpoint makes each one atomic.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, CheckpointError } from '../lm/checkpoint.js';
import { AdamW } from '../train/adamw.js';
import { publishCheckpoint, serializeOptimizer } from '../train/run-checkpoint.js';
import type { Actor } from './actor.js';

export interface GroupRlState {
  /** Optimizer steps completed (TRL's global_step). */
  step: number;
  /** Rollouts completed; rollout r samples with a seed keyed by r. */
  rollouts: number;
  /** Index of the next prompt in the seeded prompt stream. */
  dataPosition: number;
  /** Sampling and shuffling draw from generators keyed by (seed, rollout or step): this is the RNG state. */
  rng: { seed: number; rollouts: number };
  /** Prompt + completion tokens seen so far (TRL's num_tokens). */
  numTokens: number;
  /** Wall-clock seconds spent so far (across resumes). */
  seconds: number;
}

export const STATE_FILE = 'group_state.json';

export async function saveGroupCheckpoint(out: string, state: GroupRlState, actor: Actor, opt: AdamW, keep: number, baseModel: string): Promise<string> {
  return publishCheckpoint(out, state.step, keep, async (dir) => {
    await actor.save(dir, baseModel);
    writeFileAtomic(join(dir, 'optimizer.safetensors'), serializeOptimizer(opt));
    writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  });
}

export function readGroupState(dir: string): GroupRlState {
  const f = join(dir, STATE_FILE);
  let s: GroupRlState;
  try {
    s = JSON.parse(readFileSync(f, 'utf8')) as GroupRlState;
  } catch (e) {
    throw new CheckpointError(`${f}: ${(e as Error).message.split('\n')[0]}`);
  }
  for (const k of ['step', 'rollouts', 'dataPosition', 'numTokens'] as const) {
    if (!Number.isInteger(s?.[k]) || s[k] < 0) throw new CheckpointError(`${f}: ${k} must be an integer >= 0, got ${JSON.stringify(s?.[k])}`);
  }
  if (typeof s.seconds !== 'number') throw new CheckpointError(`${f}: seconds must be a number`);
  return s;
}
