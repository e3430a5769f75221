// rlhf score: normalised reward-model scores for completions of a prompt.
import { Command } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { RewardModel } from '../reward-models/reward-model.js';
import { backendOption, collect } from './options.js';

export function scoreCommand(): Command {
  return new Command('score')
    .description('score completions of a prompt with a reward model (normalised: mean 0, std 1 on policy samples)')
    .requiredOption('--model <dir>', 'reward-model folder (from rlhf train-rm)')
    .requiredOption('--prompt <text>', 'the prompt')
    .requiredOption('--completion <text>', 'a completion; repeat to score several', collect)
    .addOption(backendOption())
    .option('--json', 'print one {"prompt","completion","score","raw"} per line')
    .action(async (o) => {
      await initBackend(o.backend as BackendName);
      const rm = RewardModel.load(o.model);
      const prompts = (o.completion as string[]).map(() => o.prompt as string);
      const raw = await rm.scoreRaw(prompts, o.completion);
      raw.forEach((r, i) => {
        const score = (r - rm.norm.mean) / rm.norm.std;
        process.stdout.write(o.json ? JSON.stringify({ prompt: o.prompt, completion: o.completion[i], score, raw: r }) + '\n' : `${score.toFixed(3).padStart(8)}  ${JSON.stringify(o.completion[i])}\n`);
      });
      rm.dispose();
    });
}
