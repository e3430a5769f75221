// Filling the labeling queue from a model: K completions sampled per prompt (lm/sample-tasks.ts) become
// comparison tasks in a label store, batch by batch, so a long fill shows progress and a crash keeps what
// was already stored. `rlhf tasks add`, `rlhf start`'s first tasks, the demo and the simulated-labels
// harness all fill it this way; they differ only in sizes, seeds and the source the tasks are marked with.
// A prompt that came from a conversation keeps it: the model is conditioned on the rendered text, and the
// task carries the messages too, so labelers see the turns (data/task-messages.ts).
import { readFileSync } from 'node:fs';
import type { Store } from '../data/store.js';
import { taskTurns } from '../data/task-messages.js';
import type { ChatMessage } from '../lm/chat-template.js';
import type { GPT } from '../lm/model.js';
import { SampleTaskOptions, sampleTasks } from '../lm/sample-tasks.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { loadPromptRecords } from '../rl/prompts.js';

/** A prompt to sample for: its text, and the conversation it was rendered from when it came from one. */
export interface TaskPrompt {
  prompt: string;
  messages?: ChatMessage[];
}

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
export async function fillQueue(store: Store, model: GPT, tokenizer: Tokenizer, prompts: (string | TaskPrompt)[], o: FillOptions): Promise<number> {
  const { source, model: name, passes = 1, onBatch, seed, ...sample } = o;
  const records = prompts.map((p): TaskPrompt => (typeof p === 'string' ? { prompt: p } : p));
  const texts = records.map((r) => r.prompt);
  let added = 0;
  for (let pass = 0; pass < passes; pass++) {
    await sampleTasks(model, tokenizer, texts, {
      ...sample, seed: seed + pass * 100_003,
      onBatch: (ts, done) => {
        const first = done - ts.length; // the batch's tasks are those of prompts [first, done)
        added += store.addTasks(ts.map((t, j) => ({
          prompt: t.prompt, messages: taskTurns(records[first + j].messages), source, completions: t.completions.map((c) => ({ ...c, model: name })),
        }))).length;
        onBatch?.(added);
      },
    });
  }
  return added;
}

/**
 * Prompts of a file. A .jsonl file is read as PPO reads its prompts (rl/prompts.ts): {"prompt": string}
 * lines, or conversations in TRL's format ({"messages": [...]} or {"prompt": [...]}) rendered with
 * `tokenizer`'s chat template and kept as messages. Any other file: one prompt a line (blank lines
 * skipped), or JSONL {"prompt"} lines, the two mixed freely.
 */
export function readTaskPrompts(file: string, tokenizer?: Tokenizer | null): TaskPrompt[] {
  if (file.endsWith('.jsonl')) return loadPromptRecords(file, tokenizer).map(({ prompt, messages }) => (messages ? { prompt, messages } : { prompt }));
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  return lines.map((l, i) => {
    if (!l.trimStart().startsWith('{')) return { prompt: l };
    const j = JSON.parse(l) as { prompt?: unknown };
    if (typeof j.prompt !== 'string') throw new Error(`${file}:${i + 1}: expected {"prompt": string} (a conversation needs a .jsonl file)`);
    return { prompt: j.prompt };
  });
}
