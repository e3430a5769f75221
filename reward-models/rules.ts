// Programmatic scores: the rules simulated labelers follow and the gold rewards PPO can log or train on.
// A rule maps (prompt, completion) to a number; higher is better. Built-ins: `sentiment` (AFINN-165 sum
// through the `sentiment` package) and `length` (characters of the completion). Anything else is read as
// the path of a JS/TS module that exports `score(prompt, completion)` (sync or async).
import Sentiment from 'sentiment';
import { realpathSync } from 'node:fs';
import { delimiter, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export type ScoreFn = (prompt: string, completion: string) => number | Promise<number>;

export interface Rule {
  /** What the rule is called in logs and metrics: `sentiment`, `length`, or the module path. */
  name: string;
  score: ScoreFn;
}

const afinn = new Sentiment();

/** Sum of AFINN-165 valences of the completion's words (the prompt is ignored: it is the same for both sides). */
export function sentimentScore(completion: string): number {
  return afinn.analyze(completion).score;
}

export const BUILTIN_RULES: Record<string, Rule> = {
  sentiment: { name: 'sentiment', score: (_p, c) => sentimentScore(c) },
  length: { name: 'length', score: (_p, c) => c.length },
};

/** A built-in rule by name, or a module exporting `score`. Fails with one clear line otherwise. */
export async function loadRule(spec: string): Promise<Rule> {
  const builtin = BUILTIN_RULES[spec];
  if (builtin) return builtin;
  if (!/[./\\]/.test(spec)) throw new Error(`unknown rule "${spec}": use ${Object.keys(BUILTIN_RULES).join(', ')} or a path to a module exporting score(prompt, completion)`);
  const file = registeredModule(spec);
  let mod: { score?: unknown; default?: { score?: unknown } };
  try {
    mod = await importModule(file);
  } catch (e) {
    throw new Error(`cannot load rule module ${spec}: ${(e as Error).message.split('\n')[0]}`);
  }
  const fn = typeof mod.score === 'function' ? mod.score : typeof mod.default?.score === 'function' ? mod.default.score : undefined;
  if (!fn) throw new Error(`rule module ${spec} does not export a function score(prompt, completion)`);
  return { name: spec, score: fn as ScoreFn };
}

/**
 * Import a reward module's exports. A TypeScript file goes through tsx's tsImport wherever it lies: in a
 * folder without a package.json of "type": "module" (an admin's registered folder, say) Node takes a .ts
 * file for CommonJS, which the ESM hook bin/rlhf.js registers hands to Node untransformed ("Unexpected
 * identifier" at the first type). tsImport transforms it; loaded as CommonJS, its namespace's `default`
 * is module.exports, which esbuild marks __esModule and which holds the module's own exports, its
 * `default` included: those are what the loaders read.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (!/\.(ts|mts|tsx)$/.test(file)) return import(url);
  const { tsImport } = await import('tsx/esm/api');
  const mod = (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  const cjs = mod.default as Record<string, unknown> | undefined;
  return typeof cjs === 'object' && cjs !== null && cjs.__esModule === true ? cjs : mod;
}

/**
 * The module file to import. A run the server launched has RLHF_REWARD_MODULES set (the folders an admin
 * registered, maybe none): a module must then really lie in one of them, symlinks followed, checked here
 * where the import happens. A run started by hand (the variable unset) imports what its user names.
 */
export function registeredModule(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  const allowed = env.RLHF_REWARD_MODULES;
  if (allowed === undefined) return resolve(spec);
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return null;
    }
  };
  const file = real(spec);
  const roots = allowed.split(delimiter).filter(Boolean).map(real).filter((r): r is string => r !== null);
  if (!file || !roots.some((r) => file.startsWith(r.endsWith(sep) ? r : r + sep))) {
    throw new Error(`rule module ${spec}: not in a folder an admin registered for reward modules (rlhf serve --reward-modules DIR)`);
  }
  return file;
}

/** Scores a batch with a rule, checking that every score is a finite number. */
export async function scoreAll(rule: Rule, prompts: string[], completions: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < prompts.length; i++) {
    const s = Number(await rule.score(prompts[i], completions[i]));
    if (!Number.isFinite(s)) throw new Error(`rule ${rule.name} returned ${s} for completion ${i}; scores must be finite numbers`);
    out.push(s);
  }
  return out;
}
