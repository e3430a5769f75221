// rlhf train-rm: a reward model from preference labels (a label store or JSONL), resumable.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { openRunSink } from '../data/sqlite-sink.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { resolveRmConfig, RmConfigSchema } from '../reward-models/rm-config.js';
import { trainRewardModel } from '../reward-models/train-rm.js';
import { configFlags, loraFlags, loraFromFlags } from './config-flags.js';
import { backendOption } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

export function trainRmCommand(): Command {
  const cmd = new Command('train-rm')
    .description('train a reward model (LM backbone + scalar head) on preferences with the Bradley-Terry loss')
    .option('--config <file>', 'JSON config (fields as in reward-models/rm-config.ts); flags override it');
  // every scalar or list field of the config, from its schema
  const fields = configFlags(cmd, RmConfigSchema, { help: { db: 'read labels from this label store (the run is recorded there too)' } });
  return loraFlags(cmd, 'train LoRA adapters of this rank (and the head) instead of every weight')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .addOption(backendOption())
    .option('--json', 'print metrics as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--run-id <id>', "the run's id in the store (default: the --out folder's name)")
    .action(async (o) => {
      const raw: Record<string, unknown> = o.config ? JSON.parse(readFileSync(o.config, 'utf8')) : {};
      Object.assign(raw, fields(o));
      const lora = loraFromFlags(o);
      if (lora) raw.lora = lora;
      const config = resolveRmConfig(raw, o.config ?? 'flags');
      if (config.db) mustExist(config.db); // it reads labels: a mistyped path must not become an empty store
      await initBackend(o.backend as BackendName);
      const runId = o.runId ?? config.out.split(/[\\/]/).filter(Boolean).at(-1) ?? 'train-rm';
      const sink = openRunSink({ kind: 'train-rm', runId, json: Boolean(o.json), db: config.db ?? undefined, config: config as unknown as Record<string, unknown>, dir: config.out, resume: Boolean(o.resume) });
      let bar: Progress | null = null;
      const result = await trainRewardModel(config, Boolean(o.resume), {
        sink: {
          ...sink,
          metrics: (step, m) => {
            sink.metrics(step, m);
            if (!o.json && 'eval/accuracy' in m) process.stderr.write(`step ${step}: validation accuracy ${(m['eval/accuracy'] * 100).toFixed(1)}%, loss ${m['eval/loss'].toFixed(3)}\n`);
          },
        },
        onStep: (step, total, comparisons, loss) => {
          bar ??= new Progress('train-rm', total, 'cmp');
          bar.update(step, comparisons, `loss ${loss.toFixed(3)}`);
        },
      }).catch((e: Error) => {
        sink.finish('failed', e.message);
        throw e;
      });
      const summary = { step: result.step, final: result.final, best: result.best, train: result.trainComparisons, val: result.valComparisons };
      sink.event(result.step, 'result', summary); // before finish: the store's sink closes with it
      sink.finish(result.final ? 'done' : 'stopped');
      if (!o.json) process.stdout.write(`done at step ${result.step} (${result.trainComparisons} training, ${result.valComparisons} validation comparisons)${result.best ? `; best validation accuracy ${(result.best.accuracy * 100).toFixed(1)}% at step ${result.best.step}` : ''}; reward model in ${result.final}\n`);
    });
}
