// The held-out measurement of the GRPO/RLOO/PPO benchmark (bench/grpo.ts), the same for every algorithm:
// a fixed set of held-out prompts, `samples` completions each, sampled from the policy at temperature 1
// (top-k and top-p off) with one fixed seed, so every policy is measured on the same prompts and the same
// random draws (common random numbers: differences between policies are not sampling noise of the probe).
//   gold:    include-word: the task's reward (the word the prompt asks for, whole, any case) on test.jsonl;
//            sentiment: the AFINN-165 sum of the completion, on openings the run never trained on;
//   control: include-word only: the same completions scored against the next word of the prompt's list,
//            one not asked for. Reading the instruction raises gold above control; writing the task's
//            words everywhere (data/tasks/include-word/README.md) raises both;
//   kl:      mean over completions of Σ_t (log π(y_t) − log π_ref(y_t)) at temperature 1, π_ref the
//            starting model: an unbiased estimate of KL(π‖π_ref) per completion, in nats.
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { includesWord } from '../data/tasks/include-word/reward.js';
import { generate } from '../lm/generate.js';
import type { GPT } from '../lm/model.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import { sentimentScore } from '../reward-models/rules.js';
import { headLogprobsAndEntropy } from '../rl/logprobs.js';
import { pack, responseHidden } from '../rl/policy.js';
import { loadPromptRecords } from '../rl/prompts.js';
import { eosIdsOf, forwardChunks, queryEncoder } from '../rl/rollout.js';
import { TASK_WORDS } from '../scripts/make-word-task.js';

export type BenchTask = 'include-word' | 'sentiment';
export const BENCH_TASKS: readonly BenchTask[] = ['include-word', 'sentiment'];

const ROOT = join(import.meta.dirname, '..');
export const WORD_TASK = join(ROOT, 'data', 'tasks', 'include-word');
/** Prompts the runs train on: the task's train split; for sentiment demo.txt, as bench/ppo.ts. */
export const TRAIN_PROMPTS: Record<BenchTask, string> = {
  'include-word': join(WORD_TASK, 'train.jsonl'),
  sentiment: join(ROOT, 'data', 'prompts', 'demo.txt'),
};
/** The reward each run optimises: the task's module (batch function; PPO reads its legacy score export) or the rule. */
export const TASK_REWARD: Record<BenchTask, string> = { 'include-word': join(WORD_TASK, 'reward.ts'), sentiment: 'sentiment' };

export interface HeldOut {
  prompts: string[];
  /** include-word: the word asked for and the control word, per prompt. */
  words?: { asked: string; control: string }[];
}

/** The word after `w` in its corpus's list: a word the prompt did not ask for (as the task README's control). */
export function controlWord(w: string): string {
  const list = Object.values(TASK_WORDS).find((l) => l.includes(w));
  if (!list) throw new Error(`include-word: "${w}" is not one of the task's words`);
  return list[(list.indexOf(w) + 1) % list.length];
}

/** include-word: the 64 test.jsonl prompts; sentiment: every 8th line of openings.txt (64), none in demo.txt. */
export function heldOut(task: BenchTask): HeldOut {
  if (task === 'include-word') {
    const recs = loadPromptRecords(join(WORD_TASK, 'test.jsonl'));
    return { prompts: recs.map((r) => r.prompt), words: recs.map((r) => ({ asked: String(r.columns.word), control: controlWord(String(r.columns.word)) })) };
  }
  const train = new Set(loadPromptRecords(TRAIN_PROMPTS.sentiment).map((r) => r.prompt));
  const lines = loadPromptRecords(join(ROOT, 'data', 'prompts', 'openings.txt')).map((r) => r.prompt);
  return { prompts: lines.filter((p, i) => i % 8 === 0 && !train.has(p)) };
}

export interface EvalResult {
  gold: number;
  control?: number;
  kl: number;
  meanLength: number;
  completions: number;
  /** Seconds the measurement took (not counted in a run's budget). */
  seconds: number;
}

export interface EvalOptions {
  samples: number;
  maxNewTokens: number;
  seed: number;
  maxPromptTokens: number;
  /** Rows per forward of the KL pass. */
  chunk?: number;
}

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;

/** Measure `policy` on the held-out prompts against the frozen starting model `ref` (same tokenizer). */
export async function evaluate(policy: GPT, ref: GPT, tok: Tokenizer, task: BenchTask, h: HeldOut, o: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const queryOf = queryEncoder(tok, policy.config, o.maxPromptTokens);
  const queries = h.prompts.map(queryOf);
  const eosIds = eosIdsOf(policy.config, tok);
  const comps = await generate(policy, tok, queries, {
    numReturnSequences: o.samples, temperature: 1, topK: 0, topP: 1, maxNewTokens: o.maxNewTokens, seed: o.seed, eosIds,
  });
  const promptOf = (i: number) => Math.floor(i / o.samples); // prompt-major
  const texts = comps.map((c) => c.text);
  let gold: number[];
  let control: number[] | undefined;
  if (task === 'include-word') {
    gold = texts.map((t, i) => (includesWord(t, h.words![promptOf(i)].asked) ? 1 : 0));
    control = texts.map((t, i) => (includesWord(t, h.words![promptOf(i)].control) ? 1 : 0));
  } else gold = texts.map(sentimentScore);

  // KL: both models' log-probabilities of the sampled tokens through the same forward, summed per row.
  const packed = pack(comps.map((_, i) => queries[promptOf(i)]), comps.map((c) => c.ids), eosIds[0] ?? 0);
  const lp = (m: GPT) => (p: typeof packed) => [tf.reshape(tf.slice(headLogprobsAndEntropy(responseHidden(m, p), m.headWeight(), tf.tensor1d(p.responses.flat(), 'int32'), 1), [0, 0], [-1, 1]), [-1])];
  const [pol] = await forwardChunks(packed, o.chunk ?? 64, lp(policy)); // [N·R]
  const [rf] = await forwardChunks(packed, o.chunk ?? 64, lp(ref));
  const R = packed.R;
  const kl = packed.mask.map((m, b) => m.reduce((s, on, t) => s + (on ? pol[b * R + t] - rf[b * R + t] : 0), 0));
  return {
    gold: mean(gold), ...(control ? { control: mean(control) } : {}), kl: mean(kl),
    meanLength: mean(comps.map((c) => c.ids.length)), completions: comps.length, seconds: (performance.now() - t0) / 1000,
  };
}
