// GRPO, RLOO and PPO on the same model, tasks and wall-clock budget (issue 17's benchmark):
//   node --import tsx bench/grpo.ts [--budget 75] [--seeds 0,1,2] [--samples 4] [--backend auto]
//     [--log FILE] [--record] [--render-only] [--note TEXT]
// Every run is its own process (bench/grpo-run.ts). The starting model is measured once per task (the 0%
// point), then the runs go seed-major: for each seed, each task, the three algorithms in an order rotated
// by seed, so the machine's slow and fast spells (others share its 2 cores) spread over the algorithms
// instead of landing on one. Each result is appended to --log as it arrives, and bench/grpo-report.ts
// renders the tables from the log (--render-only re-renders an existing log). With --record the block goes
// into BENCHMARKS.md under the grpo tag.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHMARKS_FILE, machine, recordBlock } from './record.js';
import { BENCH_TASKS } from './grpo-eval.js';
import { BENCH_ALGOS, RunResult } from './grpo-run.js';
import { BenchLog, renderGrpoBench, RunLine } from './grpo-report.js';

const { values: o } = parseArgs({
  options: {
    budget: { type: 'string', default: '75' },
    seeds: { type: 'string', default: '0,1,2' },
    samples: { type: 'string', default: '4' },
    backend: { type: 'string', default: 'auto' },
    log: { type: 'string', default: join(tmpdir(), 'rlhf-bench-grpo.jsonl') },
    record: { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
    note: { type: 'string', default: '' },
  },
});

/** Busy CPU-milliseconds of the whole machine, all cores. */
const machineBusy = () => cpus().reduce((a, c) => a + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);

/** Run bench/grpo-run.ts in a child; its result, and what the rest of the machine used meanwhile. */
function runChild(args: string[]): RunLine {
  const load = loadavg()[0];
  const busy0 = machineBusy();
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'grpo-run.ts'), ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 2 ** 20,
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`bench/grpo-run.ts ${args.join(' ')} failed (exit ${r.status})`);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as RunResult & { cpuSeconds: number };
  // The child's own CPU time is subtracted from the machine's busy time: the rest is other work.
  const others = Math.max(0, (machineBusy() - busy0) / 1000 - res.cpuSeconds) / (wall * cpus().length);
  return { type: 'run', result: res, load, others };
}

if (!o['render-only']) {
  const seeds = o.seeds!.split(',').map(Number);
  const common = ['--budget', o.budget!, '--samples', o.samples!, '--backend', o.backend!];
  if (existsSync(o.log!)) rmSync(o.log!);
  const setup: BenchLog['setup'] = { type: 'setup', budget: Number(o.budget), seeds, samples: Number(o.samples), machine: machine(), cores: cpus().length, date: new Date().toISOString().slice(0, 10) };
  appendFileSync(o.log!, JSON.stringify(setup) + '\n');
  const plan: string[][] = BENCH_TASKS.map((task) => ['--algo', 'starter', '--task', task]);
  seeds.forEach((seed, k) => {
    for (const task of BENCH_TASKS) {
      const algos = BENCH_ALGOS.map((_, i) => BENCH_ALGOS[(i + k) % BENCH_ALGOS.length]);
      for (const algo of algos) plan.push(['--algo', algo, '--task', task, '--seed', String(seed)]);
    }
  });
  plan.forEach((args, i) => {
    const line = runChild([...args, ...common]);
    appendFileSync(o.log!, JSON.stringify(line) + '\n');
    const r = line.result;
    const last = r.evals.at(-1)!;
    process.stderr.write(`[${i + 1}/${plan.length}] ${r.algo} ${r.task} seed ${r.seed}: ${r.steps.length} steps, gold ${last.gold.toFixed(3)}${last.control !== undefined ? ` (control ${last.control.toFixed(3)})` : ''}, KL ${last.kl.toFixed(2)}; load ${line.load.toFixed(1)}, others ${(100 * line.others).toFixed(0)}% of the CPU\n`);
  });
}

const lines = readFileSync(o.log!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const log: BenchLog = { setup: lines.find((l) => l.type === 'setup'), runs: lines.filter((l) => l.type === 'run') };
if (!log.setup || !log.runs.length) throw new Error(`${o.log}: no setup line or no runs`);
const block = renderGrpoBench(log, { endLoad: loadavg()[0], note: o.note || undefined });
process.stdout.write(block + '\n');
if (o.record) {
  recordBlock('grpo', block);
  process.stdout.write(`recorded in ${BENCHMARKS_FILE}\n`);
}
