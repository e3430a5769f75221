// rlhf tasks add: sample K completions per prompt from a model and enqueue comparison tasks (the filling
// is queue/fill-queue.ts); rlhf tasks gold: questions with a known answer (data/gold-questions.ts).
import { Command } from 'commander';
import { readGoldQuestions } from '../data/gold-questions.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { fillQueue, readTaskPrompts } from '../queue/fill-queue.js';
import { backendOption, float, int } from './options.js';
import { createStore, dbOption } from './store-file.js';

export function tasksCommand(): Command {
  const cmd = new Command('tasks').description('comparison tasks for labelers');
  cmd.command('add').description('sample K completions per prompt from a model and enqueue them as comparison tasks')
    .addOption(dbOption('SQLite label store (created when missing)'))
    .requiredOption('--model <dir>', 'checkpoint folder')
    .requiredOption('--prompts <file>', 'one prompt per line, or JSONL {"prompt"}; a .jsonl file may hold conversations ({"messages": [...]}), rendered with the model\'s chat template and shown to labelers as turns')
    .option('--k <k>', 'completions per task', int(2), 2)
    .option('--n <n>', 'use only the first n prompts', int(1))
    .option('--max-new-tokens <n>', 'completion length', int(1), 48)
    .option('--temperature <t>', 'sampling temperature', float(0), 1)
    .option('--top-p <p>', 'nucleus mass', float(0, 1), 0.95)
    .option('--seed <s>', 'sampling seed', int(0), 0)
    .addOption(backendOption())
    .action(async (o) => {
      await initBackend(o.backend as BackendName);
      const { model, tokenizer } = loadCheckpoint(o.model);
      const prompts = readTaskPrompts(o.prompts, tokenizer).slice(0, o.n ?? Infinity); // conversations need the model's chat template
      const store = createStore(o.db);
      await fillQueue(store, model, tokenizer!, prompts, {
        k: o.k, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, seed: o.seed, source: `cli:${o.model}`, model: o.model,
        onBatch: (added) => process.stderr.write(`enqueued ${added}/${prompts.length} tasks\n`),
      });
      store.close();
      model.dispose();
    });
  cmd.command('gold').description('add gold questions: JSONL {"prompt","chosen","rejected"} become tasks whose known answer is "chosen"')
    .addOption(dbOption('SQLite label store (created when missing)'))
    .requiredOption('--data <file>', 'JSONL file')
    .action((o) => {
      const rows = readGoldQuestions(o.data);
      const store = createStore(o.db);
      const ids = store.addTasks(rows);
      store.close();
      process.stdout.write(`added ${ids.length} gold questions\n`);
    });
  return cmd;
}
