// rlhf generate: sample completions from a checkpoint folder.
import { Command } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { generate } from '../lm/generate.js';
import { backendOption, collect, float, int } from './options.js';

export function generateCommand(): Command {
  return new Command('generate')
    .description('sample completions from a checkpoint folder (gpt2, llama, qwen2, qwen3, mistral)')
    .requiredOption('--model <dir>', 'checkpoint folder (config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--prompt <text>', 'prompt text; repeat for several prompts', collect)
    .option('--n <n>', 'completions per prompt', int(1), 1)
    .option('--max-new-tokens <n>', 'most tokens to add', int(1), 64)
    .option('--temperature <t>', '0 is greedy', float(0), 1)
    .option('--top-k <k>', 'keep the k most likely tokens (0: off)', int(0), 0)
    .option('--top-p <p>', 'nucleus sampling mass (1: off)', float(0, 1), 1)
    .option('--stop <text>', 'stop string; repeat for several', collect, [])
    .option('--seed <s>', 'sampling seed', int(0), 0)
    .addOption(backendOption())
    .option('--json', 'print one JSON object per completion: {"prompt","prompt_ids","ids","text","logprobs"}')
    .action(async (o) => {
      await initBackend(o.backend as BackendName);
      const { model, tokenizer } = loadCheckpoint(o.model);
      if (!tokenizer) throw new Error(`${o.model}: no tokenizer.json, so text prompts cannot be encoded`);
      const prompts = (o.prompt as string[]).flatMap((p) => new Array(o.n).fill(p) as string[]);
      const t0 = performance.now();
      const out = await generate(model, tokenizer, prompts, {
        maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, stop: o.stop,
      });
      const secs = (performance.now() - t0) / 1000;
      for (const c of out) {
        if (o.json) {
          process.stdout.write(JSON.stringify({
            prompt: c.prompt, prompt_ids: c.promptIds, ids: c.ids, text: c.text, logprobs: c.logprobs, finish_reason: c.finishReason,
          }) + '\n');
        } else process.stdout.write(`${c.prompt}\x1b[1m${c.text}\x1b[0m\n---\n`.replace(/\x1b\[[0-9;]*m/g, process.stdout.isTTY ? '$&' : ''));
      }
      const tokens = out.reduce((a, c) => a + c.ids.length, 0);
      process.stderr.write(`generated ${tokens} tokens in ${secs.toFixed(2)}s (${(tokens / secs).toFixed(0)} tokens/s)\n`);
      model.dispose();
    });
}
