// rlhf sft: supervised fine-tuning (full or LoRA) from a checkpoint or from scratch, resumable.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { corpusText, CorpusName } from '../data/corpora.js';
import { BackendName, initBackend } from '../backend/backend.js';
import { runSft } from '../sft/sft.js';
import { openRunSink } from '../data/sqlite-sink.js';
import { resolveSftConfig, SftConfigSchema } from '../sft/sft-config.js';
import { configFlags, loraFlags, loraFromFlags } from './config-flags.js';
import { backendOption, withShapeOptions } from './options.js';
import { Progress } from './progress.js';

export function sftCommand(): Command {
  const cmd = withShapeOptions(new Command('sft'))
    .description('supervised fine-tuning on plain text (LM loss) or JSONL {"prompt","completion"} pairs (loss on completions)')
    .option('--config <file>', 'JSON config (fields as in sft/sft-config.ts); flags override it')
    .option('--model <dir>', 'checkpoint folder to start from')
    .option('--init-tokenizer <path>', 'start from a fresh model with this tokenizer.json (or folder)');
  // every other scalar or list field of the config, from its schema (--model also clears init)
  const fields = configFlags(cmd, SftConfigSchema, { skip: ['model'], help: { data: 'a .txt or .jsonl file, or corpus:moby-dick / corpus:sotu' } });
  return loraFlags(cmd, 'train LoRA adapters of this rank instead of every weight')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .addOption(backendOption())
    .option('--json', 'print metrics as JSON lines on stdout (data/metrics-sink.ts records)')
    .option('--db <file>', 'record the run in this SQLite store, so it shows on the dashboard')
    .option('--run-id <id>', 'the run\'s id in the store (default: the --out folder\'s name)')
    .action(async (o) => {
      const raw: Record<string, unknown> = o.config ? JSON.parse(readFileSync(o.config, 'utf8')) : {};
      Object.assign(raw, fields(o));
      if (o.model) [raw.model, raw.init] = [o.model, null];
      if (o.initTokenizer) [raw.model, raw.init] = [null, { tokenizer: o.initTokenizer, nEmbd: o.nEmbd, nLayer: o.nLayer, nHead: o.nHead, nPositions: o.nPositions }];
      const lora = loraFromFlags(o);
      if (lora) raw.lora = lora;
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
