// From a sequence score to per-token rewards, as in TRL and the N+ implementation details:
// the score is added at the last real token (or, TRL's last convention, at the position after it),
// every token pays −β·KL, a completion that never ended (no EOS or stop string within the budget) loses
// a fixed penalty, and scores may be clipped or the token rewards whitened.
import { maskedWhiten } from './whiten.js';

/** Where the sequence score lands: the last real response token, or the position after it (TRL's sequence_lengths_p1). */
export type ScoreAt = 'last-token' | 'after-last-token';

/** The text before the first stop string (the whole text when none occurs). */
export function truncateAtStop(text: string, stops: string[]): string {
  let at = text.length;
  for (const s of stops) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < at) at = i;
  }
  return text.slice(0, at);
}

/**
 * How many of a completion's tokens to keep when the tokens from the one that completes a stop string on
 * are masked: the index of the first token whose prefix decodes to text holding a stop string (ids.length
 * when none does). At least 1: a completion whose first token completes a stop string keeps that token,
 * since the score needs a position.
 */
export function stopTokenCut(ids: number[], decode: (ids: number[]) => string, stops: string[]): number {
  const live = stops.filter((s) => s);
  if (!live.length) return ids.length;
  for (let k = 0; k < ids.length; k++) {
    const text = decode(ids.slice(0, k + 1));
    if (live.some((s) => text.includes(s))) return Math.max(1, k);
  }
  return ids.length;
}

/** scores[i] − penalty for every completion that did not end (finished[i] false). */
export function applyMissingEosPenalty(scores: number[], finished: boolean[], penalty: number): number[] {
  return scores.map((s, i) => (finished[i] ? s : s - penalty));
}

/** Clip each score to [−c, c]; c = 0 leaves them alone. */
export function clipScores(scores: number[], c: number): number[] {
  return c > 0 ? scores.map((s) => Math.max(-c, Math.min(c, s))) : scores.slice();
}

export interface TokenRewards {
  /** [B][T]: −β·kl everywhere real, plus the score at the last real token; 0 on padding. */
  rewards: number[][];
  /** [B][T]: −β·kl alone (TRL's non_score_reward). */
  nonScore: number[][];
}

/**
 * The index the score of a row with `length` real tokens lands on, in rows of width R. After the last token
 * it is TRL's `where(sequence_lengths_p1 < R, sequence_lengths_p1, sequence_lengths)`: the position after the
 * last real token, or the last token itself when the row fills all R positions.
 */
export function scoreIndex(length: number, R: number, at: ScoreAt = 'last-token'): number {
  return at === 'after-last-token' && length < R ? length : length - 1;
}

/**
 * [B][R]: 1 where the values count (GAE, value loss, reward whitening). With the score after the last token
 * that position is covered too (TRL's ~padding_mask_p1); otherwise the real tokens alone.
 */
export function valueMask(lengths: number[], R: number, at: ScoreAt = 'last-token'): number[][] {
  return lengths.map((n) => Array.from({ length: R }, (_, t) => (t <= scoreIndex(n, R, at) ? 1 : 0)));
}

/**
 * lengths[b] is the number of real response tokens of row b (at least 1); rows have the width of kl's rows.
 * `at` places the score (see scoreIndex); the KL penalty is on real tokens only either way.
 */
export function tokenRewards(scores: number[], kl: number[][], lengths: number[], beta: number, at: ScoreAt = 'last-token'): TokenRewards {
  const nonScore = kl.map((row, b) => row.map((k, t) => (t < lengths[b] ? -beta * k : 0)));
  const rewards = nonScore.map((row, b) => {
    const r = row.slice();
    if (lengths[b] < 1) throw new Error(`row ${b}: a response needs at least one token`);
    r[scoreIndex(lengths[b], r.length, at)] += scores[b];
    return r;
  });
  return { rewards, nonScore };
}

/** Whiten token rewards over real positions without shifting their mean (TRL's whiten_rewards). */
export function whitenRewards(rewards: number[][], mask: number[][]): number[][] {
  return maskedWhiten(rewards, mask, false);
}
