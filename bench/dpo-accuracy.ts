// Held-out preference accuracy against the noise-free rule, for the reward models and DPO policies of the
// DPO benchmark (bench/dpo.ts). A run's held-out comparisons are the validation side of its own split
// (splitByPrompt with that run's valFraction and seed, as train-rm and runDpo split): train-rm's and
// runDpo's `seed` also seeds the split, so another seed's validation prompts are partly this run's training
// prompts. Every pair of completions that the sentiment rule scores differently counts once (a ranking of 4
// gives up to 6); a pair is right when the model orders it as the rule does. Equal rule scores carry no
// preference (the simulated labeler's ties, or equal completions inside a ranking, which it orders by
// display position) and are left out, so every tie option is measured on the same pairs.
// A DPO policy's score of a completion is its implicit reward's log-ratio, log π(y|x) − log π_ref(y|x)
// summed over the completion's tokens (β > 0 only scales it).
import { DpoConfig } from '../dpo/config.js';
import { DpoExample, tokenize } from '../dpo/data.js';
import { completionLogps } from '../dpo/forward.js';
import { loadCheckpoint } from '../lm/checkpoint.js';
import { Comparison, readComparisonsDb, splitByPrompt } from '../reward-models/comparisons.js';
import { RewardModel } from '../reward-models/reward-model.js';
import { sentimentScore } from '../reward-models/rules.js';

export interface Accuracy {
  correct: number;
  /** Pairs the rule orders (different scores). */
  total: number;
}

/** The validation comparisons of a store under the split of (valFraction, seed), ties included. */
export function heldOutComparisons(db: string, valFraction: number, seed: number): Comparison[] {
  return splitByPrompt(readComparisonsDb(db), valFraction, seed).val;
}

/** How many of the rule's ordered pairs the scores ([comparison][completion]) order the same way. */
export function cleanAccuracy(cs: Comparison[], scores: number[][]): Accuracy {
  if (scores.length !== cs.length) throw new Error(`${cs.length} comparisons but ${scores.length} score rows`);
  let correct = 0;
  let total = 0;
  cs.forEach((c, k) => {
    const rule = c.completions.map((t) => sentimentScore(t));
    for (let i = 0; i < rule.length; i++) {
      for (let j = i + 1; j < rule.length; j++) {
        if (rule[i] === rule[j]) continue;
        total++;
        if ((scores[k][i] - scores[k][j]) * (rule[i] - rule[j]) > 0) correct++;
      }
    }
  });
  return { correct, total };
}

/** Regroup flat per-completion scores into rows, one per comparison. */
function rowsOf(cs: Comparison[], flat: ArrayLike<number>): number[][] {
  let at = 0;
  return cs.map((c) => c.completions.map(() => flat[at++]));
}

/** A reward model's raw scores of every completion of `cs`. */
export async function rewardModelScores(dir: string, cs: Comparison[]): Promise<number[][]> {
  const rm = RewardModel.load(dir);
  try {
    const flat = cs.flatMap((c) => c.completions.map((t) => [c.prompt, t] as const));
    return rowsOf(cs, await rm.scoreRaw(flat.map((f) => f[0]), flat.map((f) => f[1]), 64));
  } finally {
    rm.dispose();
  }
}

/** A DPO policy's log-ratios to its reference on every completion of `cs`, tokenized as the run tokenized them. */
export function dpoScores(policyDir: string, refDir: string, cs: Comparison[], c: Pick<DpoConfig, 'maxLength' | 'maxPromptLength' | 'truncationMode'>): number[][] {
  const policy = loadCheckpoint(policyDir);
  const ref = loadCheckpoint(refDir);
  try {
    const tok = policy.tokenizer!;
    const examples = cs.map((x, i): DpoExample => {
      const e = tokenize({ ...x, where: `held-out ${i + 1}`, chat: false }, tok, c, policy.model.config.nPositions);
      if (!e) throw new Error(`held-out comparison ${i + 1}: its prompt leaves no room for a completion`);
      return e;
    });
    const pad = tok.eosId ?? 0;
    const lp = completionLogps(policy.model, examples, 32, pad);
    const lr = completionLogps(ref.model, examples, 32, pad);
    return rowsOf(cs, lp.map((v, i) => v - lr[i]));
  } finally {
    policy.model.dispose();
    ref.model.dispose();
  }
}
