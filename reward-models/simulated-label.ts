// The label a simulated labeler gives, with no I/O: a rule scores each completion; the label ranks by
// score, is a tie when all scores are equal, and with probability `noise` has its choice flipped (a pair is
// swapped; a longer ranking is shuffled). Whether a task's choice is flipped depends only on (seed, task
// id), so a run's labels do not depend on which labeler got which task. labelers/simulated-labeler.ts
// fetches the tasks and submits these labels over the HTTP API.
import { mix, Rng, shuffleInPlace } from '../lm/rng.js';
import { Rule } from './rules.js';

/** What the rule needs of a task: the shape of the API's TaskView, kept structural so this file stays off the wire. */
export interface LabelTask {
  id: number;
  prompt: string;
  /** In display order; a ranking lists these positions, best first. */
  completions: { position: number; text: string }[];
}

export interface RuleLabel {
  kind: 'ranking' | 'tie';
  ranking?: number[];
}

/** The label a rule gives a task: a ranking best first, or a tie when every score is equal. */
export async function ruleLabel(rule: Rule, task: LabelTask): Promise<RuleLabel> {
  const scored: { position: number; score: number }[] = [];
  for (const c of task.completions) scored.push({ position: c.position, score: Number(await rule.score(task.prompt, c.text)) });
  if (scored.some((s) => !Number.isFinite(s.score))) throw new Error(`rule ${rule.name} gave a non-finite score for task ${task.id}`);
  if (scored.every((s) => s.score === scored[0].score)) return { kind: 'tie' };
  // Stable: equal scores keep display order.
  return { kind: 'ranking', ranking: [...scored].sort((a, b) => b.score - a.score).map((s) => s.position) };
}

/** The rule's label with the noise applied; `flipped` says whether the noise changed it (a tie never is). */
export async function simulatedLabel(rule: Rule, task: LabelTask, noise: number, seed: number): Promise<RuleLabel & { flipped: boolean }> {
  const label = await ruleLabel(rule, task);
  if (label.kind === 'tie' || !(mix(seed, task.id) / 2 ** 32 < noise)) return { ...label, flipped: false };
  const k = label.ranking!;
  if (k.length === 2) k.reverse();
  else shuffleInPlace(k, new Rng(mix(seed, task.id, 1)));
  return { ...label, flipped: true };
}
