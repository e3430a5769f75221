// From a sequence score to per-token rewards, as in TRL and the N+ implementation details:
// the score is added at the last real token, every token pays −β·KL, a completion that never ended
// (no EOS or stop string within the budget) loses a fixed penalty, and scores may be clipped or
// the token rewards whitened.
import { maskedWhiten } from './whiten.js';

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

/** lengths[b] is the number of real response tokens of row b (at least 1). */
export function tokenRewards(scores: number[], kl: number[][], lengths: number[], beta: number): TokenRewards {
  const nonScore = kl.map((row, b) => row.map((k, t) => (t < lengths[b] ? -beta * k : 0)));
  const rewards = nonScore.map((row, b) => {
    const r = row.slice();
    if (lengths[b] < 1) throw new Error(`row ${b}: a response needs at least one token`);
    r[lengths[b] - 1] += scores[b];
    return r;
  });
  return { rewards, nonScore };
}

/** Whiten token rewards over real positions without shifting their mean (TRL's whiten_rewards). */
export function whitenRewards(rewards: number[][], mask: number[][]): number[][] {
  return maskedWhiten(rewards, mask, false);
}
