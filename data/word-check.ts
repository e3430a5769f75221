// How much of a text is made of real English words: the share of its alphabetic words found in a
// word list (an-array-of-english-words, 275k entries). Used to report the starter model's quality.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let words: Set<string> | null = null;

function wordSet(): Set<string> {
  words ??= new Set(require('an-array-of-english-words') as string[]);
  return words;
}

export interface WordStats {
  words: number;
  real: number;
  fraction: number;
}

/** Alphabetic runs (apostrophes inside allowed), lowercased; a word counts as real if the list has it (or its form without 's). */
export function realWordFraction(texts: string[]): WordStats {
  const set = wordSet();
  let n = 0;
  let real = 0;
  for (const t of texts) {
    for (const m of t.matchAll(/[A-Za-z]+(?:'[A-Za-z]+)?/g)) {
      const w = m[0].toLowerCase();
      n++;
      if (set.has(w) || set.has(w.replace(/'s$/, '')) || set.has(w.replace(/'/g, ''))) real++;
    }
  }
  return { words: n, real, fraction: n ? real / n : 0 };
}
