// The online loops' way out: the current policy's completions for some prompts of the run's prompt file go
// into the labeling queue as K-completion tasks, tagged with the run (its source `run:<id>`, and the run's
// id on each completion when the run is recorded in that store), the model folder that wrote them and the
// step. Shared by the PPO / GRPO / RLOO loop (loop.ts) and online DPO (dpo/online.ts).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { taskTurns } from '../../data/task-messages.js';
import type { GPT } from '../../lm/model.js';
import { sampleTasks } from '../../lm/sample-tasks.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { loadPromptRecords, PromptRecord } from '../prompts.js';
import type { TaskFields } from './config.js';

export interface TaskBatch {
  /** Which batch of prompts: batch b takes prompts [b·n, (b+1)·n) of the file, wrapping around. */
  batch: number;
  /** The step the completions are tagged with. */
  step: number;
  seed: number;
  /** The model folder the completions are tagged with (the policy that wrote them). */
  model: string;
}

export class TaskSender {
  readonly store: Store;
  private readonly prompts: PromptRecord[];

  constructor(private readonly cfg: TaskFields, private readonly run: { id: string; model: string; prompts: string }) {
    this.store = new Store(cfg.db);
    // conversations are rendered with the policy's chat template (its folder's tokenizer); their tasks
    // carry the messages too, so labelers see the turns
    this.prompts = loadPromptRecords(run.prompts, existsSync(join(run.model, 'tokenizer.json')) ? Tokenizer.load(run.model) : undefined);
  }

  /** Sample one batch of `prompts` tasks from `policy` and queue them; returns their task ids. */
  async send(policy: GPT, tok: Tokenizer, b: TaskBatch): Promise<number[]> {
    const n = this.cfg.prompts;
    const start = (b.batch * n) % this.prompts.length;
    const chosen = Array.from({ length: n }, (_, i) => this.prompts[(start + i) % this.prompts.length]);
    const tasks = await sampleTasks(policy, tok, chosen.map((r) => r.prompt), { k: this.cfg.k, maxNewTokens: this.cfg.maxNewTokens, temperature: this.cfg.temperature, topP: 1, seed: b.seed, batch: 32 });
    // Completions name their run when it is recorded in this store (the column references runs).
    const known = this.store.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(this.run.id) !== undefined;
    return this.store.addTasks(tasks.map((t, i) => ({
      prompt: t.prompt, messages: taskTurns(chosen[i].messages), source: this.source(),
      completions: t.completions.map((c) => ({ ...c, model: b.model, step: b.step, ...(known ? { runId: this.run.id } : {}) })),
    })));
  }

  /** The tasks' source column: which run sent them. */
  source(): string {
    return `run:${this.run.id}`;
  }

  close(): void {
    this.store.close();
  }
}
