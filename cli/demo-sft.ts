// rlhf demo-sft: supervised fine-tuning on the embedded defaults. Loads the shipped starter model, shows
// what it writes, fine-tunes it on Moby-Dick through LoRA adapters, shows held-out perplexity and
// samples before and after, and puts base-vs-tuned pairs into a local SQLite store for labelers.
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { corpusText } from '../data/corpora.js';
import { Store } from '../data/store.js';
import { realWordFraction } from '../data/word-check.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { Lora } from '../lm/lora.js';
import { batchPerplexity, windowBatches } from '../sft/perplexity.js';
import { runSft } from '../sft/sft.js';
import { resolveSftConfig } from '../sft/sft-config.js';
import { splitText } from '../sft/sft-data.js';
import { backendOption, int } from './options.js';
import { Progress } from './progress.js';

import { STARTER } from './start.js';
const PROMPTS = ['Call me', 'The whale', 'It was a dark night, and', 'The captain said', 'Our nation', 'At sea, the men', 'I have never', 'The ship'];

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
      if (!existsSync(join(o.model, 'config.json'))) throw new Error(`${o.model}: no model here (the starter model is rebuilt by \`npm run starter\`)`);
      const backend = await initBackend(o.backend as BackendName);
      const out = o.out ?? join('.rlhf', 'demo', new Date().toISOString().replace(/[:.]/g, '-'));
      const sample = { maxNewTokens: 40, temperature: 0.8, topK: 0, topP: 0.95, seed: o.seed };

      // What the held-out evaluation reads: the last 5% of Moby-Dick, as `rlhf sft` splits it.
      const evaluate = async (withAdapter: string | null) => {
        const { model, tokenizer } = loadCheckpoint(o.model);
        const lora = withAdapter ? Lora.load(withAdapter, model) : null;
        const { held } = splitText([{ name: 'moby-dick', text: corpusText('moby-dick') }], tokenizer!, 0.05);
        const ppl = batchPerplexity(model, windowBatches(held.subarray(0, 64 * 128), 128, 16, tokenizer!.eosId ?? 0));
        const completions = (await generate(model, tokenizer, PROMPTS, sample)).map((c) => c.text);
        lora?.dispose();
        model.dispose();
        const texts = completions.map((c, i) => PROMPTS[i] + c);
        return { perplexity: ppl.perplexity, samples: texts.slice(0, 3), completions, realWords: realWordFraction(texts).fraction };
      };

      process.stderr.write(`base model ${o.model}\n`);
      const before = await evaluate(null);
      const config = resolveSftConfig({
        model: o.model, data: ['corpus:moby-dick'], out, steps: o.steps, batchSize: 8, seqLen: 128, lr: 3e-3,
        warmupSteps: 5, evalEvery: 0, saveEvery: o.steps, seed: o.seed, lora: { rank: 8, alpha: 16, targets: ['attn', 'mlp'] },
      }, 'demo');
      const bar = new Progress('lora sft', o.steps, 'tok');
      await runSft(config, false, { corpus: () => corpusText('moby-dick'), onStep: (s, _t, tokens, loss) => bar.update(s, tokens, `loss ${loss.toFixed(3)}`) });
      const after = await evaluate(join(out, 'final'));
      // Base vs tuned completions as comparison tasks, ready for labelers in the local store.
      const store = new Store(o.db);
      const taskIds = store.addTasks(PROMPTS.map((p, i) => ({
        prompt: p, source: 'demo',
        completions: [{ text: before.completions[i], model: o.model }, { text: after.completions[i], model: join(out, 'final') }],
      })));
      store.close();
      const summary = { backend: backend.name, base: o.model, adapter: join(out, 'final'), steps: o.steps, before, after, db: o.db, tasks: taskIds.length };
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const show = (title: string, r: typeof before) => {
        process.stdout.write(`\n${title}: Moby-Dick held-out perplexity ${r.perplexity.toFixed(1)}\n`);
        for (const s of r.samples) process.stdout.write(`  > ${JSON.stringify(s).slice(1, -1)}\n`);
      };
      show('starter model', before);
      show(`after ${o.steps} LoRA steps on Moby-Dick`, after);
      process.stdout.write(`\nadapter saved in ${summary.adapter} (PEFT layout)\n${taskIds.length} base-vs-tuned comparison tasks added to ${o.db}; to label them:\n` +
        `  rlhf users add --name me --role admin --db ${o.db}   # prints your token\n  rlhf serve --db ${o.db}                               # then open http://127.0.0.1:8080/label#token=TOKEN\n`);
    });
}
