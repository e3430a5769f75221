// The jobs of the DPO benchmark (bench/dpo.ts); bench/dpo-run.ts runs one per process. All of them read
// and write one work folder:
//   labels   simulated labels (sentiment rule, 10% of choices flipped) on K starter completions per task
//            into WORK/labels-kK.db through a live server, on the prompts of data/prompts/openings.txt
//            that the held-out set (bench/grpo-eval.ts heldOut('sentiment')) does not use; those prompts
//            also go to WORK/prompts.txt, the prompts the online policies train on;
//   starter  the starting model's held-out gold (the 0 of every gain);
//   rm       train-rm on a store with a ties/rankings choice and a seed; held-out accuracy against the
//            noise-free rule on that seed's validation prompts (bench/dpo-accuracy.ts); keeps final/;
//   dpo      runDpo on a store, the same measurement of its implicit rewards, and optionally the policy's
//            held-out gold and KL to the start.
// The online policies (PPO, GRPO on seed s's reward model) are bench/dpo-policy.ts.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectSimulatedLabels } from '../demo/simulated-labels.js';
import { resolveDpoConfig } from '../dpo/config.js';
import { runDpo } from '../dpo/dpo.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import type { GPT } from '../lm/model.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import type { RankingModel, TiePolicy } from '../reward-models/preference-options.js';
import { resolveRmConfig } from '../reward-models/rm-config.js';
import { trainRewardModel } from '../reward-models/train-rm.js';
import { loadPromptRecords } from '../rl/prompts.js';
import { Accuracy, cleanAccuracy, dpoScores, heldOutComparisons, rewardModelScores } from './dpo-accuracy.js';
import { EvalResult, evaluate, heldOut } from './grpo-eval.js';
import { MAX_NEW_TOKENS, MODEL } from './grpo-run.js';

const ROOT = join(import.meta.dirname, '..');

/** How the labels are made: the rm bench's labeler (sentiment, 10% noise), at the DPO learning test's temperature. */
export const LABELING = { maxNewTokens: MAX_NEW_TOKENS, temperature: 0.7, labelers: 4, rule: 'sentiment', noise: 0.1, seed: 1 } as const;
/** Both trainers hold out the same fraction of prompts, so a seed's reward model and DPO run share their held-out prompts. */
export const VAL_FRACTION = 0.2;
/** train-rm's defaults (4 epochs, batch 16, lr 5e-4) but for the split and the validation cadence. */
export const RM_SETTINGS = { valFraction: VAL_FRACTION, evalEvery: 40 } as const;
/** The DPO learning test's recipe (dpo/README.md, "Measured"): full fine-tuning, lr 5e-4, 3 epochs, batch 16, β 0.1. */
export const DPO_SETTINGS = { lr: 5e-4, epochs: 3, batchSize: 16, evalEvery: 10, valFraction: VAL_FRACTION, beta: 0.1 } as const;
/** The probe of every held-out measurement (the same seed as bench/grpo-run.ts: the same draws for every policy). */
export const PROBE_SEED = 12345;

/** Which preference model a reward model or DPO run uses, and on which labels. */
export interface PrefSpec { k: number; ties: TiePolicy; rankings: RankingModel; seed: number }
/** Seed s's reward model of the three-ways comparison: K = 2, ties dropped, all pairs (TRL's reward trainer). */
export const mainSpec = (seed: number): PrefSpec => ({ k: 2, ties: 'drop', rankings: 'all-pairs', seed });
const specName = (s: PrefSpec) => `k${s.k}-${s.ties}-${s.rankings}-s${s.seed}`;

export const labelsDb = (work: string, k: number) => join(work, `labels-k${k}.db`);
export const promptsFile = (work: string) => join(work, 'prompts.txt');
export const rmDir = (work: string, s: PrefSpec) => join(work, `rm-${specName(s)}`);

/** The openings of data/prompts/openings.txt that the held-out set leaves (the held-out prompts are never labelled). */
export function labelPrompts(): string[] {
  const held = new Set(heldOut('sentiment').prompts);
  return loadPromptRecords(join(ROOT, 'data', 'prompts', 'openings.txt')).map((r) => r.prompt).filter((p) => !held.has(p));
}

/** The held-out gold and KL of `policy` against the starting model `ref` (bench/grpo-eval.ts's measurement). */
export function measure(policy: GPT, ref: GPT, tok: Tokenizer, samples: number): Promise<EvalResult> {
  return evaluate(policy, ref, tok, 'sentiment', heldOut('sentiment'), { samples, maxNewTokens: MAX_NEW_TOKENS, seed: PROBE_SEED, maxPromptTokens: 64 });
}

export interface LabelsRun { job: 'labels'; k: number; tasks: number; labels: number; ties: number; flipped: number; prompts: number; seconds: number }

/** `n` tasks of K completions (the label prompts in turn), labelled by simulated labelers into a fresh store. */
export async function labelsJob(work: string, k: number, n: number): Promise<LabelsRun> {
  const db = labelsDb(work, k);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const prompts = labelPrompts();
  writeFileSync(promptsFile(work), prompts.join('\n') + '\n');
  const t0 = performance.now();
  const r = await collectSimulatedLabels({ db, model: MODEL, prompts: Array.from({ length: n }, (_, i) => prompts[i % prompts.length]), tasksPerPrompt: 1, k, ...LABELING });
  return { job: 'labels', k, ...r, prompts: prompts.length, seconds: (performance.now() - t0) / 1000 };
}

export interface StarterRun { job: 'starter'; eval: EvalResult }

export async function starterJob(samples: number): Promise<StarterRun> {
  const a = loadCheckpoint(MODEL);
  try {
    return { job: 'starter', eval: await measure(a.model, a.model, a.tokenizer!, samples) };
  } finally {
    a.model.dispose();
  }
}

/** What both trainers report: the held-out accuracy against the rule, and the one each trainer logs itself. */
export interface PrefRun extends PrefSpec {
  seconds: number;
  steps: number;
  trainComparisons: number;
  valComparisons: number;
  /** Against the noise-free rule, on the seed's validation prompts. */
  heldOut: Accuracy;
  /** The trainer's own validation accuracy on the (noisy) labels of those prompts, at the model it keeps. */
  valAccuracy: number;
}
export interface RmRun extends PrefRun { job: 'rm' }
export interface DpoRun extends PrefRun { job: 'dpo'; bestStep: number; eval?: EvalResult }

/** Train a reward model (train-rm's defaults, `epochs` aside); final/ stays in the work folder for the policy runs. */
export async function rmJob(work: string, s: PrefSpec, epochs?: number): Promise<RmRun> {
  const out = rmDir(work, s);
  rmSync(out, { recursive: true, force: true });
  const c = resolveRmConfig({ model: MODEL, db: labelsDb(work, s.k), out, seed: s.seed, ties: s.ties, rankings: s.rankings, ...RM_SETTINGS, ...(epochs ? { epochs } : {}) });
  const t0 = performance.now();
  const r = await trainRewardModel(c, false);
  const seconds = (performance.now() - t0) / 1000;
  const held = heldOutComparisons(c.db!, c.valFraction, s.seed);
  const acc = cleanAccuracy(held, await rewardModelScores(r.final!, held));
  for (const f of readdirSync(out)) if (f !== 'final') rmSync(join(out, f), { recursive: true, force: true });
  return { job: 'rm', ...s, seconds, steps: r.step, trainComparisons: r.trainComparisons, valComparisons: r.valComparisons, heldOut: acc, valAccuracy: r.best?.accuracy ?? NaN };
}

/** runDpo from the store; with `gold`, the policy's held-out gold and KL too. The run folder is removed after. */
export async function dpoJob(work: string, s: PrefSpec, o: { gold: boolean; samples: number; epochs?: number }): Promise<DpoRun> {
  const out = join(work, `dpo-${specName(s)}`);
  rmSync(out, { recursive: true, force: true });
  const c = resolveDpoConfig({
    model: MODEL, db: labelsDb(work, s.k), out, seed: s.seed, ties: s.ties, rankings: s.rankings, ...DPO_SETTINGS, ...(o.epochs ? { epochs: o.epochs } : {}),
    saveEvery: 1_000_000, keepCheckpoints: 1, sampleRows: 0,
  });
  try {
    const t0 = performance.now();
    const r = await runDpo(c);
    const seconds = (performance.now() - t0) / 1000;
    const best = r.evals.find((e) => e.step === r.best?.step);
    const held = heldOutComparisons(c.db!, c.valFraction, s.seed);
    const acc = cleanAccuracy(held, dpoScores(r.final!, MODEL, held, c));
    let ev: EvalResult | undefined;
    if (o.gold) {
      const p = loadCheckpoint(r.final!);
      const ref = loadCheckpoint(MODEL);
      try {
        ev = await measure(p.model, ref.model, p.tokenizer!, o.samples);
      } finally {
        p.model.dispose();
        ref.model.dispose();
      }
    }
    return {
      job: 'dpo', ...s, seconds, steps: r.step, trainComparisons: r.train, valComparisons: r.val, heldOut: acc,
      valAccuracy: best?.['eval/rewards/accuracies'] ?? NaN, bestStep: r.best?.step ?? r.step, ...(ev ? { eval: ev } : {}),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
