// Filling the labeling queue from a model: K completions sampled per prompt (lm/sample-tasks.ts) become
// comparison tasks in a label store, batch by batch, so a long fill shows progress and a crash keeps what
// was already stored. `rlhf tasks add`, `rlhf start`'s first tasks, the demo and the simulated-labels
// harness all fill it this way; they differ only in sizes, seeds and the source the tasks are marked with.
import { readFileSync } from 'node:fs';
import type { Store } from '../data/store.js';
import type { GPT } from '../lm/model.js';
import { SampleTaskOptions, sampleTasks } from '../lm/sample-tasks.js';
import type { Tokenizer } from '../lm/tokenizer.js';

export interface FillOptions extends Omit<SampleTaskOptions, 'onBatch'> {
  /** What the tasks are marked with in the store (tasks.source), e.g. 'demo' or 'cli:<model dir>'. */
  source: string;
  /** The name each completion is recorded under (completions.model). */
  model: string;
  /** Passes over the prompts, each sampled with its own seed (seed + pass · 100 003) so they differ; default 1. */
  passes?: number;
  /** Called after each stored batch with the number of tasks added so far. */
  onBatch?: (added: number) => void;
}

/** Samples tasks from `model` for every prompt (times `passes`) into `store`; returns how many were added. */
export async function fillQueue(store: Store, model: GPT, tokenizer: Tokenizer, prompts: string[], o: FillOptions): Promise<number> {
  const { source, model: name, passes = 1, onBatch, seed, ...sample } = o;
  let added = 0;
  for (let pass = 0; pass < passes; pass++) {
    await sampleTasks(model, tokenizer, prompts, {
      ...sample, seed: seed + pass * 100_003,
      onBatch: (ts) => {
        added += store.addTasks(ts.map((t) => ({ prompt: t.prompt, source, completions: t.completions.map((c) => ({ ...c, model: name })) }))).length;
        onBatch?.(added);
      },
    });
  }
  return added;
}

/** Prompts of a file: one a line (blank lines skipped), or JSONL {"prompt"} lines, the two mixed freely. */
export function readTaskPrompts(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  return lines.map((l, i) => {
    if (!l.trimStart().startsWith('{')) return l;
    const j = JSON.parse(l) as { prompt?: unknown };
    if (typeof j.prompt !== 'string') throw new Error(`${file}:${i + 1}: expected {"prompt": string}`);
    return j.prompt;
  });
}
