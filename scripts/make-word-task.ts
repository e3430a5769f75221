// Builds data/tasks/include-word/{train,test}.jsonl: the shipped verifiable task. Each line is
//   {"prompt": "Use the word \"time\". Our boat was furnished", "word": "time"}
// a sentence opening of Moby-Dick or the State of the Union addresses (the text the starter model knows)
// after an instruction naming a word; the reward (data/tasks/include-word/reward.ts) is 1 when the
// completion contains that word. Each corpus's openings get words the starter writes after that corpus's
// text now and then (5-20% of 32-token completions at temperature 1, measured for the README), so a group
// of 8 completions often has one success to learn from and rarely all. An opening that already holds its
// word is kept for a later word, so the prompt never shows the word in use.
// Run: node --import tsx scripts/make-word-task.ts  (deterministic: the same files every time)
//      node --import tsx scripts/make-word-task.ts --base-rate data/models/starter [--n 16] [--tokens 32]
//        measures a model's reward on the test prompts (n completions each, temperature 1, top-k/top-p off,
//        seed 1) through the shipped reward function: the README's table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CorpusName, corpusText } from '../data/corpora.js';
import { mix } from '../lm/rng.js';
import { includesWord } from '../data/tasks/include-word/reward.js';

/** Words per corpus, chosen from the starter's measured rates (README.md of the task). */
export const TASK_WORDS: Record<CorpusName, string[]> = {
  'moby-dick': ['time', 'one', 'now', 'all', 'his', 'but', 'you', 'him'],
  sotu: ['government', 'people', 'must', 'our', 'will', 'have', 'this', 'which'],
};
/** Openings per corpus on each side: 16 train and 4 test prompts per word. */
const TRAIN_PER_CORPUS = 128;
const TEST_PER_CORPUS = 32;

export const wordPrompt = (word: string, opening: string) => `Use the word "${word}". ${opening}`;

/** Sentence openings (3 to 5 words, letters only) of a corpus, in a seeded order spread over the whole text. */
function openings(name: CorpusName): string[] {
  const sentences = corpusText(name).replace(/\s+/g, ' ').split(/(?<=[.!?])\s+(?=[A-Z])/);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of sentences) {
    const words = s.split(' ');
    if (words.length < 8 || !/^[A-Z][a-z]+$/.test(words[0])) continue;
    const opening = words.slice(0, 3 + (out.length % 3)).join(' ').replace(/,$/, '');
    if (!/^[A-Za-z ,']+$/.test(opening) || seen.has(opening)) continue;
    seen.add(opening);
    out.push(opening);
  }
  return out.map((o, i) => [mix(17, i), o] as const).sort((a, b) => a[0] - b[0]).map(([, o]) => o);
}

const holds = includesWord;

export interface WordTaskLine {
  prompt: string;
  word: string;
}

/** The task's lines: train and test, disjoint openings, every word equally often on each side. */
export function makeWordTask(): { train: WordTaskLine[]; test: WordTaskLine[] } {
  const train: WordTaskLine[] = [];
  const test: WordTaskLine[] = [];
  for (const name of ['moby-dick', 'sotu'] as const) {
    const words = TASK_WORDS[name];
    const ops = openings(name);
    let next = 0; // openings are used in order; one that holds its slot's word waits for a later slot
    const side = (n: number, into: WordTaskLine[]) => {
      const waiting: string[] = [];
      for (let i = 0; i < n; i++) {
        const word = words[i % words.length];
        const w = waiting.findIndex((o) => !holds(o, word));
        let opening: string;
        if (w >= 0) opening = waiting.splice(w, 1)[0];
        else {
          while (holds(ops[next], word)) waiting.push(ops[next++]);
          opening = ops[next++];
        }
        into.push({ prompt: wordPrompt(word, opening), word });
      }
    };
    side(TRAIN_PER_CORPUS, train);
    side(TEST_PER_CORPUS, test); // fresh openings only: the sides share none
  }
  return { train, test };
}

const TASK_DIR = join(import.meta.dirname, '..', 'data', 'tasks', 'include-word');

/** The mean reward of a model on the test prompts, overall, per corpus and per word, and GRPO's zero-std groups. */
async function baseRate(model: string, n: number, tokens: number): Promise<void> {
  const { initBackend } = await import('../backend/backend.js');
  const { loadCheckpoint } = await import('../lm/checkpoint.js');
  const { generate } = await import('../lm/generate.js');
  const { loadPromptRecords } = await import('../rl/prompts.js');
  const { openRewardFns } = await import('../rl/reward-fns/open.js');
  const info = await initBackend('auto', { quiet: true });
  const { model: m, tokenizer } = loadCheckpoint(model);
  const records = loadPromptRecords(join(TASK_DIR, 'test.jsonl'));
  const fns = await openRewardFns([join(TASK_DIR, 'reward.ts')], null);
  const rewards: number[] = [];
  // control: the same completions scored against another word of the list, one that was not asked for. A
  // policy that reads the prompt raises the reward more than the control; one that writes every listed
  // word raises both.
  const control: number[] = [];
  const other = (w: string) => {
    const list = Object.values(TASK_WORDS).find((l) => l.includes(w))!;
    return list[(list.indexOf(w) + 1) % list.length];
  };
  for (let i = 0; i < records.length; i += 4) {
    const batch = records.slice(i, i + 4).flatMap((r) => Array<typeof r>(n).fill(r));
    const out = await generate(m, tokenizer, batch.map((r) => r.prompt), { maxNewTokens: tokens, temperature: 1, topK: 0, topP: 1, seed: 1 + i });
    const s = await fns.score({ prompts: batch.map((r) => r.prompt), completions: out.map((c) => c.text), completionIds: out.map((c) => c.ids), columns: batch.map((r) => r.columns), step: 0 });
    rewards.push(...s.perFunc[0].map((x) => x ?? NaN));
    control.push(...out.map((c, j) => (includesWord(c.text, other(batch[j].columns.word as string)) ? 1 : 0)));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const byPrompt = records.map((_, p) => rewards.slice(p * n, (p + 1) * n));
  const row = (label: string, keep: (w: string) => boolean) => {
    const at = records.flatMap((r, p) => (keep(r.columns.word as string) ? Array.from({ length: n }, (_, j) => p * n + j) : []));
    console.log(`| ${label} | ${at.length} | ${pct(mean(at.map((i) => rewards[i])))} | ${pct(mean(at.map((i) => control[i])))} |`);
  };
  console.log(`${model}: ${records.length} test prompts x ${n} completions of ${tokens} tokens, temperature 1, seed 1, backend ${info.name}`);
  console.log('| prompts | completions | reward (the word asked for) | control (the next word of the list) |\n|---|---|---|---|');
  row('all', () => true);
  for (const name of ['moby-dick', 'sotu'] as const) {
    row(name, (w) => TASK_WORDS[name].includes(w));
    for (const w of TASK_WORDS[name]) row(`"${w}"`, (x) => x === w);
  }
  // groups of 8 completions of one prompt (GRPO's default): all 0 or all 1 teaches nothing
  const groups = byPrompt.flatMap((xs) => Array.from({ length: Math.floor(n / 8) }, (_, g) => xs.slice(8 * g, 8 * g + 8)));
  const flat = groups.filter((g) => g.every((x) => x === g[0])).length;
  console.log(`groups of 8 with every reward equal: ${flat} of ${groups.length} (${pct(flat / groups.length)})`);
  fns.dispose();
  m.dispose();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const flag = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
  if (args.includes('--base-rate')) await baseRate(flag('--base-rate', ''), Number(flag('--n', '16')), Number(flag('--tokens', '32')));
  else {
    mkdirSync(TASK_DIR, { recursive: true });
    const { train, test } = makeWordTask();
    for (const [f, lines] of [['train.jsonl', train], ['test.jsonl', test]] as const) {
      writeFileSync(join(TASK_DIR, f), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      console.log(`${lines.length} prompts -> ${join(TASK_DIR, f)}`);
    }
  }
}
