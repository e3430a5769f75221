// The DPO benchmark (issue 18): the same simulated labels used three ways, and the tie and ranking options.
//   node --import tsx bench/dpo.ts [--seeds 0,1,2] [--budget 50] [--labels 1000] [--samples 4]
//     [--acc-rm-epochs 2] [--acc-dpo-epochs 1] [--backend auto] [--work DIR] [--log FILE] [--record]
//     [--render-only] [--note TEXT]                                  (npm run bench -- --parts dpo)
// Every job is its own process (bench/dpo-run.ts). First the labels, once per K (2 and 4: ~1,000 each, the
// sentiment rule with 10% of choices flipped, bench/dpo-jobs.ts) into stores in the work folder, and the
// starting model's held-out gold. Then seed-major, for each seed:
//   main      seed s's reward model on the K = 2 labels (ties dropped), then in an order rotated by seed
//             (a) PPO and (b) GRPO on it for --budget seconds of training each, and (c) DPO on the same
//             labels, each measured on the held-out prompts (gold, KL to the start);
//   ties      train-rm and DPO on the K = 2 labels under ties drop / equal / davidson / rao-kupper;
//   rankings  train-rm and DPO on the K = 4 labels under rankings all-pairs / plackett-luce;
// the last two measured by held-out accuracy only, at lighter settings (--acc-*-epochs) to fit the budget.
// Each result is appended to --log as it arrives; bench/dpo-report.ts renders the tables from the log
// (--render-only re-renders an existing one). With --record the block goes into BENCHMARKS.md (tag dpo).
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RANKING_MODELS, TIE_POLICIES } from '../reward-models/preference-options.js';
import { runBenchChild } from './bench-child.js';
import { mainSpec, PrefSpec } from './dpo-jobs.js';
import { BenchLog, DpoBenchSetup, Part, renderDpoBench, RunLine } from './dpo-report.js';
import { BENCHMARKS_FILE, machine, recordBlock } from './record.js';

const { values: o } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    budget: { type: 'string', default: '50' },
    labels: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '4' },
    'acc-rm-epochs': { type: 'string', default: '2' },
    'acc-dpo-epochs': { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
    work: { type: 'string', default: join(tmpdir(), 'rlhf-bench-dpo') },
    log: { type: 'string', default: join(tmpdir(), 'rlhf-bench-dpo.jsonl') },
    record: { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
    note: { type: 'string', default: '' },
  },
});

const RUN = join(import.meta.dirname, 'dpo-run.ts');
const specArgs = (s: PrefSpec) => ['--k', String(s.k), '--ties', s.ties, '--rankings', s.rankings, '--seed', String(s.seed)];

if (!o['render-only']) {
  const seeds = o.seeds!.split(',').map(Number);
  const setup: DpoBenchSetup = {
    type: 'setup', seeds, budget: Number(o.budget), labels: Number(o.labels), samples: Number(o.samples),
    accEpochs: { rm: Number(o['acc-rm-epochs']), dpo: Number(o['acc-dpo-epochs']) }, machine: machine(), cores: cpus().length, date: new Date().toISOString().slice(0, 10),
  };
  const common = ['--work', o.work!, '--backend', o.backend!, '--samples', o.samples!];
  const plan: { part: Part; args: string[] }[] = [
    ...[2, 4].map((k) => ({ part: 'labels' as const, args: ['--job', 'labels', '--k', String(k), '--labels', o.labels!] })),
    { part: 'main', args: ['--job', 'starter'] },
  ];
  seeds.forEach((seed, i) => {
    plan.push({ part: 'main', args: ['--job', 'rm', ...specArgs(mainSpec(seed))] });
    const ways = ['ppo', 'grpo', 'dpo'];
    for (const w of ways.map((_, j) => ways[(j + i) % ways.length])) {
      plan.push({ part: 'main', args: w === 'dpo' ? ['--job', 'dpo', ...specArgs(mainSpec(seed)), '--gold'] : ['--job', w, '--seed', String(seed), '--budget', o.budget!] });
    }
    for (const ties of TIE_POLICIES) {
      for (const job of ['rm', 'dpo'] as const) plan.push({ part: 'ties', args: ['--job', job, ...specArgs({ k: 2, ties, rankings: 'all-pairs', seed }), '--epochs', String(setup.accEpochs[job])] });
    }
    for (const rankings of RANKING_MODELS) {
      for (const job of ['rm', 'dpo'] as const) plan.push({ part: 'rankings', args: ['--job', job, ...specArgs({ k: 4, ties: 'drop', rankings, seed }), '--epochs', String(setup.accEpochs[job])] });
    }
  });
  rmSync(o.work!, { recursive: true, force: true });
  mkdirSync(o.work!, { recursive: true });
  if (existsSync(o.log!)) rmSync(o.log!);
  appendFileSync(o.log!, JSON.stringify(setup) + '\n');
  const t0 = performance.now();
  try {
    plan.forEach((p, i) => {
      const c = runBenchChild<RunLine['result']>(RUN, [...p.args, ...common]);
      const line: RunLine = { type: 'run', part: p.part, ...c };
      appendFileSync(o.log!, JSON.stringify(line) + '\n');
      process.stderr.write(`[${i + 1}/${plan.length}, ${((performance.now() - t0) / 60_000).toFixed(1)} min] ${p.part} ${p.args.join(' ')}: ${describe(line)}; ${c.wall.toFixed(0)} s, load ${c.load.toFixed(1)}, others ${(100 * c.others).toFixed(0)}% of the CPU\n`);
    });
  } finally {
    rmSync(o.work!, { recursive: true, force: true });
  }
}

/** One progress line's figures. */
function describe(l: RunLine): string {
  const r = l.result;
  const acc = (a: { correct: number; total: number }) => `held-out accuracy ${(100 * a.correct / a.total).toFixed(1)}% of ${a.total}`;
  switch (r.job) {
    case 'labels': return `${r.labels} labels, ${r.ties} ties, ${r.flipped} flipped`;
    case 'starter': return `gold ${r.eval.gold.toFixed(3)}`;
    case 'rm': return `${acc(r.heldOut)}, ${r.seconds.toFixed(0)} s training`;
    case 'dpo': return `${acc(r.heldOut)}${r.eval ? `, gold ${r.eval.gold.toFixed(3)}, KL ${r.eval.kl.toFixed(2)}` : ''}, ${r.seconds.toFixed(0)} s training`;
    default: return `${r.steps.length} steps, gold ${r.eval.gold.toFixed(3)}, KL ${r.eval.kl.toFixed(2)}, ${r.seconds.toFixed(0)} s training`;
  }
}

const lines = readFileSync(o.log!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const log: BenchLog = { setup: lines.find((l) => l.type === 'setup'), runs: lines.filter((l) => l.type === 'run') };
if (!log.setup || !log.runs.length) throw new Error(`${o.log}: no setup line or no runs`);
const block = renderDpoBench(log, { endLoad: loadavg()[0], note: o.note || undefined });
process.stdout.write(block + '\n');
if (o.record) {
  recordBlock('dpo', block);
  process.stdout.write(`recorded in ${BENCHMARKS_FILE}\n`);
}
