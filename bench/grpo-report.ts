// The tables of the GRPO/RLOO/PPO benchmark (bench/grpo.ts) from its log: per task, the end-of-budget
// figures with their spread over seeds, a curve at 0/25/50/75/100% of the budget, and issue 17's two aims
// stated met or not met from the numbers.
import { SETTINGS, EVAL_AT, RunResult, StepRow, EvalRow, BenchAlgo, BENCH_ALGOS } from './grpo-run.js';
import { BENCH_TASKS, BenchTask } from './grpo-eval.js';

export interface RunLine { type: 'run'; result: RunResult & { cpuSeconds: number }; load: number; others: number }
export interface BenchLog {
  setup: { type: 'setup'; budget: number; seeds: number[]; samples: number; machine: string; cores: number; date: string };
  runs: RunLine[];
}

const sum = (x: number[]) => x.reduce((a, b) => a + b, 0);
const mean = (x: number[]) => sum(x) / x.length;
const median = (x: number[]) => {
  const s = [...x].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
/** mean (min–max) over seeds; bold mean when asked. */
const spread = (x: number[], d = 2, bold = false) => {
  const m = bold ? `**${f(mean(x), d)}**` : f(mean(x), d);
  return x.length > 1 ? `${m} (${f(Math.min(...x), d)}–${f(Math.max(...x), d)})` : m;
};

/** Mean training reward of the steps that ended in quarter q (1..4) of the budget; the last quarter takes any overshoot. */
export function quarterReward(steps: StepRow[], budget: number, q: number): number {
  const inQ = steps.filter((s) => s.t > ((q - 1) / 4) * budget && (q === 4 || s.t <= (q / 4) * budget));
  return inQ.length ? mean(inQ.map((s) => s.reward)) : NaN;
}
const evalAt = (r: RunResult, frac: number): EvalRow => {
  const e = r.evals.find((x) => x.frac === frac);
  if (!e) throw new Error(`${r.algo} ${r.task} seed ${r.seed}: no evaluation at ${frac}`);
  return e;
};
/** Share of the run's step time spent in rollout. */
const rolloutShare = (r: RunResult) => sum(r.steps.map((s) => s.rollout)) / sum(r.steps.map((s) => s.stepTime));

const NAMES: Record<BenchAlgo, string> = { grpo: 'GRPO', rloo: 'RLOO', ppo: 'PPO' };

/**
 * The first mark (fraction of the budget) at which `algo`'s mean held-out gold reaches `target`, and the
 * mean training seconds there; null when it never does within the budget.
 */
function reaches(runs: RunResult[], target: number): { frac: number; t: number } | null {
  for (const frac of EVAL_AT) {
    if (mean(runs.map((r) => evalAt(r, frac).gold)) >= target) return { frac, t: mean(runs.map((r) => evalAt(r, frac).t)) };
  }
  return null;
}
/** Seeds (paired by seed) in which `runs`' gold reaches the PPO run's final gold before the end of the budget. */
function pairedEarlier(runs: RunResult[], ppo: RunResult[]): number {
  return runs.filter((r) => {
    const p = ppo.find((x) => x.seed === r.seed);
    return p && EVAL_AT.some((frac) => frac < 1 && evalAt(r, frac).gold >= evalAt(p, 1).gold);
  }).length;
}

function taskSection(task: BenchTask, log: BenchLog): string[] {
  const B = log.setup.budget;
  const words = task === 'include-word';
  const starter = log.runs.map((l) => l.result).find((r) => r.algo === 'starter' && r.task === task);
  const by = Object.fromEntries(BENCH_ALGOS.map((a) => [a, log.runs.map((l) => l.result).filter((r) => r.algo === a && r.task === task)])) as unknown as Record<BenchAlgo, RunResult[]>;
  const algos = BENCH_ALGOS.filter((a) => by[a].length);
  const end = (rs: RunResult[], k: 'gold' | 'control' | 'kl') => rs.map((r) => evalAt(r, 1)[k] ?? NaN);
  const gd = words ? 3 : 2;
  const head = ['algorithm', 'train reward, last quarter', 'held-out gold', ...(words ? ['control', 'gold − control'] : []), 'KL to start, nats', 'steps', 'completions', 'training s', 's/step: rollout / reward / update', 'rollout share'];
  const rows = [`| ${head.join(' | ')} |`, `|${'---|'.repeat(head.length)}`];
  if (starter) {
    const e = starter.evals[0];
    rows.push(`| starting model | — | ${f(e.gold, gd)} | ${words ? `${f(e.control!, gd)} | ${f(e.gold - e.control!, gd)} | ` : ''}0 | 0 | 0 | 0 | — | — |`);
  }
  for (const a of algos) {
    const rs = by[a];
    const split = (k: 'rollout' | 'score' | 'update') => f(mean(rs.map((r) => median(r.steps.map((s) => s[k])))), 3);
    rows.push(`| ${NAMES[a]} | ${spread(rs.map((r) => quarterReward(r.steps, B, 4)), gd)} | ${spread(end(rs, 'gold'), gd, true)} | ${words ? `${spread(end(rs, 'control'), gd)} | ${spread(rs.map((r) => evalAt(r, 1).gold - evalAt(r, 1).control!), gd)} | ` : ''}` +
      `${spread(end(rs, 'kl'), 1)} | ${spread(rs.map((r) => r.steps.length), 0)} | ${spread(rs.map((r) => sum(r.steps.map((s) => s.completions))), 0)} | ${spread(rs.map((r) => r.steps.at(-1)!.t), 1)} | ${split('rollout')} / ${split('score')} / ${split('update')} | ${spread(rs.map((r) => 100 * rolloutShare(r)), 0)}% |`);
  }
  // The curve: means over seeds at each mark.
  const marks = [0, ...EVAL_AT];
  const curve = [`| algorithm | at % of the budget | ${marks.map((m) => `${100 * m}%`).join(' | ')} |`, `|---|---|${'---|'.repeat(marks.length)}`];
  for (const a of algos) {
    const rs = by[a];
    const at = (frac: number, k: keyof EvalRow) => (frac === 0 ? (starter ? (k === 't' || k === 'tokens' || k === 'kl' ? 0 : Number(starter.evals[0][k])) : NaN) : mean(rs.map((r) => Number(evalAt(r, frac)[k]))));
    const line = (label: string, cell: (frac: number, q: number) => string) => curve.push(`| ${NAMES[a]} | ${label} | ${marks.map((m, q) => cell(m, q)).join(' | ')} |`);
    line('training s / generated tokens', (m) => `${f(at(m, 't'), 0)} s / ${f(at(m, 'tokens') / 1000, 0)}k`);
    line('train reward (mean over the quarter)', (m, q) => (q === 0 ? '—' : f(mean(rs.map((r) => quarterReward(r.steps, B, q))), gd)));
    line('held-out gold', (m) => f(at(m, 'gold'), gd));
    if (words) line('control', (m) => f(at(m, 'control'), gd));
    line('KL to start', (m) => f(at(m, 'kl'), 1));
  }
  // The aims.
  const aims: string[] = [];
  if (by.ppo.length && by.grpo.length) {
    const target = mean(end(by.ppo, 'gold'));
    const from = starter ? ` (the starting model: ${f(starter.evals[0].gold, gd)})` : '';
    for (const a of ['grpo', 'rloo'] as const) {
      if (!by[a].length) continue;
      const hit = reaches(by[a], target);
      const earlier = hit !== null && hit.frac < 1;
      const what = hit === null
        ? `its mean held-out gold stays below PPO's final ${f(target, gd)}${from} through the whole budget (${f(mean(end(by[a], 'gold')), gd)} at the end)`
        : `its mean held-out gold reaches PPO's final ${f(target, gd)}${from} at ${100 * hit.frac}% of the budget (${f(hit.t, 0)} s of training, PPO ${f(mean(by.ppo.map((r) => r.steps.at(-1)!.t)), 0)} s)`;
      const paired = `; paired by seed, ${pairedEarlier(by[a], by.ppo)} of ${by[a].length} seeds reach that seed's PPO final before the budget's end`;
      aims.push(a === 'grpo'
        ? `- **Aim: GRPO reaches PPO's final score in less wall time: ${earlier ? 'met' : 'not met'}.** ${what}${paired}.`
        : `- RLOO, for comparison: ${what}${paired}.`);
    }
  }
  if (by.grpo.length) {
    const share = mean(by.grpo.map(rolloutShare));
    aims.push(`- **Aim: rollout ≥ 70% of GRPO's step: ${share >= 0.7 ? 'met' : 'not met'}** (${f(100 * share, 0)}%; the update takes ${f(100 * mean(by.grpo.map((r) => sum(r.steps.map((s) => s.update)) / sum(r.steps.map((s) => s.stepTime)))), 0)}%).`);
  }
  return [
    `### ${words ? 'include-word (data/tasks/include-word: train.jsonl, held-out test.jsonl)' : 'sentiment rule (AFINN-165; trained on data/prompts/demo.txt, measured on held-out openings)'}`,
    '',
    rows.join('\n'),
    '',
    curve.join('\n'),
    '',
    ...aims,
  ];
}

export function renderGrpoBench(log: BenchLog, o: { endLoad: number; note?: string }): string {
  const s = log.setup;
  const loads = log.runs.map((l) => l.load);
  const others = log.runs.map((l) => l.others);
  const backend = log.runs[0].result.backend;
  const g = SETTINGS.grpo, p = SETTINGS.ppo;
  return [
    '## GRPO, RLOO and PPO: the same model, tasks and wall-clock budget',
    '',
    `Run ${s.date} on ${s.machine}, backend ${backend}. \`npm run bench -- --parts grpo\` (bench/grpo.ts): data/models/starter (2.6M params), full fine-tuning, ${s.budget} s of training per run, seeds ${s.seeds.join(', ')}; each run in its own process, seed-major (for each seed, each task, the three algorithms in an order rotated by seed) so the machine's slow and fast spells spread over the algorithms. ` +
      `${mean(others) > 0.05 ? '**Others shared the machine**' : 'The machine was nearly quiet'}: 1-minute load average ${f(Math.min(...loads), 1)}–${f(Math.max(...loads), 1)} at the runs' starts (${f(o.endLoad, 1)} at the end; ${s.cores} cores), and other processes used ${f(100 * mean(others), 0)}% of the CPU on average during the runs (${f(100 * Math.max(...others), 0)}% in the busiest run; the machine's busy time minus the run's own), so the seconds are those of a shared machine.`,
    '',
    `- GRPO: ${g.promptsPerStep} prompts × ${g.numGenerations} completions of at most ${g.maxCompletionLength} tokens per step, temperature ${g.temperature}, lr ${g.lr} constant, β ${g.beta} (no reference), loss dapo, group-scaled advantages (TRL's defaults otherwise). RLOO: the same with β ${SETTINGS.rloo.beta} (k1 KL folded into the reward; the reference is a frozen copy). PPO: bench/ppo.ts's settings at ${p.maxNewTokens} new tokens: ${p.batchSize} rollouts per step, ${p.ppoEpochs} epochs × ${p.batchSize / p.miniBatchSize} minibatches, temperature ${p.temperature}, lr ${p.lr} constant (no planned step count to decay over), KL coef ${p.klCoef} fixed (k1), value head on the policy's backbone.`,
    '- The budget counts the loops\' own step times (rollout + reward + update; model loading and the measurements below are left out). A run stops after the step whose end is nearest the budget.',
    `- **Held-out gold**, the same measurement for every algorithm and mark: ${s.samples} completions of ${p.maxNewTokens} tokens per held-out prompt, sampled at **temperature 1** (top-k, top-p off) with one fixed seed for every policy (the same draws: differences are the policies'). include-word: the task's reward on the 64 test.jsonl prompts; **control**: the same completions scored against the next word of the prompt's list, one not asked for (a policy that reads the instruction raises gold above control; one that writes the task's words everywhere raises both). sentiment: the AFINN sum of the completion on 64 openings of data/prompts/openings.txt (every 8th line; none in demo.txt). Measured at 25/50/75/100% of the budget and on the starting model (0%).`,
    '- **KL to start**: on those end samples, the mean over completions of Σ_t log π(y_t) − log π_start(y_t) at temperature 1, nats per completion.',
    `- **Train reward** is each loop's own mean reward per step on its training prompts at its own temperature (GRPO, RLOO 1; PPO ${p.temperature}), so it compares GRPO with RLOO but not with PPO; the held-out gold compares all three. Each cell is mean (min–max) over the seeds; curve cells are means.`,
    '- **s/step**: per run the median of each part, then the mean over seeds. GRPO/RLOO: time/rollout (generation; RLOO also the old and reference log-probabilities), time/reward, time/update. PPO: time/rollout (generation + policy log-probabilities and values), time/ref_and_score, time/train. Rollout share: Σ rollout / Σ step time per run.',
    '',
    ...BENCH_TASKS.flatMap((t) => (log.runs.some((l) => l.result.task === t && l.result.algo !== 'starter') ? [...taskSection(t, log), ''] : [])),
    ...(o.note ? [o.note] : []),
  ].join('\n').trimEnd();
}
