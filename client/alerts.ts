// The alerts the dashboard raises about a run, as pure functions of its series (tested without a browser):
// KL above a threshold, entropy collapse, the optimised reward rising while the gold reward falls (reward
// hacking: the policy found what the reward model likes and the task does not), and a stop on a NaN.
// Each detector looks at the run's own metric names: PPO's objective/* (TRL's PPOTrainer), GRPO's and
// RLOO's bare names (kl, entropy, reward, gold_reward), DPO's entropy.

/** A series as the dashboard holds it: in step order, null where a value was not finite. */
export interface Series {
  step: number[];
  value: (number | null)[];
}

export type AlertKind = 'kl' | 'entropy-collapse' | 'reward-hacking' | 'nan';

export interface Alert {
  kind: AlertKind;
  /** The step it refers to (the latest one it saw), or null for a run's stop. */
  step: number | null;
  message: string;
}

export const KL_NAMES = ['objective/kl', 'kl'];
export const ENTROPY_NAMES = ['objective/entropy', 'entropy'];
export const REWARD_NAMES = ['objective/scores', 'reward'];
export const GOLD_NAMES = ['objective/gold_scores', 'gold_reward'];

const fmt = (v: number) => String(Number(v.toPrecision(3)));

/** The finite points of a series, as [step, value] pairs. */
function finitePoints(s: Series): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < s.step.length; i++) {
    const v = s.value[i];
    if (v !== null && Number.isFinite(v)) out.push([s.step[i], v]);
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
};

/**
 * KL above `threshold` at the latest step. The message also names the step where the current stretch
 * above it began, so a long drift reads differently from a spike.
 */
export function klAbove(name: string, s: Series, threshold: number): Alert | null {
  const pts = finitePoints(s);
  const last = pts.at(-1);
  if (!last || !(last[1] > threshold)) return null;
  let i = pts.length - 1;
  while (i > 0 && pts[i - 1][1] > threshold) i--;
  const since = pts[i][0] === last[0] ? '' : ` (above it since step ${pts[i][0]})`;
  return { kind: 'kl', step: last[0], message: `${name} is ${fmt(last[1])} at step ${last[0]}, above ${fmt(threshold)}${since}` };
}

/**
 * Entropy collapse: the mean of the latest `window` points has fallen below `fraction` of the mean of the
 * first `window` (the policy has become nearly deterministic: it stops exploring). Needs 2 × window points.
 */
export function entropyCollapse(name: string, s: Series, o: { fraction?: number; window?: number } = {}): Alert | null {
  const fraction = o.fraction ?? 0.1;
  const window = o.window ?? 5;
  const pts = finitePoints(s);
  if (pts.length < 2 * window) return null;
  const start = mean(pts.slice(0, window).map((p) => p[1]));
  const now = mean(pts.slice(-window).map((p) => p[1]));
  if (!(start > 0) || now >= fraction * start) return null;
  const step = pts.at(-1)![0];
  return { kind: 'entropy-collapse', step, message: `${name} collapsed: ${fmt(start)} at the start, ${fmt(now)} by step ${step} (${Math.round((100 * now) / start)}%)` };
}

/**
 * Reward hacking: over the latest 2 × window steps both series have, the optimised reward's later half is
 * above its earlier half by more than `minSd` of its standard deviation over those steps, while the gold
 * reward's is below by more than `minSd` of its own. With a window of 10, noise alone passes one test about
 * 1 time in 150 (simulated), and both together fewer than 1 in 10,000. Needs at least 8 shared steps.
 */
export function rewardHacking(reward: { name: string; s: Series }, gold: { name: string; s: Series }, o: { window?: number; minSd?: number } = {}): Alert | null {
  const window = o.window ?? 10;
  const minSd = o.minSd ?? 1;
  const goldAt = new Map(finitePoints(gold.s));
  const both = finitePoints(reward.s).filter(([step]) => goldAt.has(step));
  const half = Math.min(window, Math.floor(both.length / 2));
  if (half < 4) return null;
  const recent = both.slice(-2 * half);
  const shift = (vals: number[]) => {
    const spread = sd(vals);
    return spread > 0 ? (mean(vals.slice(half)) - mean(vals.slice(0, half))) / spread : 0;
  };
  const up = shift(recent.map((p) => p[1]));
  const down = shift(recent.map(([step]) => goldAt.get(step)!));
  if (!(up > minSd && down < -minSd)) return null;
  const [from, to] = [recent[0][0], recent.at(-1)![0]];
  return {
    kind: 'reward-hacking', step: to,
    message: `${reward.name} rose ${fmt(up)} sd while ${gold.name} fell ${fmt(-down)} sd over steps ${from}–${to}: the policy may be hacking the reward`,
  };
}

/** A run stopped on a NaN or infinity: its error says so (the trainers' NonFiniteError messages do). */
export function nanStop(state: string, error: string | null): Alert | null {
  if (state !== 'failed' || !error || !/\b(NaN|-?Infinity|non-finite|not finite)\b/i.test(error)) return null;
  return { kind: 'nan', step: null, message: `stopped on a non-finite value: ${error}` };
}

/** A metric whose latest value is not finite (stored as null). */
export function nanMetric(name: string, s: Series): Alert | null {
  const n = s.value.length;
  if (!n || s.value[n - 1] !== null) return null;
  return { kind: 'nan', step: s.step[n - 1], message: `${name} is NaN or infinite at step ${s.step[n - 1]}` };
}

const first = (series: Record<string, Series>, names: string[]) => names.find((n) => Object.hasOwn(series, n));

/** Every alert for one run: its stop, non-finite metrics, KL, entropy and reward hacking. */
export function runAlerts(run: { state: string; error: string | null }, series: Record<string, Series>, o: { klMax: number }): Alert[] {
  const out: (Alert | null)[] = [nanStop(run.state, run.error)];
  for (const [name, s] of Object.entries(series)) out.push(nanMetric(name, s));
  const kl = first(series, KL_NAMES);
  if (kl) out.push(klAbove(kl, series[kl], o.klMax));
  const ent = first(series, ENTROPY_NAMES);
  if (ent) out.push(entropyCollapse(ent, series[ent]));
  const reward = first(series, REWARD_NAMES);
  const gold = first(series, GOLD_NAMES);
  if (reward && gold) out.push(rewardHacking({ name: reward, s: series[reward] }, { name: gold, s: series[gold] }));
  return out.filter((a): a is Alert => a !== null);
}
