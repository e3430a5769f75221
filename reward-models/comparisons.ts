// Preference data for the reward model. One Comparison is one label: a prompt, its K completions, and
// either a ranking (best first) or a tie. A ranking of K gives all K(K-1)/2 ordered pairs and still counts
// as one example (InstructGPT), so a labeler's ranking of 4 does not weigh six times a pairwise choice.
// Skips never become comparisons. Sources: the label store (through its streaming full export) or JSONL
// in either the HH-RLHF pair format {"prompt","chosen","rejected"} or our full export format.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { exportLines, openReader } from '../data/export.js';
import { hash01, mix } from '../lm/rng.js';
import { jsonError } from '../lm/json-error.js';

export interface Comparison {
  prompt: string;
  completions: string[];
  /** Positions into `completions`, best first; null for a tie between all of them. */
  ranking: number[] | null;
  /** Extra required gap r(chosen) − r(rejected) for this example (Llama 2's margin); added to the config's margin. */
  margin?: number;
}

/** One ordered pair inside a comparison: winner beats loser, or (tie) they should score the same. */
export interface Pair {
  winner: number;
  loser: number;
  tie: boolean;
}

/** Every pair a comparison implies: K(K-1)/2 ordered pairs for a ranking, all unordered pairs for a tie. */
export function comparisonPairs(c: Comparison): Pair[] {
  const out: Pair[] = [];
  if (c.ranking) {
    for (let i = 0; i < c.ranking.length; i++) {
      for (let j = i + 1; j < c.ranking.length; j++) out.push({ winner: c.ranking[i], loser: c.ranking[j], tie: false });
    }
  } else {
    for (let i = 0; i < c.completions.length; i++) {
      for (let j = i + 1; j < c.completions.length; j++) out.push({ winner: i, loser: j, tie: true });
    }
  }
  return out;
}

function checkComparison(c: Comparison, where: string): Comparison {
  const K = c.completions.length;
  if (K < 2) throw new Error(`${where}: a comparison needs at least 2 completions, got ${K}`);
  if (c.ranking) {
    const seen = new Set(c.ranking);
    if (c.ranking.length < 2 || seen.size !== c.ranking.length || c.ranking.some((p) => !Number.isInteger(p) || p < 0 || p >= K)) {
      throw new Error(`${where}: ranking ${JSON.stringify(c.ranking)} must list distinct positions 0..${K - 1}`);
    }
  }
  if (c.margin !== undefined && !Number.isFinite(c.margin)) throw new Error(`${where}: margin must be a finite number`);
  return c;
}

/** Parse one JSONL line of either format; returns null for labels that carry no preference (skips). */
export function parseComparison(text: string, where: string): Comparison | null {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: ${jsonError(e)}`);
  }
  if (typeof r !== 'object' || r === null) throw new Error(`${where}: expected a JSON object`);
  if (typeof r.prompt !== 'string') throw new Error(`${where}: "prompt" must be a string`);
  const margin = r.margin === undefined ? undefined : Number(r.margin);
  if ('chosen' in r || 'rejected' in r) {
    if (typeof r.chosen !== 'string' || typeof r.rejected !== 'string') throw new Error(`${where}: "chosen" and "rejected" must be strings`);
    return checkComparison({ prompt: r.prompt, completions: [r.chosen, r.rejected], ranking: [0, 1], margin }, where);
  }
  if (!Array.isArray(r.completions) || r.completions.some((t) => typeof t !== 'string')) {
    throw new Error(`${where}: expected {"prompt","chosen","rejected"} or a full-export line with "completions" (strings) and "kind"`);
  }
  const completions = r.completions as string[];
  if (r.kind === 'skip') return null;
  if (r.kind === 'tie') return checkComparison({ prompt: r.prompt, completions, ranking: null, margin }, where);
  if (r.kind !== 'ranking' || !Array.isArray(r.ranking)) throw new Error(`${where}: "kind" must be ranking (with "ranking"), tie or skip`);
  return checkComparison({ prompt: r.prompt, completions, ranking: r.ranking as number[], margin }, where);
}

/** Read comparisons from a JSONL file (either format). */
export async function readComparisonsFile(file: string): Promise<Comparison[]> {
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  const out: Comparison[] = [];
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    n++;
    if (!line.trim()) continue;
    const c = parseComparison(line, `${file}:${n}`);
    if (c) out.push(c);
  }
  return out;
}

/** Read every label in a store through its full export (a read-only connection; writers are not blocked). */
export function readComparisonsDb(file: string): Comparison[] {
  if (!existsSync(file)) throw new Error(`${file}: not found`);
  const db = openReader(file);
  try {
    const out: Comparison[] = [];
    let n = 0;
    for (const line of exportLines(db, 'full')) {
      const c = parseComparison(line, `${file}: label ${++n}`);
      if (c) out.push(c);
    }
    return out;
  } finally {
    db.close();
  }
}

/** Train/validation split by a hash of the prompt: no prompt is on both sides, and the split is stable as data grows. */
export function splitByPrompt(cs: Comparison[], valFraction: number, seed = 0): { train: Comparison[]; val: Comparison[] } {
  const train: Comparison[] = [];
  const val: Comparison[] = [];
  for (const c of cs) (mix(seed, hash01(c.prompt) * 2 ** 32) / 2 ** 32 < valFraction ? val : train).push(c);
  return { train, val };
}
