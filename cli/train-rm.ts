// rlhf train-rm: a reward model from preference labels (a label store or JSONL), resumable.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { openRunSink } from '../data/sqlite-sink.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { LoraTarget } from '../lm/lora.js';
import { resolveRmConfig, RM_DEFAULTS } from '../reward-models/rm-config.js';
import { trainRewardModel } from '../reward-models/train-rm.js';
import { backendOption, collect, float, int } from './options.js';
import { Progress } from './progress.js';
import { mustExist } from './store-file.js';

export function trainRmCommand(): Command {
  const d = RM_DEFAULTS;
  return new Command('train-rm')
    .description('train a reward model (LM backbone + scalar head) on preferences with the Bradley-Terry loss')
    .option('--config <file>', 'JSON config (fields as in reward-models/rm-config.ts); flags override it')
    .option('--model <dir>', 'backbone checkpoint folder (an LM, or a reward model to train further)')
    .option('--db <file>', 'read labels from this label store (the run is recorded there too)')
    .option('--data <file>', 'JSONL preferences {"prompt","chosen","rejected"} or full-export lines; repeat for several', collect)
    .option('--out <dir>', 'run folder (final/ holds the normalised best model)')
    .option('--epochs <n>', `passes over the data (default ${d.epochs})`, int(1))
    .option('--batch-size <n>', `comparisons per step (default ${d.batchSize})`, int(1))
    .option('--lr <lr>', `peak learning rate (default ${d.lr})`, float(0, 10))
    .option('--head-lr-scale <x>', `the head learns at lr times this (default ${d.headLrScale})`, float(0, 1000))
    .option('--warmup-steps <n>', `linear warm-up steps (default ${d.warmupSteps})`, int(0))
    .option('--min-lr-ratio <r>', `final lr as a fraction of lr (default ${d.minLrRatio})`, float(0, 1))
    .option('--weight-decay <w>', `AdamW weight decay (default ${d.weightDecay})`, float(0))
    .option('--max-grad-norm <g>', `gradient clipping, 0 off (default ${d.maxGradNorm})`, float(0))
    .addOption(new Option('--ties <policy>', `tie labels: drop, or train towards equal scores (default ${d.ties})`).choices(['drop', 'equal']))
    .option('--margin <m>', `required score gap in the loss (default ${d.margin})`, float(-100, 100))
    .option('--val-fraction <f>', `fraction of prompts held out (default ${d.valFraction})`, float(0, 0.9))
    .option('--eval-every <n>', `validate every n steps (default ${d.evalEvery})`, int(1))
    .option('--patience <n>', `stop after n validations without improvement, 0 never (default ${d.patience})`, int(0))
    .option('--save-every <n>', `checkpoint every n steps (default ${d.saveEvery})`, int(1))
    .option('--seed <s>', `seed (default ${d.seed})`, int(0))
    .option('--reference <file>', 'policy samples {"prompt","completion"} JSONL for the score normalisation (default: the completions in the data)')
    .option('--lora-rank <r>', 'train LoRA adapters of this rank (and the head) instead of every weight', int(1))
    .option('--lora-alpha <a>', 'LoRA scale numerator (default 2 * rank)', float(0))
    .addOption(new Option('--lora-targets <list>', 'comma-separated: attn, mlp').default('attn,mlp'))
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .addOption(backendOption())
    .option('--json', 'print metrics as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--run-id <id>', "the run's id in the store (default: the --out folder's name)")
    .action(async (o) => {
      const raw: Record<string, unknown> = o.config ? JSON.parse(readFileSync(o.config, 'utf8')) : {};
      const set = (k: string, v: unknown) => v !== undefined && (raw[k] = v);
      for (const k of ['model', 'db', 'data', 'out', 'epochs', 'batchSize', 'lr', 'headLrScale', 'warmupSteps', 'minLrRatio', 'weightDecay', 'maxGradNorm', 'ties', 'margin', 'valFraction', 'evalEvery', 'patience', 'saveEvery', 'seed', 'reference']) set(k, o[k]);
      if (o.loraRank) raw.lora = { rank: o.loraRank, alpha: o.loraAlpha ?? 2 * o.loraRank, targets: String(o.loraTargets).split(',').map((t) => t.trim()) as LoraTarget[] };
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
