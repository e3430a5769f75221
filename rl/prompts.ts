// Prompts for PPO rollouts and their seeded order. A .txt file holds one prompt per line (blank lines
// skipped); a .jsonl file holds {"prompt": "..."} objects. The order is a fresh seeded permutation per
// pass over the set, so the prompts of step s depend only on (seed, s): that is what makes resume exact.
import { existsSync, readFileSync } from 'node:fs';
import { permutation } from '../lm/rng.js';
import { jsonError } from '../lm/json-error.js';

export function loadPrompts(file: string): string[] {
  if (!existsSync(file)) throw new Error(`prompts ${file}: not found`);
  const text = readFileSync(file, 'utf8');
  let out: string[];
  if (file.endsWith('.jsonl')) {
    out = text.split('\n').flatMap((line, i) => {
      if (!line.trim()) return [];
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch (e) {
        throw new Error(`prompts ${file}:${i + 1}: ${jsonError(e)}`);
      }
      const p = (j as { prompt?: unknown }).prompt;
      if (typeof p !== 'string') throw new Error(`prompts ${file}:${i + 1}: "prompt" must be a string`);
      return [p];
    });
  } else out = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim());
  if (!out.length) throw new Error(`prompts ${file}: no prompts`);
  return out;
}

/** Indices of the prompts at stream positions [start, start + count). */
export function promptIndices(n: number, seed: number, start: number, count: number): number[] {
  const out: number[] = [];
  let pass = -1;
  let perm: number[] = [];
  for (let i = start; i < start + count; i++) {
    const e = Math.floor(i / n);
    if (e !== pass) {
      pass = e;
      perm = permutation(n, seed * 7919 + e + 1);
    }
    out.push(perm[i % n]);
  }
  return out;
}

/** A seed for (run seed, step, purpose) so each draw is independent and reproducible. */
export function subSeed(seed: number, step: number, purpose: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ Math.imul(purpose + 1, 0xc2b2ae35)) >>> 0;
}
