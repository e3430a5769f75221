// rlhf sft: supervised fine-tuning (full or LoRA) from a checkpoint or from scratch, resumable.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { corpusText, CorpusName } from '../data/corpora.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { LoraTarget } from '../lm/lora.js';
import { runSft } from '../sft/sft.js';
import { openRunSink } from '../data/sqlite-sink.js';
import { resolveSftConfig, SFT_DEFAULTS } from '../sft/sft-config.js';
import { backendOption, collect, float, int, withShapeOptions } from './options.js';
import { Progress } from './progress.js';

export function sftCommand(): Command {
  const d = SFT_DEFAULTS;
  return withShapeOptions(new Command('sft'))
    .description('supervised fine-tuning on plain text (LM loss) or JSONL {"prompt","completion"} pairs (loss on completions)')
    .option('--config <file>', 'JSON config (fields as in sft/sft-config.ts); flags override it')
    .option('--model <dir>', 'checkpoint folder to start from')
    .option('--init-tokenizer <path>', 'start from a fresh model with this tokenizer.json (or folder)')
    .option('--data <path>', 'a .txt or .jsonl file, or corpus:moby-dick / corpus:sotu; repeat for several', collect)
    .option('--out <dir>', 'run folder')
    .option('--steps <n>', `optimizer steps (default ${d.steps})`, int(1))
    .option('--batch-size <n>', `sequences per micro-batch (default ${d.batchSize})`, int(1))
    .option('--grad-accum <n>', `micro-batches per step (default ${d.gradAccum})`, int(1))
    .option('--seq-len <n>', `tokens per sequence (default ${d.seqLen})`, int(2))
    .option('--lr <lr>', `peak learning rate (default ${d.lr})`, float(0, 10))
    .option('--warmup-steps <n>', `linear warm-up steps (default ${d.warmupSteps})`, int(0))
    .option('--min-lr-ratio <r>', `cosine floor as a fraction of lr (default ${d.minLrRatio})`, float(0, 1))
    .option('--weight-decay <w>', `AdamW weight decay (default ${d.weightDecay})`, float(0))
    .option('--max-grad-norm <g>', `gradient clipping, 0 off (default ${d.maxGradNorm})`, float(0))
    .option('--held-out <f>', `fraction held out for evaluation (default ${d.heldOut})`, float(0, 0.5))
    .option('--eval-every <n>', `evaluate every n steps (default ${d.evalEvery})`, int(0))
    .option('--eval-batches <n>', `held-out batches per evaluation (default ${d.evalBatches})`, int(1))
    .option('--save-every <n>', `checkpoint every n steps (default ${d.saveEvery})`, int(1))
    .option('--keep-checkpoints <n>', `step checkpoints kept (default ${d.keepCheckpoints})`, int(1))
    .option('--seed <s>', `seed (default ${d.seed})`, int(0))
    .option('--lora-rank <r>', 'train LoRA adapters of this rank instead of every weight', int(1))
    .option('--lora-alpha <a>', 'LoRA scale numerator (default 2 * rank)', float(0))
    .addOption(new Option('--lora-targets <list>', 'comma-separated: attn, mlp').default('attn,mlp'))
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .addOption(backendOption())
    .option('--json', 'print metrics as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--db <file>', 'record the run in this SQLite store, so it shows on the dashboard')
    .option('--run-id <id>', 'the run\'s id in the store (default: the --out folder\'s name)')
    .action(async (o) => {
      const raw: Record<string, unknown> = o.config ? JSON.parse(readFileSync(o.config, 'utf8')) : {};
      const set = (k: string, v: unknown) => v !== undefined && (raw[k] = v);
      for (const k of ['steps', 'batchSize', 'gradAccum', 'seqLen', 'lr', 'warmupSteps', 'minLrRatio', 'weightDecay', 'maxGradNorm', 'heldOut', 'evalEvery', 'evalBatches', 'saveEvery', 'keepCheckpoints', 'seed', 'data', 'out']) set(k, o[k]);
      if (o.model) [raw.model, raw.init] = [o.model, null];
      if (o.initTokenizer) [raw.model, raw.init] = [null, { tokenizer: o.initTokenizer, nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead, nPositions: o.nPositions }];
      if (o.loraRank) raw.lora = { rank: o.loraRank, alpha: o.loraAlpha ?? 2 * o.loraRank, targets: String(o.loraTargets).split(',').map((t) => t.trim()) as LoraTarget[] };
      const config = resolveSftConfig(raw, o.config ?? 'flags');
      await initBackend(o.backend as BackendName);
      const bar = new Progress('sft', config.steps, 'tok');
      let startTokens = -1;
      const runId = o.runId ?? config.out.split(/[\\/]/).filter(Boolean).at(-1) ?? 'sft';
      const sink = openRunSink({ kind: 'sft', runId, json: Boolean(o.json), db: o.db, config: config as unknown as Record<string, unknown>, dir: config.out, resume: Boolean(o.resume) });
      const run = runSft(config, Boolean(o.resume), {
        corpus: (n) => corpusText(n as CorpusName),
        onMetrics: (m) => {
          const { step, ...rest } = m;
          sink.metrics(Number(step), Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v === 'number')) as Record<string, number>);
          if (!o.json && 'eval/loss' in m) process.stderr.write(`step ${m.step}: held-out loss ${Number(m['eval/loss']).toFixed(3)}, perplexity ${Number(m['eval/perplexity']).toFixed(1)}\n`);
        },
        onStep: (step, total, tokens, loss) => {
          if (startTokens < 0) startTokens = tokens;
          bar.update(step, tokens - startTokens, `loss ${loss.toFixed(3)}`);
        },
      });
      const result = await run.catch((e: Error) => {
        sink.finish('failed', e.message);
        throw e;
      });
      sink.finish(result.final ? 'done' : 'stopped');
      if (!o.json) process.stdout.write(`done at step ${result.step}; ${result.final ? `final model in ${result.final}` : 'stopped early'}${result.evalLoss !== null ? `; held-out loss ${result.evalLoss.toFixed(3)} (perplexity ${Math.exp(result.evalLoss).toFixed(1)})` : ''}\n`);
    });
}
