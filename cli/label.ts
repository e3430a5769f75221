// rlhf label simulate: a simulated labeler that labels through the server's HTTP API.
import { Command } from 'commander';
import { loadRule } from '../reward-models/rules.js';
import { simulateLabeler } from '../labelers/simulated-labeler.js';
import { float, int } from './options.js';
import { Progress } from './progress.js';

export function labelCommand(): Command {
  const label = new Command('label').description('labeling helpers');
  label
    .command('simulate')
    .description('label tasks through the HTTP API by a rule (sentiment, length, or a module exporting score(prompt, completion)), with optional noise')
    .requiredOption('--url <url>', 'server base URL, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'a labeler token (default: $RLHF_TOKEN)')
    .requiredOption('--rule <rule>', 'sentiment | length | path to a JS/TS module exporting score(prompt, completion)')
    .option('--noise <p>', 'fraction of choices flipped', float(0, 1), 0)
    .option('--count <n>', 'stop after n labels (default: when no task is left)', int(1))
    .option('--seed <s>', 'seed of the noise', int(0), 0)
    .option('--json', 'print {"labels","ties","flipped"} at the end')
    .action(async (o) => {
      const token = o.token ?? process.env.RLHF_TOKEN;
      if (!token) throw new Error('give --token or set RLHF_TOKEN (rlhf users add --role labeler prints one)');
      const rule = await loadRule(o.rule);
      const count = o.count ?? Infinity;
      const bar = Number.isFinite(count) && !o.json ? new Progress('label', count, 'labels') : null;
      const r = await simulateLabeler({ url: o.url, token, rule, noise: o.noise, count, seed: o.seed, onLabel: (n) => bar?.update(n, n) });
      process.stdout.write(o.json ? JSON.stringify(r) + '\n' : `${r.labels} labels (${r.ties} ties, ${r.flipped} flipped by noise) by rule ${rule.name}\n`);
    });
  return label;
}
