// Gold questions: tasks whose best answer is known, mixed into the queue to score labelers (server/stats.ts).
// They are written as preference pairs, JSONL {"prompt","chosen","rejected"}; "chosen" is the known answer.
import { readFileSync } from 'node:fs';
import { parsePreference } from './prefs.js';
import type { NewTask } from './store-types.js';

/** The file's pairs as tasks with gold [0, 1] (chosen first); a bad line is named by file and line number. */
export function readGoldQuestions(file: string): NewTask[] {
  return readFileSync(file, 'utf8').split('\n').map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim()).map(([l, n]) => {
    const p = parsePreference(l, file, n);
    return { prompt: p.prompt, completions: [{ text: p.chosen }, { text: p.rejected }], gold: [0, 1], source: 'gold' };
  });
}
