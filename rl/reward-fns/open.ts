// Reward specs (the strings of a config's `reward` list) into batch reward functions:
//   `sentiment`, `length`     the built-in rules of reward-models/rules.ts, applied to each completion;
//   a folder                  a reward-model checkpoint, through rl/reward-source.ts's rewardModelSource;
//   a module path             a JS/TS module exporting a batch function: `default`, else `reward`, or the
//                             export named after '#' (`rewards.ts#format`); a module exporting only the
//                             legacy score(prompt, completion) is called once per completion.
// Modules are imported through rules.ts's registeredModule, so a run the server launched loads them only
// from the folders an admin registered (RLHF_REWARD_MODULES).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { BUILTIN_RULES, importModule, registeredModule, Rule, ScoreFn } from '../../reward-models/rules.js';
import { rewardModelSource } from '../reward-source.js';
import { checkWeights, NamedRewardFn, RewardFn, RewardFns, rewardFnsFrom } from './reward-fn.js';

export interface OpenRewardFnsOptions {
  /** Completions per reward-model forward (PPO's rewardBatchSize). */
  batchSize?: number;
}

/** A built-in rule as a batch function: the rule of each (prompt, completion). */
export function ruleRewardFn(rule: Rule): NamedRewardFn {
  return { name: rule.name, source: rule.name, fn: perCompletion(rule.score) };
}

/** A legacy score(prompt, completion) (sync or async) as a batch function, one call per completion. */
export function perCompletion(score: ScoreFn): RewardFn {
  return async ({ prompts, completions }) => {
    const out: (number | null)[] = [];
    for (let i = 0; i < completions.length; i++) out.push(await score(prompts[i], completions[i]));
    return out;
  };
}

/** A reward-model folder as a batch function (its own tokenizer: it reads the text, not the ids). */
export async function rewardModelFn(dir: string, batchSize = 16): Promise<NamedRewardFn> {
  if (!existsSync(join(dir, 'config.json'))) throw new Error(`reward ${dir}: a folder must be a reward-model checkpoint (no config.json)`);
  const src = await rewardModelSource(dir, batchSize);
  // TRL names a model reward after the last part of its path
  return { name: basename(dir.replace(/[/\\]+$/, '')), source: src.name, fn: ({ prompts, completions }) => src.score(prompts, completions), dispose: () => src.dispose?.() };
}

/** `file#name` → [file, name]; a '#' not followed by an identifier is part of the file name. */
export function splitExport(spec: string): [string, string | null] {
  const m = /^(.*)#([A-Za-z_$][\w$]*)$/.exec(spec);
  return m ? [m[1], m[2]] : [spec, null];
}

/**
 * What a module's reward is called (the export named after '#' is called that): the function's own name
 * unless it is a generic one; else the file's name, or its folder's for reward.ts / rewards.ts / index.ts
 * (data/tasks/include-word/reward.ts → include-word).
 */
function moduleRewardName(file: string, fnName: string): string {
  if (fnName && !['default', 'reward', 'score', 'anonymous'].includes(fnName)) return fnName;
  const stem = basename(file, extname(file));
  return ['reward', 'rewards', 'index'].includes(stem) ? basename(dirname(file)) : stem;
}

/** A module spec as a batch reward function. */
export async function moduleRewardFn(spec: string): Promise<NamedRewardFn> {
  const [path, exportName] = splitExport(spec);
  const file = registeredModule(path); // refuses, before importing, a module outside the registered folders
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file);
  } catch (e) {
    throw new Error(`cannot load reward module ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const isFn = (v: unknown): v is (...a: unknown[]) => unknown => typeof v === 'function';
  if (exportName) {
    const fn = mod[exportName];
    if (!isFn(fn)) throw new Error(`reward module ${path}: export "${exportName}" is ${fn === undefined ? 'missing' : `a ${typeof fn}, not a function`}`);
    return { name: exportName, source: spec, fn: fn as RewardFn };
  }
  const batch = isFn(mod.default) ? mod.default : isFn(mod.reward) ? mod.reward : null;
  if (batch) return { name: moduleRewardName(path, batch.name), source: spec, fn: batch as RewardFn };
  const legacy = mod.score ?? (mod.default as { score?: unknown } | undefined)?.score;
  if (isFn(legacy)) return { name: moduleRewardName(path, ''), source: spec, fn: perCompletion(legacy as ScoreFn) };
  throw new Error(`reward module ${path} exports no reward function: export default (or "reward") a function of the batch, name one with ${path}#name, or export score(prompt, completion)`);
}

/** One spec: a built-in rule, a reward-model folder, or a module (see the top of this file). */
export async function openRewardFn(spec: string, opts: OpenRewardFnsOptions = {}): Promise<NamedRewardFn> {
  if (typeof spec !== 'string' || !spec) throw new Error('a reward must be a rule name, a reward-model folder or a module path');
  const rule = BUILTIN_RULES[spec];
  if (rule) return ruleRewardFn(rule);
  if (existsSync(spec) && statSync(spec).isDirectory()) return rewardModelFn(spec, opts.batchSize);
  if (!/[./\\]/.test(spec)) throw new Error(`unknown reward "${spec}": use ${Object.keys(BUILTIN_RULES).join(', ')}, a reward-model folder, or a path to a module exporting a reward function`);
  return moduleRewardFn(spec);
}

/**
 * Open every spec, in order (names follow: rewards/<name>/... in the metrics). weights is checked here
 * (one finite number per spec, or null) though only the trainer applies it. If one spec fails, those
 * already opened are disposed.
 */
export async function openRewardFns(specs: string[], weights: number[] | null, opts: OpenRewardFnsOptions = {}): Promise<RewardFns> {
  if (!Array.isArray(specs) || !specs.length) throw new Error('reward: give at least one reward');
  checkWeights(weights, specs.length);
  const opened: NamedRewardFn[] = [];
  try {
    for (const s of specs) opened.push(await openRewardFn(s, opts));
  } catch (e) {
    for (const f of opened) f.dispose?.();
    throw e;
  }
  return rewardFnsFrom(opened);
}
