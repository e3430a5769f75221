// One job of the DPO benchmark in a process of its own (bench/dpo.ts spawns one per job, so no run
// inherits another's heap, JIT state or tensors); prints one JSON line, with the process's CPU seconds.
//   node --import tsx bench/dpo-run.ts --work DIR --job labels --k 2 --labels 1000
//   node --import tsx bench/dpo-run.ts --work DIR --job starter [--samples 4]
//   node --import tsx bench/dpo-run.ts --work DIR --job rm|dpo --k 2 --ties drop --rankings all-pairs --seed 0 [--gold] [--epochs N]
//   node --import tsx bench/dpo-run.ts --work DIR --job ppo|grpo --seed 0 --budget 50 [--samples 4]
// (bench/dpo-jobs.ts and bench/dpo-policy.ts say what each job does.)
import { parseArgs } from 'node:util';
import { BackendName, currentBackend, initBackend } from '../backend/backend.js';
import { RANKING_MODELS, RankingModel, TIE_POLICIES, TiePolicy } from '../reward-models/preference-options.js';
import { dpoJob, labelsJob, rmJob, starterJob } from './dpo-jobs.js';
import { policyJob } from './dpo-policy.js';

const JOBS = ['labels', 'starter', 'rm', 'dpo', 'ppo', 'grpo'] as const;
type Job = (typeof JOBS)[number];

const { values: o } = parseArgs({
  options: {
    work: { type: 'string' }, job: { type: 'string' }, k: { type: 'string', default: '2' }, labels: { type: 'string', default: '1000' },
    ties: { type: 'string', default: 'drop' }, rankings: { type: 'string', default: 'all-pairs' }, seed: { type: 'string', default: '0' },
    budget: { type: 'string', default: '50' }, samples: { type: 'string', default: '4' }, epochs: { type: 'string' },
    gold: { type: 'boolean', default: false }, backend: { type: 'string', default: 'auto' },
  },
});
const job = o.job as Job;
if (!o.work) throw new Error('--work: the benchmark\'s work folder is required');
if (!JOBS.includes(job)) throw new Error(`--job: one of ${JOBS.join(', ')}, got ${o.job}`);
if (!TIE_POLICIES.includes(o.ties as TiePolicy)) throw new Error(`--ties: one of ${TIE_POLICIES.join(', ')}, got ${o.ties}`);
if (!RANKING_MODELS.includes(o.rankings as RankingModel)) throw new Error(`--rankings: one of ${RANKING_MODELS.join(', ')}, got ${o.rankings}`);
await initBackend(o.backend as BackendName, { quiet: true });
const spec = { k: Number(o.k), ties: o.ties as TiePolicy, rankings: o.rankings as RankingModel, seed: Number(o.seed) };
const epochs = o.epochs ? Number(o.epochs) : undefined;
const samples = Number(o.samples);
const run = async () => {
  switch (job) {
    case 'labels': return labelsJob(o.work!, spec.k, Number(o.labels));
    case 'starter': return starterJob(samples);
    case 'rm': return rmJob(o.work!, spec, epochs);
    case 'dpo': return dpoJob(o.work!, spec, { gold: o.gold!, samples, epochs });
    default: return policyJob(o.work!, job, spec.seed, Number(o.budget), samples);
  }
};
const r = await run();
const cpu = process.cpuUsage(); // all threads of this process: bench/dpo.ts subtracts it from the machine's busy time
process.stdout.write(JSON.stringify({ ...r, backend: currentBackend()?.detail ?? 'unknown', cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
