// `rlhf start`'s first tasks: an empty queue gets comparisons from the shipped starter model on the first
// openings, so the labeling page has something to show on a fresh store. Sizes and seed are fixed: every
// fresh start offers the same first tasks.
import type { Store } from '../data/store.js';
import { openingPrompts, STARTER } from '../data/starter.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { fillQueue } from './fill-queue.js';

/** Whether the store holds no task at all (labelled or not): only then does `rlhf start` seed it. */
export function queueIsEmpty(store: Store): boolean {
  return !(store.db.prepare('SELECT count(*) FROM tasks').pluck().get() as number);
}

/** Adds n comparisons (2 starter completions of 24 tokens each) on the first n openings; returns how many. */
export async function seedStarterTasks(store: Store, n: number): Promise<number> {
  const { model, tokenizer } = loadCheckpoint(STARTER);
  try {
    return await fillQueue(store, model, tokenizer!, openingPrompts().slice(0, n), { k: 2, maxNewTokens: 24, temperature: 0.8, topP: 1, seed: 1, batch: 24, source: 'starter', model: 'starter' });
  } finally {
    model.dispose();
  }
}
