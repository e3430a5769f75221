// Reward functions as code, in the spirit of TRL's GRPOTrainer reward_funcs: a function gets the whole batch
// (prompts, completions, completion ids, the prompt file's other columns, the step) and returns one number
// or null ("no opinion") per completion. Several of them are scored one after another; combining them with
// the weights is the trainer's business (rl/combine-rewards.ts for GRPO/RLOO, rewardFnsAsSource for PPO).
//
// Extra output, TRL's log_extra / log_metric: a function may call ctx.logColumn(name, values) (one value
// per completion, a column of the samples table) and ctx.logMetric(name, value) (a scalar for this step),
// or return { rewards, columns, metrics } instead of a bare array. Both may be used; a name given twice,
// by one function or two, is an error, as is a column named like a reward function, prompt, completion or step.
//
// This file is the interface, its validation and the batch scoring; open.ts turns specs (the strings of a
// config) into functions, as-source.ts makes PPO's RewardSource of them.

/** What the trainer knows about the batch. Index i is one completion in every array. */
export interface RewardBatch {
  /** [N] the prompt text of each completion (repeated for a group's completions). */
  prompts: string[];
  /** [N] the completion text (cut at EOS or a stop string). */
  completions: string[];
  /** [N][T_i] the policy's sampled token ids (empty arrays where the caller has none). */
  completionIds: number[][];
  /** [N] the prompt file's other columns (e.g. `answer`), {} for a .txt prompt. */
  columns: Record<string, unknown>[];
  /** The training step (1-based; 0 where the caller does not say). */
  step: number;
}

/** The argument a reward function receives: the batch plus its two loggers. */
export interface RewardContext extends RewardBatch {
  /** A per-completion column of the samples table: one string, finite number, boolean or null per completion. */
  logColumn(name: string, values: readonly unknown[]): void;
  /** A scalar metric for this step (a finite number). */
  logMetric(name: string, value: number): void;
}

export type RewardValue = number | null;
export type CellValue = string | number | boolean | null;

export type RewardFnResult =
  | readonly RewardValue[]
  | { rewards: readonly RewardValue[]; columns?: Record<string, readonly unknown[]>; metrics?: Record<string, number> };

/** A batch reward function (sync or async). */
export type RewardFn = (ctx: RewardContext) => RewardFnResult | Promise<RewardFnResult>;

/** A reward function with the name its metrics go under (rewards/<name>/mean) and where it came from. */
export interface NamedRewardFn {
  name: string;
  /** Shown in errors: the spec it was opened from (`sentiment`, a module path, a reward-model folder). */
  source: string;
  fn: RewardFn;
  dispose?(): void;
}

export interface RewardFnsScore {
  /** [F][N] each function's reward per completion, in the order of `names`; null: no opinion. */
  perFunc: RewardValue[][];
  /** Extra samples-table columns, name → [N] values, from every function. */
  columns: Record<string, CellValue[]>;
  /** Extra scalar metrics of this batch, from every function. */
  metrics: Record<string, number>;
}

export interface RewardFns {
  /** One per function, unique (a repeated name gets _2, _3, ...). */
  readonly names: string[];
  score(batch: RewardBatch): Promise<RewardFnsScore>;
  dispose(): void;
}

const RESERVED_COLUMNS = ['prompt', 'completion', 'step'];

/** Throws for a reward batch whose arrays disagree in length. */
function checkBatch(b: RewardBatch): number {
  const N = b.completions.length;
  for (const k of ['prompts', 'completionIds', 'columns'] as const) {
    if (!Array.isArray(b[k]) || b[k].length !== N) throw new Error(`reward batch: ${k} has ${Array.isArray(b[k]) ? b[k].length : 'no'} entries for ${N} completions`);
  }
  if (!Number.isInteger(b.step) || b.step < 0) throw new Error(`reward batch: step must be an integer >= 0, got ${b.step}`);
  return N;
}

const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v) : Array.isArray(v) ? 'an array' : typeof v === 'object' && v ? 'an object' : String(v));

/** The rewards of one function's result, checked: N entries, each a finite number or null. */
export function checkRewards(at: string, rewards: unknown, N: number): RewardValue[] {
  if (!Array.isArray(rewards)) throw new Error(`${at} returned ${shown(rewards)}; expected an array of ${N} numbers or nulls, or { rewards, columns?, metrics? }`);
  if (rewards.length !== N) throw new Error(`${at} returned ${rewards.length} rewards for ${N} completions`);
  return rewards.map((v, i) => {
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${at} returned ${shown(v)} for completion ${i}; rewards must be finite numbers, or null for no opinion`);
    return v;
  });
}

function checkColumn(at: string, name: string, values: unknown, N: number): CellValue[] {
  if (typeof name !== 'string' || !name) throw new Error(`${at}: a column name must be a non-empty string`);
  if (!Array.isArray(values)) throw new Error(`${at}: column "${name}" must be an array of ${N} values, got ${shown(values)}`);
  if (values.length !== N) throw new Error(`${at}: column "${name}" has ${values.length} values for ${N} completions`);
  return values.map((v, i) => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) return v;
    throw new Error(`${at}: column "${name}" value ${i} is ${shown(v)}; cells are strings, finite numbers, booleans or null`);
  });
}

function checkMetric(at: string, name: string, value: unknown): number {
  if (typeof name !== 'string' || !name) throw new Error(`${at}: a metric name must be a non-empty string`);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${at}: metric "${name}" is ${shown(value)}; metrics must be finite numbers`);
  return value;
}

/** Names made unique in order: the second `length` becomes `length_2`. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n}_${k}`;
  });
}

/**
 * Several opened reward functions as one batch scorer. Functions run one after another (a reward model
 * on the same tfjs backend gains nothing from overlapping), each on its own copy of the batch's arrays,
 * so one cannot change what the next sees.
 */
export function rewardFnsFrom(fns: NamedRewardFn[]): RewardFns {
  if (!fns.length) throw new Error('no reward functions');
  const names = uniqueNames(fns.map((f) => f.name));
  return {
    names,
    async score(batch) {
      const N = checkBatch(batch);
      const perFunc: RewardValue[][] = [];
      const columns: Record<string, CellValue[]> = {};
      const metrics: Record<string, number> = {};
      for (let f = 0; f < fns.length; f++) {
        const at = `reward function ${names[f]} (${fns[f].source})`;
        const addColumn = (name: string, values: unknown) => {
          const v = checkColumn(at, name, values, N);
          if (RESERVED_COLUMNS.includes(name) || names.includes(name)) throw new Error(`${at}: column "${name}" is taken (${[...RESERVED_COLUMNS, ...names].join(', ')} are)`);
          if (name in columns) throw new Error(`${at}: column "${name}" was logged twice in one step`);
          columns[name] = v;
        };
        const addMetric = (name: string, value: unknown) => {
          const v = checkMetric(at, name, value);
          if (name in metrics) throw new Error(`${at}: metric "${name}" was logged twice in one step`);
          metrics[name] = v;
        };
        const ctx: RewardContext = {
          prompts: [...batch.prompts],
          completions: [...batch.completions],
          completionIds: batch.completionIds.map((ids) => [...ids]),
          columns: batch.columns.map((c) => ({ ...c })),
          step: batch.step,
          logColumn: addColumn,
          logMetric: addMetric,
        };
        let out: unknown;
        try {
          out = await fns[f].fn(ctx);
        } catch (e) {
          throw new Error(`${at} threw at step ${batch.step}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        }
        if (out && typeof out === 'object' && !Array.isArray(out)) {
          const r = out as { rewards?: unknown; columns?: unknown; metrics?: unknown };
          const extra = Object.keys(r).filter((k) => !['rewards', 'columns', 'metrics'].includes(k));
          if (extra.length) throw new Error(`${at} returned an object with ${extra.map((k) => `"${k}"`).join(', ')}; expected { rewards, columns?, metrics? }`);
          perFunc.push(checkRewards(at, r.rewards, N));
          for (const [k, x] of Object.entries(record(at, 'columns', r.columns))) addColumn(k, x);
          for (const [k, x] of Object.entries(record(at, 'metrics', r.metrics))) addMetric(k, x);
        } else perFunc.push(checkRewards(at, out, N));
      }
      return { perFunc, columns, metrics };
    },
    dispose() {
      for (const f of fns) f.dispose?.();
    },
  };
}

function record(at: string, field: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${at}: "${field}" must be an object of name → value, got ${shown(v)}`);
  return v as Record<string, unknown>;
}

/** rewardWeights: null, or one finite number per reward function. */
export function checkWeights(weights: readonly number[] | null, F: number): void {
  if (weights === null) return;
  if (!Array.isArray(weights) || weights.length !== F) throw new Error(`rewardWeights has ${Array.isArray(weights) ? weights.length : 'no'} entries for ${F} reward functions; give one weight per reward`);
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w)) throw new Error(`rewardWeights[${i}] is ${shown(w)}; weights must be finite numbers`);
  });
}
