// PPO run checkpoints: everything a resumed run needs to continue exactly as an unbroken one would.
// out/checkpoints/step-N/ holds the policy (a HF folder, or a PEFT adapter under LoRA), the value head
// (value_head.safetensors), the separate critic (critic/: a copy of the policy, or under valueModel
// 'reward-model' the reward model's backbone as trained so far, as a causal-LM folder), the AdamW moments
// (optimizer.safetensors) and ppo_state.json (step, episodes, KL controller, data position, RNG). A resume
// loads critic/ and value_head.safetensors, never the reward-model folder the critic started from. train/run-checkpoint.ts's
// publishCheckpoint writes it into a temporary folder renamed into place; `latest` names the newest.
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from '../train/adamw.js';
import { CheckpointError, saveCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import { publishCheckpoint, serializeOptimizer } from '../train/run-checkpoint.js';
import { SafetensorsFile, serializeSafetensors } from '../lm/safetensors.js';
import type { KlControllerState } from './kl-controller.js';
import { PpoModels, ValueHead } from './policy.js';

export interface PpoState {
  /** PPO iterations completed. */
  step: number;
  /** Rollouts seen so far (TRL's `episode`). */
  episode: number;
  kl: KlControllerState;
  /** Index of the next prompt in the seeded prompt stream (step × batchSize). */
  dataPosition: number;
  /** Sampling and shuffling draw from seeded generators keyed by (seed, step): this pair is the RNG state. */
  rng: { seed: number; step: number };
  /** Wall-clock seconds spent so far (across resumes). */
  seconds: number;
}

export async function saveValueHead(file: string, head: ValueHead): Promise<void> {
  const tensors = [];
  for (const [name, v] of head.params) tensors.push({ name, shape: v.shape, data: (await v.data()) as Float32Array });
  writeFileAtomic(file, serializeSafetensors(tensors, { format: 'pt' }));
}

export function loadValueHead(file: string, head: ValueHead): void {
  if (!existsSync(file)) throw new CheckpointError(`${file}: not found`);
  const st = new SafetensorsFile(readFileSync(file), file);
  for (const [name, v] of head.params) {
    const e = st.entries.get(name);
    if (!e) throw new CheckpointError(`${file}: missing tensor '${name}'`);
    if (!tf.util.arraysEqual(e.shape, v.shape)) throw new CheckpointError(`${file}: tensor '${name}' has shape [${e.shape}], expected [${v.shape}]`);
    const data = st.float32(name);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  }
}

/** Write the policy (or adapter), value head and critic into dir (final/ uses this too). */
export async function saveModels(dir: string, m: PpoModels, baseModel: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (m.lora) await m.lora.save(dir, baseModel);
  else await saveCheckpoint(dir, m.policy, m.tokenizer);
  await saveValueHead(join(dir, 'value_head.safetensors'), m.head);
  if (m.critic) await saveCheckpoint(join(dir, 'critic'), m.critic, m.tokenizer);
}

export async function savePpoCheckpoint(out: string, state: PpoState, m: PpoModels, opt: AdamW, keep: number, baseModel: string): Promise<string> {
  return publishCheckpoint(out, state.step, keep, async (dir) => {
    await saveModels(dir, m, baseModel);
    writeFileAtomic(join(dir, 'optimizer.safetensors'), serializeOptimizer(opt));
    writeFileAtomic(join(dir, 'ppo_state.json'), JSON.stringify(state, null, 2) + '\n');
  });
}

export function readPpoState(dir: string): PpoState {
  const f = join(dir, 'ppo_state.json');
  let s: PpoState;
  try {
    s = JSON.parse(readFileSync(f, 'utf8')) as PpoState;
  } catch (e) {
    throw new CheckpointError(`${f}: ${(e as Error).message}`);
  }
  if (!Number.isInteger(s.step) || s.step < 0) throw new CheckpointError(`${f}: step must be an integer >= 0, got ${JSON.stringify(s.step)}`);
  if (!s.kl || !Number.isFinite(s.kl.value)) throw new CheckpointError(`${f}: kl.value must be a finite number`);
  if (!Number.isInteger(s.dataPosition)) throw new CheckpointError(`${f}: dataPosition must be an integer`);
  return s;
}
