// rlhf dpo: offline DPO on preference labels (a label store or JSONL files), resumable; with
// --online-feedback (or the config's onlineFeedback block) online iterative DPO: the policy's samples go
// to the labeling queue and a DPO round trains on each batch of new labels (dpo/online.ts). Every scalar
// and list field of dpo/config.ts's schema is a --kebab-case flag (config-flags.ts), every field of the
// onlineFeedback block an --online-... flag; flags override --config. --db names the label store: the run
// is recorded there (so it shows on the dashboard), and the labels come from it unless the config names db
// or data files of its own (the run manager always passes the server's store with --db). Metrics go to
// stdout as JSON lines (--json).
import { Command } from 'commander';
import { BackendName, initBackend } from '../backend/backend.js';
import { openRunSink, RunSink } from '../data/sqlite-sink.js';
import { DpoConfig, DpoConfigSchema, resolveDpoConfig } from '../dpo/config.js';
import { runDpo } from '../dpo/dpo.js';
import { runOnlineDpo } from '../dpo/online.js';
import { DpoOnlineFeedbackSchema } from '../dpo/online-config.js';
import { configFlags, loraFlags, loraFromFlags, readConfigFile } from './config-flags.js';
import { backendOption } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

export function dpoCommand(): Command {
  const cmd = new Command('dpo')
    .description("direct preference optimisation on preference labels, without a reward model (TRL's DPOTrainer semantics: sigmoid, ipo, hinge, robust, sigmoid_norm losses); --online-feedback iterates it on new labels of the policy's own samples")
    .option('--config <file>', 'JSON config (fields as in dpo/config.ts); flags override it');
  const fields = configFlags(cmd, DpoConfigSchema, { skip: ['db'], help: { data: 'a JSONL file of preferences' } });
  cmd.option('--db <file>', 'the label store: the run is recorded in it, and the labels are read from it (read-only) unless the config names db or data of its own');
  loraFlags(cmd, 'train LoRA adapters of this rank (the reference is then the adapter switched off)');
  cmd.option('--online-feedback', "online iterative DPO: the policy's samples go to the labeling queue of --db (or --online-db), and each --online-round-every-labels new labels train a DPO round");
  const onlineFields = configFlags(cmd, DpoOnlineFeedbackSchema, { prefix: 'online', help: { db: 'label store of the online loop (default: --db, else the config\'s db)' } });
  return cmd
    .option('--resume', 'continue the run in --out from its latest checkpoint, on the same data (online: from its round, with the labels it used)')
    .addOption(backendOption())
    .option('--json', 'print metrics, samples and events as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--run-id <id>', "the run's id in the store (default: the --out folder's name)")
    .action(async (o) => {
      const raw = readConfigFile(o.config);
      Object.assign(raw, fields(o));
      if (o.db !== undefined && (raw.db === undefined || raw.db === null) && !(Array.isArray(raw.data) && raw.data.length)) raw.db = o.db;
      const lora = loraFromFlags(o);
      if (lora) raw.lora = lora;
      const onlineFlags = onlineFields(o);
      if (o.onlineFeedback || Object.keys(onlineFlags).length) {
        const db = o.db ?? raw.db;
        raw.onlineFeedback = { ...(typeof db === 'string' ? { db } : {}), ...((raw.onlineFeedback as object | null) ?? {}), ...onlineFlags };
      }
      const config = resolveDpoConfig(raw, o.config ?? 'flags');
      // it reads labels: a mistyped path must not become an empty store (checked before the run record could create it)
      if (config.db) mustExist(config.db);
      if (config.onlineFeedback) mustExist(config.onlineFeedback.db);
      await initBackend(o.backend as BackendName);
      const runId = o.runId ?? config.out.split(/[\\/]/).filter(Boolean).at(-1) ?? 'dpo';
      const sink = openRunSink({ kind: 'dpo', runId, json: Boolean(o.json), db: o.db ?? config.db ?? undefined, config: config as unknown as Record<string, unknown>, dir: config.out, resume: Boolean(o.resume) });
      const failed = (e: Error) => {
        sink.finish('failed', e.message);
        throw e;
      };
      if (config.onlineFeedback) await online(config, runId, sink, o).catch(failed);
      else await offline(config, sink, o).catch(failed);
    });
}

/** The sink, with a line on stderr per evaluation (unless --json). */
function evalLines(sink: RunSink, json: boolean, prefix = ''): RunSink {
  return {
    ...sink,
    metrics: (step, m) => {
      sink.metrics(step, m);
      if (!json && 'eval/loss' in m) process.stderr.write(`${prefix}step ${step}: eval loss ${m['eval/loss'].toFixed(4)}, reward accuracy ${(m['eval/rewards/accuracies'] * 100).toFixed(1)}%, margin ${m['eval/rewards/margins'].toFixed(3)}\n`);
    },
  };
}

async function offline(config: DpoConfig, sink: RunSink, o: Record<string, unknown>): Promise<void> {
  let bar: Progress | null = null;
  let startTokens = -1;
  const result = await runDpo(config, {
    resume: Boolean(o.resume),
    sink: evalLines(sink, Boolean(o.json)),
    onStep: ({ step, total, loss, numTokens }) => {
      bar ??= new Progress('dpo', total, 'tok');
      if (startTokens < 0) startTokens = numTokens;
      bar.update(step, numTokens - startTokens, `loss ${loss.toFixed(4)}`);
    },
  });
  const summary = { step: result.step, final: result.final, best: result.best, stoppedEarly: result.stoppedEarly, train: result.train, val: result.val };
  sink.event(result.step, 'result', summary); // before finish: the store's sink closes with it
  sink.finish(result.final ? 'done' : 'stopped');
  if (!o.json) {
    const best = result.best ? `; best eval loss ${result.best.evalLoss.toFixed(4)} at step ${result.best.step}` : '';
    process.stdout.write(`done at step ${result.step} of ${result.total}${result.stoppedEarly ? ' (stopped early)' : ''} (${result.train} training, ${result.val} validation comparisons)${best}; policy in ${result.final}\n`);
  }
}

async function online(config: DpoConfig, runId: string, sink: RunSink, o: Record<string, unknown>): Promise<void> {
  let bar: { round: number; p: Progress; start: number } | null = null;
  let waiting = '';
  const result = await runOnlineDpo(config, {
    runId, resume: Boolean(o.resume),
    sink: evalLines(sink, Boolean(o.json), ''),
    onStep: ({ round, step, total, loss, numTokens }) => {
      if (bar?.round !== round) bar = { round, p: new Progress(`dpo round ${round}`, total, 'tok'), start: numTokens };
      bar.p.update(step, numTokens - bar.start, `loss ${loss.toFixed(4)}`);
    },
    onWait: ({ round, labels, needed }) => {
      const line = `round ${round}: ${labels}/${needed} new labels`;
      if (!o.json && line !== waiting) process.stderr.write(`${line}\n`);
      waiting = line;
    },
  });
  sink.event(result.step, 'result', { step: result.step, final: result.final, rounds: result.rounds });
  sink.finish('done');
  if (!o.json) {
    const acc = result.rounds.map((r) => `${r.round}: ${r.accuracy === null ? 'n/a' : `${(r.accuracy * 100).toFixed(1)}%`}`).join(', ');
    process.stdout.write(`done after ${result.rounds.length} round(s) (${result.step} steps; eval reward accuracy by round ${acc}); policy in ${result.final}\n`);
  }
}
