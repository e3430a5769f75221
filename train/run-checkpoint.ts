// Training-run checkpoints: a Hugging Face model folder (or a PEFT adapter folder) plus the optimizer
// state and the trainer state, written into a temporary folder and renamed into place, so a
// checkpoint either exists whole or not at all. `latest` names the newest complete one.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW } from './adamw.js';
import { CheckpointError, saveCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import { Lora } from '../lm/lora.js';
import { GPT } from '../lm/model.js';
import { SafetensorsFile, serializeSafetensors } from '../lm/safetensors.js';
import { Tokenizer } from '../lm/tokenizer.js';

export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  /** Training tokens consumed so far. */
  tokens: number;
  /** Wall-clock seconds spent training so far (across resumes). */
  seconds: number;
}

const stepName = (step: number) => `step-${String(step).padStart(7, '0')}`;

/**
 * Write a checkpoint as out/checkpoints/step-N: `write` fills a temporary folder, which is then renamed into
 * place (so it exists whole or not at all); `latest` then names it, and all but the newest `keep` go.
 * SFT, reward-model and PPO checkpoints all go through here.
 */
export async function publishCheckpoint(out: string, step: number, keep: number, write: (dir: string) => Promise<void>): Promise<string> {
  const root = join(out, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const name = stepName(step);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  await write(tmp);
  const dest = join(root, name);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  writeFileAtomic(join(out, 'latest'), name + '\n');
  const old = readdirSync(root).filter((d) => /^step-\d+$/.test(d)).sort();
  for (const d of old.slice(0, Math.max(0, old.length - keep))) rmSync(join(root, d), { recursive: true, force: true });
  return dest;
}

/**
 * Save model (or adapter), optimizer and trainer state as out/checkpoints/step-N, then point `latest` at it.
 * `extra` writes a trainer's own files (a reward head, its state) into the folder before it is renamed into place.
 */
export async function saveRunCheckpoint(
  out: string, state: TrainerState, model: GPT, tok: Tokenizer | null, lora: Lora | null, opt: AdamW, keep: number,
  extra?: (dir: string) => Promise<void>,
): Promise<string> {
  return publishCheckpoint(out, state.step, keep, async (dir) => {
    if (lora) await lora.save(dir);
    else await saveCheckpoint(dir, model, tok);
    writeFileAtomic(join(dir, 'optimizer.safetensors'), serializeOptimizer(opt));
    writeFileAtomic(join(dir, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    await extra?.(dir);
  });
}

/**
 * Open a run folder (SFT, reward model, PPO alike): create it, refuse one that already holds a run unless
 * resuming, and on resume refuse a changed config except the one field that may grow (steps or epochs).
 * Returns the latest complete checkpoint, or null. The caller writes the resolved config afterwards.
 */
export function openRunFolder<C extends object>(out: string, configFile: string, config: C, resume: boolean, mayChange: keyof C & string): string | null {
  mkdirSync(out, { recursive: true });
  const last = latestCheckpoint(out);
  if (!resume && (last || existsSync(configFile))) {
    throw new Error(`${out} already holds a run; pass --resume to continue it, or choose another --out (nothing is overwritten)`);
  }
  if (resume && existsSync(configFile)) {
    const prev = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const now = config as Record<string, unknown>;
    const diff = Object.keys(prev).filter((k) => k !== mayChange && JSON.stringify(prev[k]) !== JSON.stringify(now[k]));
    if (diff.length) throw new Error(`--resume with a different config (${diff.join(', ')}); only ${mayChange} may change`);
  }
  return last;
}

/** The folder named by out/latest, or null when the run has no checkpoint yet. */
export function latestCheckpoint(out: string): string | null {
  const f = join(out, 'latest');
  if (!existsSync(f)) return null;
  const dir = join(out, 'checkpoints', readFileSync(f, 'utf8').trim());
  if (!existsSync(dir)) throw new CheckpointError(`${f} names ${dir}, which does not exist`);
  return dir;
}

export function readTrainerState(dir: string): TrainerState {
  const f = join(dir, 'trainer_state.json');
  try {
    const s = JSON.parse(readFileSync(f, 'utf8')) as TrainerState;
    if (!Number.isInteger(s.step) || s.step < 0) throw new Error('step must be an integer >= 0');
    return { step: s.step, tokens: s.tokens ?? 0, seconds: s.seconds ?? 0 };
  } catch (e) {
    throw new CheckpointError(`${f}: ${(e as Error).message}`);
  }
}

/** AdamW moments as m/NAME and v/NAME, step count in the metadata. */
export function serializeOptimizer(opt: AdamW): Uint8Array {
  const tensors = [];
  for (const [name, m] of opt.m) tensors.push({ name: `m/${name}`, shape: [m.length], data: m });
  for (const [name, v] of opt.v) tensors.push({ name: `v/${name}`, shape: [v.length], data: v });
  return serializeSafetensors(tensors, { t: String(opt.t) });
}

export function loadOptimizer(dir: string, opt: AdamW): void {
  const f = join(dir, 'optimizer.safetensors');
  if (!existsSync(f)) throw new CheckpointError(`${f}: not found`);
  const st = new SafetensorsFile(readFileSync(f), f);
  for (const [name, m] of opt.m) {
    for (const [kind, arr] of [['m', m], ['v', opt.v.get(name)!]] as const) {
      const src = st.float32(`${kind}/${name}`);
      if (src.length !== arr.length) throw new CheckpointError(`${f}: tensor '${kind}/${name}' has ${src.length} values, the model needs ${arr.length}`);
      arr.set(src);
    }
  }
  const t = Number(st.metadata.t);
  if (!Number.isInteger(t) || t < 0) throw new CheckpointError(`${f}: metadata t must be the step count, got ${JSON.stringify(st.metadata.t)}`);
  opt.t = t;
}
