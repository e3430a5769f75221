// The include-word task's reward (a batch reward function, rl/reward-fns/reward-fn.ts): 1 when the
// completion contains its prompt's word (the `word` column of train.jsonl / test.jsonl) as a whole word,
// case-insensitively, else 0. "Whole word": no letter or digit right before or after it, so "Time" and
// "time's" count for "time" but "times" and "sometime" do not. The word is logged as a column of the
// samples table. The file imports nothing, so an admin can copy it into a registered reward folder as is.
// It also exports the legacy per-completion score(prompt, completion), which reads the word from the prompt's
// instruction, for trainers that pass no columns (rlhf ppo today); the batch function is what loaders prefer.

/** The part of the batch this reward reads (the full type is RewardContext in rl/reward-fns/reward-fn.ts). */
interface WordBatch {
  completions: string[];
  columns: Record<string, unknown>[];
  logColumn(name: string, values: readonly unknown[]): void;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether `text` holds `word` as a whole word, ignoring case. */
export function includesWord(text: string, word: string): boolean {
  return new RegExp(`(?<![\\p{L}\\p{N}])${escape(word)}(?![\\p{L}\\p{N}])`, 'iu').test(text);
}

/**
 * One reward per completion: 1 or 0, or null (no opinion) for a prompt without a `word` column, so the
 * task mixes with other prompt sets. A batch where no prompt has one is the wrong prompt file: an error.
 */
export function reward({ completions, columns, logColumn }: WordBatch): (number | null)[] {
  const words = columns.map((c) => (typeof c.word === 'string' && c.word.trim() ? c.word.trim() : null));
  if (completions.length && words.every((w) => w === null)) {
    throw new Error('no prompt of this batch has a "word" column; use the prompts of data/tasks/include-word');
  }
  logColumn('word', words);
  return completions.map((c, i) => (words[i] === null ? null : includesWord(c, words[i]!) ? 1 : 0));
}

/** The word a prompt of this task asks for: `Use the word "time". ...` → time. */
export function promptWord(prompt: string): string | null {
  return /^Use the word "([^"]+)"\./.exec(prompt)?.[1] ?? null;
}

/** The legacy form, 1 or 0 for one completion; a prompt that names no word is an error. */
export function score(prompt: string, completion: string): number {
  const word = promptWord(prompt);
  if (word === null) throw new Error(`the prompt does not start with Use the word "...": ${JSON.stringify(prompt.slice(0, 60))}`);
  return includesWord(completion, word) ? 1 : 0;
}

export default reward;
