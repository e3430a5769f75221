// rlhf eval-rm: a reward model's accuracy and calibration on preference labels (reward-models/evaluate-rm.ts).
import { Command, Option } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { evalComparisons, evaluateRewardModel } from '../reward-models/evaluate-rm.js';
import { backendOption, collect, float, int } from './options.js';

export function evalRmCommand(): Command {
  return new Command('eval-rm')
    .description('accuracy and calibration (a reliability table of predicted vs observed win rate) of a reward model on preferences')
    .requiredOption('--model <dir>', 'reward-model folder')
    .option('--db <file>', 'labels from this label store')
    .option('--data <file>', 'JSONL preferences; repeat for several', collect)
    .addOption(new Option('--split <which>', 'all the data, or only the validation prompts of the training split').choices(['all', 'val']).default('all'))
    .option('--val-fraction <f>', 'with --split val: the fraction used in training', float(0, 0.9), 0.1)
    .option('--seed <s>', 'with --split val: the seed used in training', int(0), 0)
    .option('--bins <n>', 'reliability bins', int(2), 10)
    .addOption(backendOption())
    .option('--json', 'print the result as one JSON object')
    .action(async (o) => {
      if (Boolean(o.db) === Boolean(o.data?.length)) throw new Error('give exactly one of --db or --data');
      const cs = await evalComparisons({ db: o.db ?? null, data: o.data ?? [], split: o.split, valFraction: o.valFraction, seed: o.seed });
      await initBackend(o.backend as BackendName);
      const cal = await evaluateRewardModel(o.model, cs, o.bins);
      if (o.json) {
        process.stdout.write(JSON.stringify({ comparisons: cs.length, ...cal }) + '\n');
        return;
      }
      process.stdout.write(`${cs.length} comparisons, ${cal.pairs} pairs: accuracy ${(cal.accuracy * 100).toFixed(1)}%, log loss ${cal.logLoss.toFixed(3)}, ECE ${cal.ece.toFixed(3)}\n`);
      process.stdout.write('predicted P(first wins)   pairs  mean predicted  observed\n');
      for (const b of cal.bins) {
        if (!b.count) continue;
        process.stdout.write(`  ${b.lo.toFixed(1)}-${b.hi.toFixed(1)}  ${String(b.count).padStart(19)}  ${b.predicted.toFixed(3).padStart(14)}  ${b.observed.toFixed(3).padStart(8)}\n`);
      }
    });
}
