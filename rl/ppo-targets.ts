// Step 3 of a PPO iteration as one pure function: from a rollout's scores, logprobs, reference logprobs
// and values to the per-token KL, rewards, advantages and returns the update trains on. Two conventions
// choose where the score lands (rewards.ts scoreIndex):
//   last-token        the score is added at the last real token; values, GAE and the value loss cover
//                     the real tokens (Ziegler et al.; TRL's old PPOTrainer).
//   after-last-token  the score is added one position later (TRL's last PPOTrainer and the N+ details,
//                     sequence_lengths_p1); the values there are kept, so the critic's value at that
//                     position (read from the hidden state of the last real token) learns the score and
//                     the last real token bootstraps from it. Values, reward whitening and the value loss
//                     cover that extra position (TRL's ~padding_mask_p1); the policy loss, the KL and the
//                     advantage whitening still cover the real tokens only (~padding_mask).
// A row as long as R (no room after it) gets the score at its last token either way, as in TRL.
import { gae } from './gae.js';
import { KlEstimator, klRows } from './kl.js';
import { ScoreAt, tokenRewards, valueMask, whitenRewards } from './rewards.js';
import { maskedWhiten } from './whiten.js';

export interface TargetInputs {
  /** [B] scores after clipping and the missing-EOS penalty. */
  scores: number[];
  /** [B][R] rollout logprobs of the policy and of the reference, and the rollout values (any value on padding). */
  logprobs: number[][];
  refLogprobs: number[][];
  values: number[][];
  /** [B][R] 1 on real response tokens. */
  mask: number[][];
  /** [B] real response tokens per row. */
  lengths: number[];
  beta: number;
}

export interface TargetSettings {
  klEstimator: KlEstimator;
  whitenRewards: boolean;
  gamma: number;
  lam: number;
  scoreAt: ScoreAt;
}

export interface Targets {
  /** [B][R] per-token KL to the reference (0 off the real tokens). */
  kl: number[][];
  /** [B][R] −β·KL (TRL's non_score_reward). */
  nonScore: number[][];
  /** [B][R] token rewards, whitened when asked. */
  rewards: number[][];
  /** [B][R] where the values count; equals mask with the score at the last token. */
  valueMask: number[][];
  /** [B][R] rollout values, 0 outside valueMask. */
  values: number[][];
  /** [B][R] advantages whitened over the real tokens, 0 elsewhere. */
  advantages: number[][];
  /** [B][R] GAE returns (advantage before whitening + value). */
  returns: number[][];
}

export function ppoTargets(x: TargetInputs, s: TargetSettings): Targets {
  const R = x.mask[0]?.length ?? 0;
  const vMask = s.scoreAt === 'last-token' ? x.mask : valueMask(x.lengths, R, s.scoreAt);
  const values = x.values.map((r, b) => r.map((v, t) => (vMask[b][t] ? v : 0)));
  const kl = klRows(x.logprobs, x.refLogprobs, x.mask, s.klEstimator);
  const tr = tokenRewards(x.scores, kl, x.lengths, x.beta, s.scoreAt);
  const rewards = s.whitenRewards ? whitenRewards(tr.rewards, vMask) : tr.rewards;
  const g = gae(rewards, values, s.gamma, s.lam);
  return { kl, nonScore: tr.nonScore, rewards, valueMask: vMask, values, advantages: maskedWhiten(g.advantages, x.mask), returns: g.returns };
}
