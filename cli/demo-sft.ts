// rlhf demo-sft: supervised fine-tuning on the embedded defaults (demo/demo-sft.ts runs it): perplexity
// and samples before and after LoRA on Moby-Dick. This file parses the flags and prints.
import { Command } from 'commander';
import { join } from 'node:path';
import { BackendName } from '../backend/backend.js';
import { STARTER } from '../data/starter.js';
import { runDemoSft, SftSideResult } from '../demo/demo-sft.js';
import { backendOption, int } from './options.js';
import { Progress } from './progress.js';

export function demoSftCommand(): Command {
  return new Command('demo-sft')
    .description('fine-tune the shipped starter model on Moby-Dick with LoRA; perplexity and samples before and after')
    .option('--model <dir>', 'base checkpoint', STARTER)
    .option('--out <dir>', 'run folder (default .rlhf/demo/<time>)')
    .option('--db <file>', 'SQLite store that receives base-vs-tuned comparison tasks', join('.rlhf', 'demo', 'rlhf.db'))
    .option('--steps <n>', 'LoRA training steps', int(1), 80)
    .option('--seed <s>', 'seed for adapters, data order and sampling', int(0), 0)
    .addOption(backendOption())
    .option('--json', 'print a JSON summary at the end')
    .action(async (o) => {
      let bar: Progress | null = null;
      const summary = await runDemoSft({ model: o.model, out: o.out, db: o.db, steps: o.steps, seed: o.seed, backend: o.backend as BackendName }, {
        base: (model) => process.stderr.write(`base model ${model}\n`),
        training: (steps) => (bar = new Progress('lora sft', steps, 'tok')),
        step: (s, _t, tokens, loss) => bar!.update(s, tokens, `loss ${loss.toFixed(3)}`),
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const show = (title: string, r: SftSideResult) => {
        process.stdout.write(`\n${title}: Moby-Dick held-out perplexity ${r.perplexity.toFixed(1)}\n`);
        for (const s of r.samples) process.stdout.write(`  > ${JSON.stringify(s).slice(1, -1)}\n`);
      };
      show('starter model', summary.before);
      show(`after ${o.steps} LoRA steps on Moby-Dick`, summary.after);
      process.stdout.write(`\nadapter saved in ${summary.adapter} (PEFT layout)\n${summary.tasks} base-vs-tuned comparison tasks added to ${o.db}; to label them:\n` +
        `  rlhf users add --name me --role admin --db ${o.db}   # prints your token\n  rlhf serve --db ${o.db}                               # then open http://127.0.0.1:8080/label#token=TOKEN\n`);
    });
}
