// One run of the GRPO/RLOO/PPO benchmark (bench/grpo.ts spawns one process per run, so no run inherits
// another's heap, JIT state or tensors). It trains the starter model on a task until a wall-clock budget
// of training time is spent, measures the policy on held-out prompts at 25/50/75/100% of the budget
// (bench/grpo-eval.ts; the measurement's own seconds are not counted in the budget), and prints one JSON
// line: every step's reward, time split and generated tokens, and the evaluations.
//   node --import tsx bench/grpo-run.ts --algo grpo|rloo|ppo|starter --task include-word|sentiment
//     [--seed 0] [--budget 75] [--samples 4] [--backend auto]
// --algo starter measures the starting model only (the 0% point of every curve).
// The budget counts the loops' own step times (GRPO/RLOO step_time, PPO time/step: rollout + reward +
// update), not model loading. A run stops after the step whose end is nearest the budget: the first step
// with elapsed + ½·(its length) >= budget, so a slow-stepping algorithm is not handed a whole extra step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BackendName, currentBackend, initBackend } from '../backend/backend.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import type { GPT } from '../lm/model.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { resolveGrpoConfig } from '../rl/grpo/config.js';
import { runGrpo } from '../rl/grpo/grpo.js';
import { runPpo } from '../rl/ppo.js';
import { resolvePpoConfig } from '../rl/ppo-config.js';
import { resolveRlooConfig } from '../rl/rloo/config.js';
import { runRloo } from '../rl/rloo/rloo.js';
import { BenchTask, BENCH_TASKS, EvalResult, evaluate, heldOut, TASK_REWARD, TRAIN_PROMPTS } from './grpo-eval.js';

export type BenchAlgo = 'grpo' | 'rloo' | 'ppo';
export const BENCH_ALGOS: readonly BenchAlgo[] = ['grpo', 'rloo', 'ppo'];
export const MAX_NEW_TOKENS = 16;
const ROOT = join(import.meta.dirname, '..');
export const MODEL = join(ROOT, 'data', 'models', 'starter');

/**
 * Each algorithm's settings, full fine-tuning throughout. GRPO: 8 prompts × 8 completions, lr 3e-4
 * constant (it learns include-word at these settings, test/rl/grpo-learning.test.ts); RLOO the same with
 * TRL's β = 0.05 (k1 folded into the reward); PPO: bench/ppo.ts's settings (64 rollouts, minibatches of 16,
 * 4 epochs, temperature 0.7, lr 1e-4, KL coef 1.5 fixed, value head on the policy's backbone) at 16 new
 * tokens, the lr kept constant (a wall-clock budget has no planned step count to decay over).
 */
export const SETTINGS = {
  grpo: { promptsPerStep: 8, numGenerations: 8, maxCompletionLength: MAX_NEW_TOKENS, temperature: 1, lr: 3e-4, lrSchedule: 'constant', beta: 0 },
  rloo: { promptsPerStep: 8, numGenerations: 8, maxCompletionLength: MAX_NEW_TOKENS, temperature: 1, lr: 3e-4, lrSchedule: 'constant', beta: 0.05 },
  ppo: { batchSize: 64, miniBatchSize: 16, ppoEpochs: 4, maxNewTokens: MAX_NEW_TOKENS, temperature: 0.7, lr: 1e-4, lrSchedule: 'constant', klCoef: 1.5, klTarget: null },
} as const;
/** Fractions of the budget at which the policy is measured. */
export const EVAL_AT = [0.25, 0.5, 0.75, 1] as const;

/** One step as the benchmark reads it, from either loop's metrics. */
/** One step: t and tokens are cumulative training seconds and generated tokens at its end; the times are the loop's split. */
export interface StepRow { step: number; t: number; tokens: number; generated: number; completions: number; reward: number; rollout: number; score: number; update: number; stepTime: number }
export interface EvalRow extends EvalResult { frac: number; step: number; t: number; tokens: number }
export interface RunResult { algo: BenchAlgo | 'starter'; task: BenchTask; seed: number; budget: number; backend: string; steps: StepRow[]; evals: EvalRow[]; wallSeconds: number }

/** The loop's metrics of one step as a StepRow (t and tokens filled by the caller). GRPO/RLOO vs PPO names. */
export function stepRow(algo: BenchAlgo, step: number, m: Record<string, number>): Omit<StepRow, 't' | 'tokens'> {
  if (algo === 'ppo') {
    const n = SETTINGS.ppo.batchSize;
    return { step, completions: n, reward: m['objective/scores'], rollout: m['time/rollout'], score: m['time/ref_and_score'], update: m['time/train'], stepTime: m['time/step'], generated: m['val/response_length'] * n };
  }
  const n = SETTINGS[algo].promptsPerStep * SETTINGS[algo].numGenerations;
  return { step, completions: n, reward: m.reward, rollout: m['time/rollout'], score: m['time/reward'], update: m['time/update'], stepTime: m.step_time, generated: m['completions/mean_length'] * n };
}

class BudgetReached extends Error {}

/** One run on the backend already chosen (initBackend). */
export async function benchRun(algo: BenchAlgo | 'starter', task: BenchTask, seed: number, budget: number, samples: number): Promise<RunResult> {
  const backend = currentBackend()?.detail ?? 'unknown';
  const t0 = performance.now();
  const ref = loadCheckpoint(MODEL);
  ref.model.setFrozen(true);
  const h = heldOut(task);
  // One probe seed for every run and evaluation: the same prompts and random draws for every policy.
  const measure = (policy: GPT, tok: Tokenizer) => evaluate(policy, ref.model, tok, task, h, { samples, maxNewTokens: MAX_NEW_TOKENS, seed: 12345, maxPromptTokens: 64 });
  const steps: StepRow[] = [];
  const evals: EvalRow[] = [];
  const out = mkdtempSync(join(tmpdir(), `rlhf-bench-${algo}-`));
  try {
    if (algo === 'starter') {
      evals.push({ frac: 0, step: 0, t: 0, tokens: 0, ...(await measure(ref.model, ref.tokenizer!)) });
      return { algo, task, seed, budget, backend, steps, evals, wallSeconds: (performance.now() - t0) / 1000 };
    }
    let t = 0;
    let tokens = 0;
    let next = 0; // index into EVAL_AT
    const onStep = async (step: number, m: Record<string, number>, policy: GPT, tok: Tokenizer) => {
      const row = stepRow(algo, step, m);
      t += row.stepTime;
      tokens += row.generated;
      steps.push({ ...row, t, tokens });
      // Evaluate at every fraction of the budget this step reached (its end nearest the mark).
      let e: EvalResult | null = null;
      while (next < EVAL_AT.length && t + row.stepTime / 2 >= EVAL_AT[next] * budget) {
        e ??= await measure(policy, tok);
        evals.push({ frac: EVAL_AT[next++], step, t, tokens, ...e });
      }
      if (next === EVAL_AT.length) throw new BudgetReached();
    };
    const common = { model: MODEL, prompts: TRAIN_PROMPTS[task], out, seed, steps: 1_000_000, saveEvery: 1_000_000, sampleEvery: 0 };
    try {
      if (algo === 'ppo') {
        await runPpo(resolvePpoConfig({ ...common, ...SETTINGS.ppo, reward: TASK_REWARD[task] }), { onStep: (r) => onStep(r.step, r.metrics, r.models.policy, r.models.tokenizer) });
      } else {
        const c = { ...common, ...SETTINGS[algo], reward: [TASK_REWARD[task]] };
        const o = { onStep: (r: { step: number; metrics: Record<string, number>; policy: GPT; tokenizer: Tokenizer }) => onStep(r.step, r.metrics, r.policy, r.tokenizer) };
        await (algo === 'grpo' ? runGrpo(resolveGrpoConfig(c), o) : runRloo(resolveRlooConfig(c), o));
      }
      throw new Error(`${algo} ended before the budget`);
    } catch (e) {
      if (!(e instanceof BudgetReached)) throw e;
    }
    return { algo, task, seed, budget, backend, steps, evals, wallSeconds: (performance.now() - t0) / 1000 };
  } finally {
    ref.model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: o } = parseArgs({
    options: {
      algo: { type: 'string', default: 'grpo' }, task: { type: 'string', default: 'include-word' }, seed: { type: 'string', default: '0' },
      budget: { type: 'string', default: '75' }, samples: { type: 'string', default: '4' }, backend: { type: 'string', default: 'auto' },
    },
  });
  const algo = o.algo as BenchAlgo | 'starter';
  if (![...BENCH_ALGOS, 'starter'].includes(algo)) throw new Error(`--algo: one of ${[...BENCH_ALGOS, 'starter'].join(', ')}, got ${o.algo}`);
  if (!BENCH_TASKS.includes(o.task as BenchTask)) throw new Error(`--task: one of ${BENCH_TASKS.join(', ')}, got ${o.task}`);
  await initBackend(o.backend as BackendName, { quiet: true });
  const r = await benchRun(algo, o.task as BenchTask, Number(o.seed), Number(o.budget), Number(o.samples));
  const cpu = process.cpuUsage(); // all threads of this process: bench/grpo.ts subtracts it from the machine's busy time
  process.stdout.write(JSON.stringify({ ...r, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
}
