// rlhf tasks add: sample K completions per prompt from a model and enqueue comparison tasks.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parsePreference } from '../data/prefs.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { sampleTasks } from '../lm/sample-tasks.js';
import { backendOption, float, int } from './options.js';
import { createStore, dbOption } from './store-file.js';

export function tasksCommand(): Command {
  const cmd = new Command('tasks').description('comparison tasks for labelers');
  cmd.command('add').description('sample K completions per prompt from a model and enqueue them as comparison tasks')
    .addOption(dbOption('SQLite label store (created when missing)'))
    .requiredOption('--model <dir>', 'checkpoint folder')
    .requiredOption('--prompts <file>', 'one prompt per line, or JSONL {"prompt"}')
    .option('--k <k>', 'completions per task', int(2), 2)
    .option('--n <n>', 'use only the first n prompts', int(1))
    .option('--max-new-tokens <n>', 'completion length', int(1), 48)
    .option('--temperature <t>', 'sampling temperature', float(0), 1)
    .option('--top-p <p>', 'nucleus mass', float(0, 1), 0.95)
    .option('--seed <s>', 'sampling seed', int(0), 0)
    .addOption(backendOption())
    .action(async (o) => {
      const lines = readFileSync(o.prompts, 'utf8').split('\n').filter((l) => l.trim());
      const prompts = lines.map((l, i) => {
        if (!l.trimStart().startsWith('{')) return l;
        const j = JSON.parse(l) as { prompt?: unknown };
        if (typeof j.prompt !== 'string') throw new Error(`${o.prompts}:${i + 1}: expected {"prompt": string}`);
        return j.prompt;
      }).slice(0, o.n ?? Infinity);
      await initBackend(o.backend as BackendName);
      const { model, tokenizer } = loadCheckpoint(o.model);
      const store = createStore(o.db);
      let added = 0;
      await sampleTasks(model, tokenizer!, prompts, {
        k: o.k, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed: o.seed,
        onBatch: (tasks) => {
          added += store.addTasks(tasks.map((t) => ({ prompt: t.prompt, source: `cli:${o.model}`, completions: t.completions.map((c) => ({ ...c, model: o.model })) }))).length;
          process.stderr.write(`enqueued ${added}/${prompts.length} tasks\n`);
        },
      });
      store.close();
      model.dispose();
    });
  cmd.command('gold').description('add gold questions: JSONL {"prompt","chosen","rejected"} become tasks whose known answer is "chosen"')
    .addOption(dbOption('SQLite label store (created when missing)'))
    .requiredOption('--data <file>', 'JSONL file')
    .action((o) => {
      const rows = readFileSync(o.data, 'utf8').split('\n').map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim()).map(([l, n]) => {
        const p = parsePreference(l, o.data, n);
        return { prompt: p.prompt, completions: [{ text: p.chosen }, { text: p.rejected }], gold: [0, 1], source: 'gold' };
      });
      const store = createStore(o.db);
      const ids = store.addTasks(rows);
      store.close();
      process.stdout.write(`added ${ids.length} gold questions\n`);
    });
  return cmd;
}
