// The rollout metrics of GRPO and RLOO under TRL's names, and their sample tables.
//   reward, reward_std, rewards/<name>/mean, rewards/<name>/std: the combined reward and each function's,
//     over the completions that were scored (rl/combine-rewards.ts);
//   completions/{mean,min,max}_length over all completions, completions/{mean,min,max}_terminated_length
//     over those that ended (EOS or a stop string), completions/clipped_ratio the share that hit the limit.
// Reward functions' own metrics go in under their names; a gold rule, when set, as gold_reward.
import type { SampleRow } from '../data/metrics-sink.js';
import type { CombinedRewards } from './combine-rewards.js';
import type { RewardFnsScore } from './reward-fns/reward-fn.js';

const mean = (x: number[]) => (x.length ? x.reduce((a, b) => a + b, 0) / x.length : NaN);

/** Drop NaN values (a metric sink keeps them as null, which charts cannot draw). */
function finite(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));
}

export function rewardMetrics(r: CombinedRewards, names: string[], fnMetrics: Record<string, number>, gold: number[] | null): Record<string, number> {
  const out: Record<string, number> = { reward: r.reward, reward_std: r.rewardStd };
  names.forEach((n, f) => {
    out[`rewards/${n}/mean`] = r.perFunction[f].mean;
    out[`rewards/${n}/std`] = r.perFunction[f].std;
  });
  if (gold) out.gold_reward = mean(gold);
  return finite({ ...fnMetrics, ...out });
}

export function completionMetrics(lengths: number[], truncated: boolean[]): Record<string, number> {
  const ended = lengths.filter((_, i) => !truncated[i]);
  return finite({
    'completions/mean_length': mean(lengths),
    'completions/min_length': Math.min(...lengths),
    'completions/max_length': Math.max(...lengths),
    'completions/clipped_ratio': truncated.filter(Boolean).length / lengths.length,
    'completions/mean_terminated_length': ended.length ? mean(ended) : 0,
    'completions/min_terminated_length': ended.length ? Math.min(...ended) : 0,
    'completions/max_terminated_length': ended.length ? Math.max(...ended) : 0,
  });
}

/**
 * The first `rows` completions of the batch, one per group first (the first completion of each prompt),
 * with the combined reward as `score`, each function's reward and every logged column.
 */
export function sampleRows(
  prompts: string[], texts: string[], rewards: number[], names: string[], scored: RewardFnsScore, gold: number[] | null, rows: number, G: number,
): SampleRow[] {
  const order = [...prompts.keys()].sort((a, b) => (a % G) - (b % G) || a - b).slice(0, rows);
  return order.map((i) => {
    const columns: Record<string, string | number | boolean | null> = {};
    names.forEach((n, f) => (columns[n] = scored.perFunc[f][i]));
    for (const [k, v] of Object.entries(scored.columns)) columns[k] = v[i];
    return { prompt: prompts[i], completion: texts[i], score: Number.isNaN(rewards[i]) ? 0 : rewards[i], ...(gold ? { gold: gold[i] } : {}), columns };
  });
}
