// PPO benchmark: the starter model against the `sentiment` rule, 64 rollouts of 24 new tokens per step.
// Prints one JSON line per step (and appends it to --log), then renders the time split and the reward
// and KL curves; with --record it writes them into BENCHMARKS.md's ppo block.
//   node --import tsx bench/ppo.ts [--steps 200] [--log FILE] [--record] [--render-only] [--note TEXT]
// --render-only re-renders from an existing --log (a run cut short still gives its honest curve).
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RecordSink, SinkRecord } from '../data/metrics-sink.js';
import { BENCHMARKS_FILE, machine, recordBlock } from './record.js';
import { initBackend } from '../backend/backend.js';
import { runPpo } from '../rl/ppo.js';
import { resolvePpoConfig } from '../rl/ppo-config.js';

const { values: o } = parseArgs({
  options: {
    steps: { type: 'string', default: '200' },
    log: { type: 'string', default: join(tmpdir(), 'rlhf-bench-ppo.jsonl') },
    lr: { type: 'string', default: '1e-4' },
    'kl-coef': { type: 'string', default: '1.5' },
    'kl-target': { type: 'string', default: 'none' },
    'kl-horizon': { type: 'string', default: '128' },
    'lora-rank': { type: 'string', default: '8' },
    backend: { type: 'string', default: 'auto' },
    record: { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
    note: { type: 'string', default: '' },
  },
});
const root = join(import.meta.dirname, '..');
const steps = Number(o.steps);
const rank = Number(o['lora-rank']);
const settings = {
  model: join(root, 'data/models/starter'), prompts: join(root, 'data/prompts/demo.txt'), reward: 'sentiment',
  steps, batchSize: 64, miniBatchSize: 16, ppoEpochs: 4, maxNewTokens: 24, temperature: 0.7, lr: Number(o.lr),
  klCoef: Number(o['kl-coef']), klTarget: o['kl-target'] === 'none' ? null : Number(o['kl-target']), klHorizon: Number(o['kl-horizon']), saveEvery: 1_000_000, sampleEvery: 25, sampleRows: 2,
  lora: rank > 0 ? { rank, alpha: 2 * rank, targets: ['attn', 'mlp'] } : null,
};

type M = Record<string, number>;
if (!o['render-only']) {
  const info = await initBackend(o.backend as 'auto');
  const out = join(tmpdir(), `rlhf-bench-ppo-${process.pid}`);
  if (existsSync(o.log!)) rmSync(o.log!);
  appendFileSync(o.log!, JSON.stringify({ type: 'setup', settings, backend: info.detail }) + '\n');
  class LogSink extends RecordSink {
    protected write(r: SinkRecord): void {
      appendFileSync(o.log!, JSON.stringify(r) + '\n');
      if (r.type === 'metrics') {
        const m = r.metrics;
        process.stderr.write(`step ${r.step}: score ${m['objective/scores'].toFixed(3)} kl ${m['objective/kl'].toFixed(3)} ${m['time/step'].toFixed(1)}s\n`);
      }
    }
  }
  try {
    await runPpo(resolvePpoConfig({ ...settings, out }), { sink: new LogSink() });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// Render from the log.
const lines = readFileSync(o.log!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const setup = lines.find((l) => l.type === 'setup');
const ms: { step: number; m: M }[] = lines.filter((l) => l.type === 'metrics').map((l) => ({ step: l.step, m: l.metrics }));
const samples = lines.filter((l) => l.type === 'samples');
if (!ms.length) throw new Error(`${o.log}: no metrics`);
const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)];
const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
const col = (k: string, from = 0, to = ms.length) => ms.slice(from, to).map((r) => r.m[k]);
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const split = ['| part | median s/step |', '|---|---|',
  `| rollout (sampling + policy logprobs and values) | ${f(median(col('time/rollout')))} |`,
  `| reference logprobs + sentiment score | ${f(median(col('time/ref_and_score')))} |`,
  `| train (${setup.settings.ppoEpochs} epochs × ${setup.settings.batchSize / setup.settings.miniBatchSize} minibatches) | ${f(median(col('time/train')))} |`,
  `| whole step | ${f(median(col('time/step')))} |`].join('\n');
const W = 10;
const curve = ['| steps | mean sentiment score | KL (nats/seq) | KL coef | mean response tokens | policy/clipfrac |', '|---|---|---|---|---|---|'];
for (let s = 0; s < ms.length; s += W) {
  const e = Math.min(ms.length, s + W);
  curve.push(`| ${ms[s].step}–${ms[e - 1].step} | ${f(mean(col('objective/scores', s, e)))} | ${f(mean(col('objective/kl', s, e)))} | ${f(mean(col('objective/kl_coef', s, e)), 4)} | ${f(mean(col('val/response_length', s, e)), 1)} | ${f(mean(col('policy/clipfrac_avg', s, e)), 3)} |`);
}
const first = mean(col('objective/scores', 0, W));
const last = mean(col('objective/scores', Math.max(0, ms.length - W)));
const lastSamples = samples.at(-1);
const block = [
  '## PPO: starter model, sentiment reward',
  '',
  `Run ${new Date().toISOString().slice(0, 10)} on ${machine()}, backend ${setup.backend}, sharing the machine with other work. ` +
    `${ms.length} of ${setup.settings.steps} planned steps${ms.length < setup.settings.steps ? ' (cut short: see the note below)' : ''}. ` +
    `Policy: data/models/starter (2.6M params) with ${setup.settings.lora ? `LoRA r=${setup.settings.lora.rank} on attn+mlp (reference = adapter off)` : 'full fine-tuning'}; ` +
    `${setup.settings.batchSize} rollouts of ${setup.settings.maxNewTokens} new tokens per step from data/prompts/demo.txt at temperature ${setup.settings.temperature}; ` +
    `lr ${setup.settings.lr} (linear decay), KL coef ${setup.settings.klTarget === null ? `${setup.settings.klCoef} (k1, fixed)` : `from ${setup.settings.klCoef}, adaptive (k1; target ${setup.settings.klTarget} nats, horizon ${setup.settings.klHorizon} episodes)`}, value head on the shared backbone, other settings TRL's defaults.`,
  '',
  `Mean sentiment score (AFINN sum of the completion): ${f(first)} over the first ${W} steps, ${f(last)} over the last ${W}; ` +
    `KL to the reference over the last ${W} steps ${f(mean(col('objective/kl', Math.max(0, ms.length - W))))} nats per completion.`,
  '',
  split,
  '',
  curve.join('\n'),
  ...(o.note ? ['', o.note] : []),
  ...(lastSamples ? ['', `Samples at step ${lastSamples.step}:`, '', ...lastSamples.rows.map((r: { prompt: string; completion: string; score: number }) => `- ${JSON.stringify(r.prompt + r.completion)} (score ${f(r.score, 1)})`)] : []),
].join('\n');
process.stdout.write(block + '\n');
if (o.record) {
  recordBlock('ppo', block);
  process.stdout.write(`recorded in ${BENCHMARKS_FILE}\n`);
}
