// DPO's metrics under TRL's names, from each forward pass's per-row statistics (plain numbers):
//   rewards/chosen, rewards/rejected   β (log π − log π_ref) of each pair's chosen / rejected completion
//   rewards/margins, rewards/accuracies  their difference, and the fraction of pairs where it is > 0
//   logps/chosen, logps/rejected       log π summed over the completion's tokens
//   logits/chosen, logits/rejected     the mean over the vocabulary of the logits, over the completion's tokens
//   entropy                            mean entropy of π over every completion token
// Means over the pairs (and tokens) of a logging window or of the whole validation set, which for
// equal-sized batches is TRL's mean of per-batch means. loss, nll_loss (RPO), grad_norm, lr and num_tokens
// come from the loop.
import type { SampleRow } from '../data/metrics-sink.js';
import type { DpoExample } from './data.js';
import type { PairIndex } from './losses.js';

/** Running sums over pairs and tokens. Plain JSON, so a checkpoint can hold a logging window half done. */
export interface PairSums {
  steps: number;
  loss: number;
  pairs: number;
  rewardsChosen: number;
  rewardsRejected: number;
  correct: number;
  logpsChosen: number;
  logpsRejected: number;
  logitsChosen: number;
  tokensChosen: number;
  logitsRejected: number;
  tokensRejected: number;
  entropy: number;
  tokens: number;
  /** Σ log π and token count of the chosen completions (the RPO term's NLL). */
  chosenLogp: number;
  chosenTokens: number;
}

export const emptySums = (): PairSums => ({
  steps: 0, loss: 0, pairs: 0, rewardsChosen: 0, rewardsRejected: 0, correct: 0, logpsChosen: 0, logpsRejected: 0,
  logitsChosen: 0, tokensChosen: 0, logitsRejected: 0, tokensRejected: 0, entropy: 0, tokens: 0, chosenLogp: 0, chosenTokens: 0,
});

/** Per row of a forward pass, from sequenceStats and the cached reference. */
export interface RowStats {
  logp: ArrayLike<number>;
  entropy: ArrayLike<number>;
  meanLogit: ArrayLike<number>;
  ref: ArrayLike<number>;
  lengths: number[];
}

/** Add one forward pass's pairs and tokens to `s`. */
export function addPairs(s: PairSums, r: RowStats, p: PairIndex, beta: number): void {
  const reward = (i: number) => beta * (r.logp[i] - r.ref[i]);
  for (let k = 0; k < p.winner.length; k++) {
    const [w, l] = [p.winner[k], p.loser[k]];
    s.pairs++;
    s.rewardsChosen += reward(w);
    s.rewardsRejected += reward(l);
    if (reward(w) > reward(l)) s.correct++;
    s.logpsChosen += r.logp[w];
    s.logpsRejected += r.logp[l];
    s.logitsChosen += r.meanLogit[w];
    s.tokensChosen += r.lengths[w];
    s.logitsRejected += r.meanLogit[l];
    s.tokensRejected += r.lengths[l];
  }
  for (let i = 0; i < r.lengths.length; i++) {
    s.entropy += r.entropy[i];
    s.tokens += r.lengths[i];
    if (p.chosenWeight[i] > 0) {
      s.chosenLogp += r.logp[i];
      s.chosenTokens += r.lengths[i];
    }
  }
}

/** The sums as TRL-named means, each name after `prefix` ('' or 'eval/'); loss as given. */
export function pairMetrics(s: PairSums, prefix: string, loss: number, rpo: boolean): Record<string, number> {
  const m: Record<string, number> = {
    loss,
    'rewards/chosen': s.rewardsChosen / s.pairs,
    'rewards/rejected': s.rewardsRejected / s.pairs,
    'rewards/margins': (s.rewardsChosen - s.rewardsRejected) / s.pairs,
    'rewards/accuracies': s.correct / s.pairs,
    'logps/chosen': s.logpsChosen / s.pairs,
    'logps/rejected': s.logpsRejected / s.pairs,
    'logits/chosen': s.tokensChosen ? s.logitsChosen / s.tokensChosen : 0,
    'logits/rejected': s.tokensRejected ? s.logitsRejected / s.tokensRejected : 0,
    entropy: s.tokens ? s.entropy / s.tokens : 0,
  };
  if (rpo) m.nll_loss = s.chosenTokens ? -s.chosenLogp / s.chosenTokens : 0;
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [prefix + k, v]));
}

/** A sample row per validation comparison: its best and worst completion with their implicit rewards. */
export function sampleRow(e: DpoExample, rewards: number[]): SampleRow {
  const [best, worst] = [e.ranking![0], e.ranking!.at(-1)!];
  return {
    prompt: e.prompt, completion: e.completions[best], score: rewards[best],
    columns: { rejected: e.completions[worst], rejected_reward: rewards[worst], margin: rewards[best] - rewards[worst], correct: rewards[best] > rewards[worst] },
  };
}
