// The tables of the DPO benchmark (bench/dpo.ts) from its log: the three ways on the K = 2 labels (held-out
// gold, its gain over the starting model, KL to the start, wall time split into reward-model and policy
// training), the tie options and the ranking options (held-out accuracy against the noise-free rule, and
// each trainer's own validation accuracy), and issue 18's two aims stated met or not met from the numbers.
import type { ChildLine } from './bench-child.js';
import { DPO_SETTINGS, DpoRun, LABELING, LabelsRun, RM_SETTINGS, RmRun, StarterRun, VAL_FRACTION } from './dpo-jobs.js';
import { PolicyRun, POLICY_SETTINGS } from './dpo-policy.js';
import { SETTINGS } from './grpo-run.js';

export type Part = 'labels' | 'main' | 'ties' | 'rankings';
export type JobResult = LabelsRun | StarterRun | RmRun | DpoRun | PolicyRun;
export interface RunLine extends ChildLine<JobResult> { type: 'run'; part: Part }
export interface DpoBenchSetup {
  type: 'setup'; seeds: number[]; budget: number; labels: number; samples: number;
  /** Epochs of the tie and ranking runs (the three ways use train-rm's default and DPO_SETTINGS.epochs). */
  accEpochs: { rm: number; dpo: number };
  machine: string; cores: number; date: string;
}
export interface BenchLog { setup: DpoBenchSetup; runs: RunLine[] }

const sum = (x: number[]) => x.reduce((a, b) => a + b, 0);
const mean = (x: number[]) => sum(x) / x.length;
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d).replace(/^-/, '−') : 'n/a');
const signed = (x: number, d = 2) => (x >= 0 ? '+' : '−') + f(Math.abs(x), d);
/** mean (min–max) over seeds, the mean in bold when asked. */
const spread = (x: number[], d = 2, bold = false, fmt = (v: number) => f(v, d)) => {
  const m = bold ? `**${fmt(mean(x))}**` : fmt(mean(x));
  return x.length > 1 ? `${m} (${fmt(Math.min(...x))}–${fmt(Math.max(...x))})` : m;
};
const pct = (x: number[], bold = false) => spread(x.map((v) => 100 * v), 1, bold, (v) => `${f(v, 1)}%`);
const accOf = (r: RmRun | DpoRun) => r.heldOut.correct / r.heldOut.total;
/** Mean over the last quarter of the steps (at least one). */
const lastQuarter = (x: number[]) => mean(x.slice(Math.floor((3 * x.length) / 4)));

/** The result type of a job (PPO and GRPO share PolicyRun). */
type ResultOf<J extends JobResult['job']> = J extends PolicyRun['job'] ? PolicyRun : Extract<JobResult, { job: J }>;

/** The log's results of one part and job, ordered by seed. */
function pick<J extends JobResult['job']>(log: BenchLog, part: Part, job: J, where: (r: ResultOf<J>) => boolean = () => true): ResultOf<J>[] {
  return log.runs.filter((l) => l.part === part && l.result.job === job).map((l) => l.result as unknown as ResultOf<J>)
    .filter(where).sort((a, b) => ('seed' in a && 'seed' in b ? a.seed - b.seed : 0));
}

function mainSection(log: BenchLog): string[] {
  const starter = pick(log, 'main', 'starter')[0];
  const g0 = starter?.eval.gold ?? NaN;
  const rms = pick(log, 'main', 'rm');
  const ppo = pick(log, 'main', 'ppo');
  const grpo = pick(log, 'main', 'grpo');
  const dpo = pick(log, 'main', 'dpo');
  const rmOf = (seed: number) => rms.find((r) => r.seed === seed);
  const rmSeconds = (rs: { seed: number }[]) => rs.map((r) => rmOf(r.seed)?.seconds ?? NaN);
  const total = (rs: PolicyRun[]) => rs.map((r) => (rmOf(r.seed)?.seconds ?? NaN) + r.seconds);
  const gains = (rs: (PolicyRun | DpoRun)[]) => rs.map((r) => (r.eval?.gold ?? NaN) - g0);
  const head = ['way', 'held-out gold', 'gold gain', 'KL to start, nats', 'preference model: held-out accuracy', 'reward-model training s', 'policy training s', 'total s', 'policy steps', 'train reward (RM score), last quarter', 'rule on the training samples, last quarter'];
  const rows = [`| ${head.join(' | ')} |`, `|${'---|'.repeat(head.length)}`];
  if (starter) rows.push(`| starting model | ${f(g0)} | — | 0 | — | — | — | — | — | — | — |`);
  const online = (name: string, rs: PolicyRun[]) => {
    if (!rs.length) return;
    const acc = rs.map((r) => rmOf(r.seed)).filter((r): r is RmRun => !!r).map(accOf);
    rows.push(`| ${name} | ${spread(rs.map((r) => r.eval.gold), 2, true)} | ${spread(gains(rs), 2, false, signed)} | ${spread(rs.map((r) => r.eval.kl), 1)} | ${pct(acc)} (reward model) | ${spread(rmSeconds(rs), 0)} | ${spread(rs.map((r) => r.seconds), 0)} | ${spread(total(rs), 0)} | ${spread(rs.map((r) => r.steps.length), 0)} | ` +
      `${spread(rs.map((r) => lastQuarter(r.steps.map((s) => s.reward))))} | ${spread(rs.map((r) => lastQuarter(r.steps.map((s) => s.gold))))} |`);
  };
  online('(a) reward model + PPO', ppo);
  online(`(b) reward model + GRPO (β ${POLICY_SETTINGS.grpo.beta})`, grpo);
  if (dpo.length) {
    rows.push(`| (c) DPO | ${spread(dpo.map((r) => r.eval?.gold ?? NaN), 2, true)} | ${spread(gains(dpo), 2, false, signed)} | ${spread(dpo.map((r) => r.eval?.kl ?? NaN), 1)} | ${pct(dpo.map(accOf))} (implicit reward) | — | ${spread(dpo.map((r) => r.seconds), 0)} | ${spread(dpo.map((r) => r.seconds), 0)} | ${spread(dpo.map((r) => r.steps), 0)} | — | — |`);
  }
  const aims: string[] = [];
  if (ppo.length && dpo.length) {
    const [gd, ga] = [mean(gains(dpo)), mean(gains(ppo))];
    const [td, ta] = [mean(dpo.map((r) => r.seconds)), mean(total(ppo))];
    const matches = gd >= ga;
    const faster = td < ta;
    const paired = dpo.filter((d) => {
      const p = ppo.find((x) => x.seed === d.seed);
      return p && d.eval && d.eval.gold >= p.eval.gold;
    }).length;
    const why = matches && faster ? '' : ` (${[!matches ? 'its gain is below (a)\'s' : '', !faster ? 'it is not faster' : ''].filter(Boolean).join(', and ')})`;
    aims.push(`- **Aim: DPO matches (a)'s gold gain at a fraction of its wall time: ${matches && faster ? 'met' : 'not met'}.**${why} DPO's mean held-out gold gain is ${signed(gd)} against (a)'s ${signed(ga)} (the starting model: ${f(g0)}), ` +
      `in ${f(td, 0)} s against ${f(ta, 0)} s (${f(mean(rmSeconds(ppo)), 0)} s reward model + ${f(mean(ppo.map((r) => r.seconds)), 0)} s PPO): ${f((100 * td) / ta, 0)}% of (a)'s wall time; paired by seed, DPO's gold reaches that seed's (a) gold in ${paired} of ${dpo.length} seeds.`);
  }
  if (grpo.length && dpo.length) {
    aims.push(`- (b), for comparison: mean gain ${signed(mean(gains(grpo)))} in ${f(mean(total(grpo)), 0)} s; DPO took ${f((100 * mean(dpo.map((r) => r.seconds))) / mean(total(grpo)), 0)}% of its wall time.`);
  }
  return [
    `### Three ways on the K = 2 labels (ties dropped)`,
    '',
    rows.join('\n'),
    '',
    ...aims,
  ];
}

/** The rows of one comparison of options (ties or rankings), with per-option held-out accuracies by seed. */
function optionTable(log: BenchLog, part: 'ties' | 'rankings', options: readonly string[]): { table: string; acc: Map<string, { rm: RmRun[]; dpo: DpoRun[] }> } {
  const key = (r: RmRun | DpoRun) => (part === 'ties' ? r.ties : r.rankings);
  const head = [part, 'reward model: held-out accuracy vs the rule', 'reward model: validation accuracy (noisy labels)', 'DPO: held-out accuracy vs the rule', 'DPO: eval/rewards/accuracies (noisy labels, best step)', 'training comparisons', 'reward-model s', 'DPO s'];
  const rows = [`| ${head.join(' | ')} |`, `|${'---|'.repeat(head.length)}`];
  const acc = new Map<string, { rm: RmRun[]; dpo: DpoRun[] }>();
  for (const opt of options) {
    const rm = pick(log, part, 'rm', (r) => key(r) === opt);
    const dpo = pick(log, part, 'dpo', (r) => key(r) === opt);
    if (!rm.length && !dpo.length) continue;
    acc.set(opt, { rm, dpo });
    rows.push(`| ${opt} | ${rm.length ? pct(rm.map(accOf), true) : '—'} | ${rm.length ? pct(rm.map((r) => r.valAccuracy)) : '—'} | ${dpo.length ? pct(dpo.map(accOf), true) : '—'} | ${dpo.length ? pct(dpo.map((r) => r.valAccuracy)) : '—'} | ` +
      `${spread((rm.length ? rm : dpo).map((r) => r.trainComparisons), 0)} | ${rm.length ? spread(rm.map((r) => r.seconds), 0) : '—'} | ${dpo.length ? spread(dpo.map((r) => r.seconds), 0) : '—'} |`);
  }
  return { table: rows.join('\n'), acc };
}

/** "+1.2 pp (2 of 3 seeds ≥)": an option's mean accuracy against a baseline's, and how many seeds (paired) are at least as accurate. */
function against(runs: (RmRun | DpoRun)[], base: (RmRun | DpoRun)[]): { diff: number; text: string } {
  const diff = 100 * (mean(runs.map(accOf)) - mean(base.map(accOf)));
  const paired = runs.filter((r) => {
    const b = base.find((x) => x.seed === r.seed);
    return b && accOf(r) >= accOf(b);
  }).length;
  return { diff, text: `${signed(diff, 1)} pp (${paired} of ${runs.length} seeds at least as accurate)` };
}

function tiesSection(log: BenchLog): string[] {
  const { table, acc } = optionTable(log, 'ties', ['drop', 'equal', 'davidson', 'rao-kupper']);
  const drop = acc.get('drop');
  const aims: string[] = [];
  if (drop) {
    const verdicts: boolean[] = [];
    const parts: string[] = [];
    for (const trainer of ['rm', 'dpo'] as const) {
      const cells = (['davidson', 'rao-kupper', 'equal'] as const).filter((t) => acc.get(t)?.[trainer].length && drop[trainer].length).map((t) => {
        const a = against(acc.get(t)![trainer], drop[trainer]);
        if (t !== 'equal') verdicts.push(a.diff >= 0);
        return `${t} ${a.text}`;
      });
      if (cells.length) parts.push(`${trainer === 'rm' ? 'reward model' : 'DPO'}: ${cells.join(', ')}`);
    }
    if (verdicts.length) {
      aims.push(`- **Aim: tie-aware losses (davidson, rao-kupper) at least as accurate as dropping ties: ${verdicts.every(Boolean) ? 'met' : 'not met'}.** Mean held-out accuracy against the rule, each option minus drop: ${parts.join('; ')}. (equal, the target-½ term, is shown beside them.)`);
    }
  }
  return ['### Ties (K = 2 labels)', '', table, '', ...aims];
}

function rankingsSection(log: BenchLog): string[] {
  const { table, acc } = optionTable(log, 'rankings', ['all-pairs', 'plackett-luce']);
  const [ap, pl] = [acc.get('all-pairs'), acc.get('plackett-luce')];
  const lines: string[] = [];
  if (ap && pl) {
    const cells = (['rm', 'dpo'] as const).filter((t) => ap[t].length && pl[t].length).map((t) => `${t === 'rm' ? 'reward model' : 'DPO'} ${against(pl[t], ap[t]).text}`);
    lines.push(`- Plackett-Luce against all-pairs (issue 18 sets no bar for it), mean held-out accuracy against the rule: ${cells.join('; ')}.`);
  }
  return ['### Rankings (K = 4 labels, ties dropped)', '', table, '', ...lines];
}

export function renderDpoBench(log: BenchLog, o: { endLoad: number; note?: string }): string {
  const s = log.setup;
  const loads = log.runs.map((l) => l.load);
  const others = log.runs.map((l) => l.others);
  const backend = log.runs[0].result.backend;
  const labels = pick(log, 'labels', 'labels');
  const about = (l: LabelsRun) => `K = ${l.k}: ${l.labels} labels in ${f(l.seconds, 0)} s (${l.labels - l.ties} ${l.k === 2 ? 'preferences' : 'rankings'}, ${l.ties} rule ties, ${l.flipped} choices flipped)`;
  const heldPairs = (part: Part) => {
    const n = log.runs.filter((l) => l.part === part && (l.result.job === 'rm' || l.result.job === 'dpo')).map((l) => (l.result as RmRun).heldOut.total);
    return !n.length ? 'n/a' : Math.min(...n) === Math.max(...n) ? String(n[0]) : `${Math.min(...n)}–${Math.max(...n)}`;
  };
  const p = POLICY_SETTINGS.ppo, g = POLICY_SETTINGS.grpo;
  const total = sum(log.runs.map((l) => l.wall));
  return [
    '## DPO against a reward model with PPO or GRPO, on the same simulated labels; ties and rankings',
    '',
    `Run ${s.date} on ${s.machine}, backend ${backend}. \`npm run bench -- --parts dpo\` (bench/dpo.ts): data/models/starter (the Llama-layout starter, 3.1M params), full fine-tuning, seeds ${s.seeds.join(', ')}, every job in its own process, ${f(total / 60, 1)} min in all. ` +
      `${mean(others) > 0.05 ? '**Others shared the machine**' : 'The machine was nearly quiet'}: 1-minute load average ${f(Math.min(...loads), 1)}–${f(Math.max(...loads), 1)} at the jobs' starts (${f(o.endLoad, 1)} at the end; ${s.cores} cores), and other processes used ${f(100 * mean(others), 0)}% of the CPU on average during the jobs (${f(100 * Math.max(...others), 0)}% in the busiest; the machine's busy time minus the job's own), so the seconds are those of a shared machine.`,
    '',
    `- **Labels**, once per K, into a label store each that every run reads: ${labels.map(about).join('; ')}. Each task is K ${LABELING.maxNewTokens}-token starter completions at temperature ${LABELING.temperature} after one of the ${labels[0]?.prompts ?? 'n/a'} openings of data/prompts/openings.txt outside the held-out set (in turn), labelled through a live server by ${LABELING.labelers} simulated labelers (the sentiment rule; ${100 * LABELING.noise}% of choices flipped: a pair swapped, a ranking shuffled; a tie when all K score the same).`,
    `- **(a)** train-rm on the K = 2 labels (its defaults, 4 epochs, batch 16, lr 5e-4; ties dropped; ${100 * RM_SETTINGS.valFraction}% of prompts held out, best checkpoint by validation accuracy), then PPO rewarded by it: bench/grpo's PPO settings (${p.batchSize} rollouts of ${p.maxNewTokens} tokens per step, ${p.ppoEpochs} epochs × ${p.batchSize / p.miniBatchSize} minibatches, temperature ${p.temperature}, lr ${p.lr} constant, value head on the policy's backbone) but for the KL coef, ${p.klCoef} fixed (TRL's default) instead of bench/grpo's ${SETTINGS.ppo.klCoef}, which was chosen for the rule's AFINN sums and holds PPO still against the reward model's normalised scores, for ${s.budget} s of the loop's step times on the labelled prompts. **(b)** the same reward model (one per seed, shared by (a) and (b)) with GRPO (${g.promptsPerStep} prompts × ${g.numGenerations} completions, lr ${g.lr} constant, loss dapo) with β ${g.beta} (bench/grpo uses 0 on the rule; a learned reward is there to be hacked), the same budget. **(c)** runDpo on the same store: lr ${DPO_SETTINGS.lr}, ${DPO_SETTINGS.epochs} epochs, batch ${DPO_SETTINGS.batchSize}, β ${DPO_SETTINGS.beta}, loss sigmoid, ties dropped, the same ${100 * VAL_FRACTION}% of prompts held out (the same split per seed as the reward model's), evaluation every ${DPO_SETTINGS.evalEvery} steps, final/ = lowest eval loss.`,
    `- **Held-out gold**: bench/grpo-eval.ts's measurement on its sentiment held-out set (64 openings, none labelled, none trained on): ${s.samples} completions of 16 tokens per prompt at temperature 1, one fixed seed for every policy; the AFINN sum per completion. **KL to start**: the same samples, Σ_t log π − log π_start per completion, in nats. Gold gain = gold − the starting model's.`,
    `- **Wall time**: reward-model s is train-rm's call (data, training, validation, normalisation); policy s is the loop's call from its start (loading, reference) to the step that spent the budget; DPO s is runDpo's call (data, reference log-probabilities, training, evaluations, best/ and final/). Measurements of gold and accuracy are outside all three. The train reward is each loop's mean reward-model score per step (GRPO at temperature 1, PPO at ${p.temperature}); beside it the rule's mean on the same samples (goldReward, never optimised).`,
    `- **Held-out accuracy vs the rule** (bench/dpo-accuracy.ts): on the validation prompts of each run's own split (train-rm's and runDpo's seed also seeds the split), every pair of completions the noise-free rule scores differently (${heldPairs('main')} pairs per seed on K = 2; ${heldPairs('rankings')} on K = 4, up to 6 per ranking); right when the reward model's score, or DPO's implicit reward (log π − log π_start), orders it as the rule does. The validation accuracies are each trainer's own, on the noisy labels of the same prompts. The tie and ranking runs use lighter settings to fit the budget, the same for every option: train-rm ${s.accEpochs.rm} epoch${s.accEpochs.rm === 1 ? '' : 's'}, DPO ${s.accEpochs.dpo} epoch${s.accEpochs.dpo === 1 ? '' : 's'}, otherwise as above; tie models at Chen et al.'s ν (davidson 1, rao-kupper 3).`,
    `- Each cell is mean (min–max) over the seeds.`,
    '',
    ...mainSection(log),
    '',
    ...tiesSection(log),
    '',
    ...rankingsSection(log),
    '',
    ...(o.note ? [o.note] : []),
  ].join('\n').trimEnd();
}
