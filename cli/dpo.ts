// rlhf dpo: offline DPO on preference labels (a label store or JSONL files), resumable. Every scalar and
// list field of dpo/config.ts's schema is a --kebab-case flag (config-flags.ts); flags override --config.
// Metrics go to stdout as JSON lines (--json) and to the label store the labels come from (--db), so the
// run shows on the dashboard.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { BackendName, initBackend } from '../backend/backend.js';
import { openRunSink } from '../data/sqlite-sink.js';
import { DpoConfigSchema, resolveDpoConfig } from '../dpo/config.js';
import { runDpo } from '../dpo/dpo.js';
import { configFlags, loraFlags, loraFromFlags } from './config-flags.js';
import { backendOption } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

export function dpoCommand(): Command {
  const cmd = new Command('dpo')
    .description("direct preference optimisation on preference labels, without a reward model (TRL's DPOTrainer semantics: sigmoid, ipo, hinge, robust, sigmoid_norm losses)")
    .option('--config <file>', 'JSON config (fields as in dpo/config.ts); flags override it');
  const fields = configFlags(cmd, DpoConfigSchema, { help: { db: 'read labels from this label store, read-only (the run is recorded there too)', data: 'a JSONL file of preferences' } });
  return loraFlags(cmd, 'train LoRA adapters of this rank (the reference is then the adapter switched off)')
    .option('--resume', 'continue the run in --out from its latest checkpoint, on the same data')
    .addOption(backendOption())
    .option('--json', 'print metrics, samples and events as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--run-id <id>', "the run's id in the store (default: the --out folder's name)")
    .action(async (o) => {
      let raw: Record<string, unknown> = {};
      if (o.config) {
        try {
          raw = JSON.parse(readFileSync(o.config, 'utf8'));
        } catch (e) {
          throw new Error(`${o.config}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      Object.assign(raw, fields(o));
      const lora = loraFromFlags(o);
      if (lora) raw.lora = lora;
      const config = resolveDpoConfig(raw, o.config ?? 'flags');
      if (config.db) mustExist(config.db); // it reads labels: a mistyped path must not become an empty store
      await initBackend(o.backend as BackendName);
      const runId = o.runId ?? config.out.split(/[\\/]/).filter(Boolean).at(-1) ?? 'dpo';
      const sink = openRunSink({ kind: 'dpo', runId, json: Boolean(o.json), db: config.db ?? undefined, config: config as unknown as Record<string, unknown>, dir: config.out, resume: Boolean(o.resume) });
      let bar: Progress | null = null;
      let startTokens = -1;
      const result = await runDpo(config, {
        resume: Boolean(o.resume),
        sink: {
          ...sink,
          metrics: (step, m) => {
            sink.metrics(step, m);
            if (!o.json && 'eval/loss' in m) process.stderr.write(`step ${step}: eval loss ${m['eval/loss'].toFixed(4)}, reward accuracy ${(m['eval/rewards/accuracies'] * 100).toFixed(1)}%, margin ${m['eval/rewards/margins'].toFixed(3)}\n`);
          },
        },
        onStep: ({ step, total, loss, numTokens }) => {
          bar ??= new Progress('dpo', total, 'tok');
          if (startTokens < 0) startTokens = numTokens;
          bar.update(step, numTokens - startTokens, `loss ${loss.toFixed(4)}`);
        },
      }).catch((e: Error) => {
        sink.finish('failed', e.message);
        throw e;
      });
      const summary = { step: result.step, final: result.final, best: result.best, stoppedEarly: result.stoppedEarly, train: result.train, val: result.val };
      sink.event(result.step, 'result', summary); // before finish: the store's sink closes with it
      sink.finish(result.final ? 'done' : 'stopped');
      if (!o.json) {
        const best = result.best ? `; best eval loss ${result.best.evalLoss.toFixed(4)} at step ${result.best.step}` : '';
        process.stdout.write(`done at step ${result.step} of ${result.total}${result.stoppedEarly ? ' (stopped early)' : ''} (${result.train} training, ${result.val} validation comparisons)${best}; policy in ${result.final}\n`);
      }
    });
}
