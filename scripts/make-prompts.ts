// Builds data/prompts/openings.txt: 512 sentence openings (the first 3 to 5 words of a sentence) drawn
// from Moby-Dick and the State of the Union corpora, the text the starter model knows. Reward-model and
// PPO runs need hundreds of distinct prompts, so that a split by prompt leaves enough on both sides.
// Run: node --import tsx scripts/make-prompts.ts  (deterministic: same file every time)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { corpusText } from '../data/corpora.js';
import { mix } from '../lm/rng.js';

const picked = new Set<string>();
for (const name of ['moby-dick', 'sotu'] as const) {
  const sentences = corpusText(name).replace(/\s+/g, ' ').split(/(?<=[.!?])\s+(?=[A-Z])/);
  const candidates: string[] = [];
  for (const s of sentences) {
    const words = s.split(' ');
    if (words.length < 8 || !/^[A-Z][a-z]+$/.test(words[0])) continue;
    const n = 3 + (candidates.length % 3);
    const opening = words.slice(0, n).join(' ');
    if (/^[A-Za-z ,']+$/.test(opening)) candidates.push(opening.replace(/,$/, ''));
  }
  // A seeded choice spread over the whole corpus: 256 per corpus.
  const chosen = candidates.map((c, i) => [mix(7, i), c] as const).sort((a, b) => a[0] - b[0]);
  let n = 0;
  for (const [, c] of chosen) {
    if (n === 256) break;
    if (!picked.has(c)) {
      picked.add(c);
      n++;
    }
  }
}
const file = join(import.meta.dirname, '..', 'data', 'prompts', 'openings.txt');
writeFileSync(file, [...picked].join('\n') + '\n');
console.log(`${picked.size} prompts -> ${file}`);
