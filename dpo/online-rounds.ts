// The pieces of one online DPO round (dpo/online.ts): which labels are new, the round's data as a file,
// the round's config, and the policy it leaves for the next round. A round is an ordinary offline DPO run
// (dpo/dpo.ts) in its own folder on a JSONL file of its labels, so its snapshot, reference cache,
// checkpoints and resume are runDpo's own.
import * as tf from '@tensorflow/tfjs';
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs';
import { exportLines, openReader } from '../data/export.js';
import type { Store } from '../data/store.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../lm/checkpoint.js';
import { Lora } from '../lm/lora.js';
import { DpoConfig, resolveDpoConfig } from './config.js';

/** The label kinds a round trains on: rankings, and ties once a tie option other than drop keeps them. */
export const labelKinds = (c: Pick<DpoConfig, 'ties'>): string[] => (c.ties === 'drop' ? ['ranking'] : ['ranking', 'tie']);

/** Ids of the preference labels on tasks from `source` (the run's `run:<id>`), oldest first, leaving out `used`. */
export function newLabels(store: Store, source: string, kinds: string[], used: ReadonlySet<number>): number[] {
  const ids = store.db.prepare(`SELECT l.id FROM labels l JOIN tasks t ON t.id = l.task_id WHERE t.source = ? AND l.kind IN (${kinds.map(() => '?').join(', ')}) ORDER BY l.id`)
    .pluck().all(source, ...kinds) as number[];
  return ids.filter((id) => !used.has(id));
}

/** Tasks from `source` that no one has labeled yet (not even a skip): while there are some, labelers have work. */
export function openTasks(store: Store, source: string): number {
  return store.db.prepare('SELECT count(*) FROM tasks t WHERE t.source = ? AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.task_id = t.id)').pluck().get(source) as number;
}

/** Preference labels in a store file, of any source (round 0 is skipped on a store without any). */
export function preferenceLabels(db: string, kinds: string[]): number {
  const reader = openReader(db);
  try {
    return reader.prepare(`SELECT count(*) FROM labels WHERE kind IN (${kinds.map(() => '?').join(', ')})`).pluck().get(...kinds) as number;
  } finally {
    reader.close();
  }
}

/** The labels `ids` as our full export (what dpo/data.ts reads from a file), written atomically to `file`. */
export function writeRoundLabels(db: string, ids: number[], file: string): void {
  const want = new Set(ids);
  const reader = openReader(db); // its own read-only connection: labelers keep writing meanwhile
  const lines: string[] = [];
  try {
    for (const line of exportLines(reader, 'full')) if (want.has((JSON.parse(line) as { label_id: number }).label_id)) lines.push(line);
  } finally {
    reader.close();
  }
  if (lines.length !== want.size) throw new Error(`${db}: ${want.size - lines.length} of the round's ${want.size} labels are gone from the store`);
  writeFileAtomic(file, lines.join(''));
}

export interface RoundPlan {
  config: DpoConfig;
  /** The reference's folder when it is not the round's starting policy (reference: initial after round 0). */
  referenceModel?: string;
}

/**
 * Round `round`'s DPO config: the run's training fields, the round's folder, its policy to start from and
 * its data (round 0: the run's db or data; later rounds: their labels file). Reference initial keeps the
 * starting model (a frozen copy, whatever the run's reference kind was, unless it is none); previous uses
 * the run's kind on the round's start, which is then the previous round's policy.
 */
export function roundPlan(c: DpoConfig, round: number, policy: string, dir: string, labelsFile: string): RoundPlan {
  const base = { ...c, out: dir, onlineFeedback: null } as Record<string, unknown>;
  if (round === 0) return { config: resolveDpoConfig(base, 'round 0') };
  const fixed = c.onlineFeedback?.reference === 'initial' && c.reference !== 'none';
  const config = resolveDpoConfig({ ...base, model: policy, db: null, data: [labelsFile], ...(fixed ? { reference: 'copy' } : {}) }, `round ${round}`);
  return fixed ? { config, referenceModel: c.model } : { config };
}

/**
 * The policy a round leaves as a model folder: its final/ itself, or under LoRA its adapter folded into the
 * round's starting model (W + (α/r) A B, as rlhf merge), written to `dir`, so the next round starts from a
 * full model and attaches fresh adapters.
 */
export async function roundPolicy(plan: DpoConfig, final: string, dir: string): Promise<string> {
  if (!plan.lora) return final;
  const { model, tokenizer } = loadCheckpoint(plan.model);
  try {
    const lora = Lora.load(final, model);
    const merged = lora.mergedWeights(model);
    for (const [name, w] of merged) model.p(name).assign(w);
    tf.dispose([...merged.values()]);
    lora.dispose();
    model.adapter = null;
    await replaceDir(dir, (tmp) => saveCheckpoint(tmp, model, tokenizer));
  } finally {
    model.dispose();
  }
  return dir;
}

/** Copy a model folder to `dir`, whole or not at all. */
export async function copyModel(from: string, dir: string): Promise<void> {
  await replaceDir(dir, async (tmp) => cpSync(from, tmp, { recursive: true }));
}

async function replaceDir(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await write(tmp);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}
