// The embedded defaults `rlhf start` and the demos run on: the shipped starter model (rebuilt by `npm run
// starter`) and the story openings its prompts come from. Paths only, so anything may name them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const STARTER = join(import.meta.dirname, 'models', 'starter');
export const OPENINGS = join(import.meta.dirname, 'prompts', 'openings.txt');

/** The openings, one prompt a line, in file order. */
export function openingPrompts(): string[] {
  return readFileSync(OPENINGS, 'utf8').split('\n').filter(Boolean);
}
