// rlhf demo (npm run demo): the whole loop, headless, on the embedded defaults (demo/demo.ts runs it).
// This file parses the flags, draws the progress bars and prints the summary.
import { Command } from 'commander';
import { join } from 'node:path';
import { BackendName, currentBackend } from '../backend/backend.js';
import { DemoStage, runDemo } from '../demo/demo.js';
import { backendOption, int } from './options.js';
import { Progress } from './progress.js';

const UNITS: Record<DemoStage, string> = { tasks: 'tasks', labels: 'labels', 'reward model': 'cmp', ppo: 'steps' };

export function demoCommand(): Command {
  return new Command('demo')
    .description('the whole loop headless: starter completions, simulated labelers (sentiment, 10% noise) through a live server, a reward model, PPO with online feedback; reward, gold reward and KL before and after')
    .option('--quick', 'a smaller loop (under 3 minutes on 2 cores)')
    .option('--out <dir>', 'demo folder (default .rlhf/demo/<time>)')
    .option('--port <n>', 'port of the pages while the demo runs (0: any free port)', int(0), 0)
    .option('--seed <s>', 'seed', int(0), 1)
    .addOption(backendOption())
    .option('--json', 'print the summary as one JSON object')
    .action(async (o) => {
      const say = (s: string) => process.stderr.write(s + '\n');
      const bars = new Map<DemoStage, Progress>();
      const summary = await runDemo({ profile: o.quick ? 'quick' : 'full', out: o.out, port: o.port, seed: o.seed, backend: o.backend as BackendName }, {
        serving: (at) => say(`demo in ${at.out}; watch it at ${at.dashboard}`),
        begin: (stage, total) => bars.set(stage, new Progress(stage, total, UNITS[stage])),
        update: (stage, done, rate, i = {}) => bars.get(stage)!.update(done, rate,
          stage === 'reward model' ? `loss ${i.loss!.toFixed(3)}` : stage === 'ppo' ? `gold ${(i.gold ?? NaN).toFixed(2)} kl ${i.kl!.toFixed(2)} labels ${i.labels}` : ''),
        rewardModel: (r) => say(`reward model: validation accuracy ${((r.accuracy ?? NaN) * 100).toFixed(1)}% on ${r.valComparisons} held-out comparisons`),
      });
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      const f = (x: number) => x.toFixed(3).padStart(8);
      const acc = summary.rmAccuracy;
      process.stdout.write([
        `\nthe loop, ${summary.seconds.toFixed(0)} s on ${currentBackend()?.name}: ${summary.labels} labels, ${summary.rewardModels} reward model(s) (last validation accuracy ${acc === null ? 'n/a' : (acc * 100).toFixed(1) + '%'})`,
        `                       before    after`,
        `reward (last RM)     ${f(summary.reward[0])} ${f(summary.reward[1])}`,
        `gold (sentiment)     ${f(summary.gold[0])} ${f(summary.gold[1])}`,
        `KL to the starter    ${f(summary.kl[0])} ${f(summary.kl[1])}   (nats per completion, PPO's last steps)`,
        `everything is in ${summary.out}; rlhf serve --db ${join(summary.out, 'rlhf.db')} shows the runs`, '',
      ].join('\n'));
    });
}
