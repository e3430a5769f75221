// The online human-feedback loop's part of a PPO config (`onlineFeedback`; null turns it off). While PPO
// runs, every `everySteps` iterations the current policy writes `k` completions for `prompts` prompts
// into the labeling queue; every `refreshEveryLabels` new preference labels a reward-model refresh
// trains (in a child process) on all labels so far, and PPO switches to it at the next step boundary.

export interface OnlineFeedbackConfig {
  /** The label store the loop sends tasks to and reads labels from. */
  db: string;
  /** Send new tasks every this many PPO iterations. */
  everySteps: number;
  /** Prompts per round; each becomes one task of k completions from the current policy. */
  prompts: number;
  /** Completions per task. */
  k: number;
  /** Most tokens per task completion. */
  maxNewTokens: number;
  /** Sampling temperature of task completions. */
  temperature: number;
  /** Start a reward-model refresh once this many new preference labels arrived since the last one. */
  refreshEveryLabels: number;
  /** Backbone of a refresh: `previous` continues from the reward model in use (when it is one), else this folder. */
  rmBase: string;
  /** Epochs of each refresh over all labels so far. */
  rmEpochs: number;
  /** Learning rate of each refresh. */
  rmLr: number;
  /** Fraction of prompts a refresh holds out (its validation accuracy is logged as online/rm_accuracy). */
  rmValFraction: number;
}

export const ONLINE_DEFAULTS: Omit<OnlineFeedbackConfig, 'db' | 'rmBase'> = {
  everySteps: 5, prompts: 32, k: 2, maxNewTokens: 16, temperature: 0.7, refreshEveryLabels: 64, rmEpochs: 2, rmLr: 1e-4, rmValFraction: 0.2,
};

/** Check an onlineFeedback object (defaults filled); errors name the field. */
export function resolveOnlineFeedback(raw: unknown, source: string, defaults: { rmBase: string }): OnlineFeedbackConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source}: onlineFeedback must be an object or null`);
  const known = new Set([...Object.keys(ONLINE_DEFAULTS), 'db', 'rmBase']);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new Error(`${source}: unknown field 'onlineFeedback.${k}'`);
  const c = { ...ONLINE_DEFAULTS, rmBase: defaults.rmBase, ...raw } as OnlineFeedbackConfig;
  const fail = (k: string, want: string): never => {
    throw new Error(`${source}: onlineFeedback.${k} must be ${want}, got ${JSON.stringify((c as unknown as Record<string, unknown>)[k])}`);
  };
  if (typeof c.db !== 'string' || !c.db) fail('db', 'a SQLite file (the label store)');
  if (typeof c.rmBase !== 'string' || !c.rmBase) fail('rmBase', '"previous" or a model folder');
  for (const k of ['everySteps', 'prompts', 'k', 'maxNewTokens', 'refreshEveryLabels', 'rmEpochs'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < (k === 'k' ? 2 : 1)) fail(k, `an integer >= ${k === 'k' ? 2 : 1}`);
  }
  if (c.k > 16) fail('k', 'at most 16');
  for (const [k, lo, hi] of [['temperature', 1e-6, 100], ['rmLr', 0, 10], ['rmValFraction', 0, 0.9]] as const) {
    if (typeof c[k] !== 'number' || !(c[k] >= lo && c[k] <= hi)) fail(k, `a number in [${lo}, ${hi}]`);
  }
  return c;
}
