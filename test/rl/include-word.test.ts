// The shipped verifiable task (data/tasks/include-word): its reward on hand-made completions, through the
// reward-function loader as a trainer opens it, and its prompt files as rl/prompts.ts reads them.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '../../lm/tokenizer.js';
import { loadPromptRecords } from '../../rl/prompts.js';
import { openRewardFns } from '../../rl/reward-fns/open.js';
import { includesWord, promptWord, reward, score } from '../../data/tasks/include-word/reward.js';
import { loadRule } from '../../reward-models/rules.js';
import { makeWordTask, TASK_WORDS } from '../../scripts/make-word-task.js';

const TASK = join(import.meta.dirname, '..', '..', 'data', 'tasks', 'include-word');

describe('data/tasks/include-word', () => {
  it('counts the word when it stands whole, in any case', () => {
    expect(includesWord('It was a long time ago', 'time')).to.equal(true);
    expect(includesWord('TIME, and again', 'time')).to.equal(true);
    expect(includesWord("the time's up", 'time')).to.equal(true);
    expect(includesWord('a whale-ship', 'whale')).to.equal(true);
    expect(includesWord('at times', 'time')).to.equal(false);
    expect(includesWord('sometime soon', 'time')).to.equal(false);
    expect(includesWord('time2', 'time')).to.equal(false);
    expect(includesWord('überall', 'all')).to.equal(false); // a non-ASCII letter is part of the word
    expect(includesWord('nothing here', 'time')).to.equal(false);
    expect(includesWord('a+b or a.b', 'a.b')).to.equal(true); // the word is text, not a pattern
    expect(includesWord('axb', 'a.b')).to.equal(false);
  });

  it('rewards 1 or 0 per completion, null without a word, and logs the word column', async () => {
    const fns = await openRewardFns([join(TASK, 'reward.ts')], null);
    expect(fns.names).to.deep.equal(['include-word']);
    const s = await fns.score({
      prompts: ['p', 'p', 'p', 'p'],
      completions: [' and all the time', ' at times', ' Our people', ' anything'],
      completionIds: [[], [], [], []],
      columns: [{ word: 'time' }, { word: 'time' }, { word: 'our' }, {}],
      step: 1,
    });
    expect(s.perFunc).to.deep.equal([[1, 0, 1, null]]);
    expect(s.columns).to.deep.equal({ word: ['time', 'time', 'our', null] });
    fns.dispose();
    const logged: unknown[] = [];
    expect(() => reward({ completions: ['a'], columns: [{ answer: 'x' }], logColumn: (_n, v) => logged.push(v) })).to.throw(/no prompt of this batch has a "word" column/);
  });

  it('keeps a legacy score(prompt, completion) that reads the word from the prompt, for rlhf ppo', async () => {
    expect(promptWord('Use the word "time". Our boat')).to.equal('time');
    expect(promptWord('Our boat')).to.equal(null);
    expect(score('Use the word "time". Our boat', ' was on time')).to.equal(1);
    expect(score('Use the word "time". Our boat', ' was late')).to.equal(0);
    expect(() => score('Our boat', ' time')).to.throw(/does not start with Use the word/);
    const rule = await loadRule(join(TASK, 'reward.ts')); // what rlhf ppo --reward opens
    expect(await rule.score('Use the word "our". It was', ' Our ship')).to.equal(1);
  });

  it('ships prompts that rl/prompts.ts reads with their word column, rebuilt exactly by the script', () => {
    const train = loadPromptRecords(join(TASK, 'train.jsonl'));
    const test = loadPromptRecords(join(TASK, 'test.jsonl'));
    expect([train.length, test.length]).to.deep.equal([256, 64]);
    const tok = Tokenizer.load(join(TASK, '..', '..', 'models', 'starter', 'tokenizer.json'));
    const all = Object.values(TASK_WORDS).flat();
    for (const r of [...train, ...test]) {
      expect(Object.keys(r.columns)).to.deep.equal(['word']);
      const word = r.columns.word as string;
      expect(all).to.include(word);
      const [instruction, opening] = r.prompt.split(/(?<=\.) /);
      expect(instruction).to.equal(`Use the word "${word}".`);
      expect(promptWord(r.prompt)).to.equal(word);
      expect(includesWord(opening, word), r.prompt).to.equal(false); // the opening never shows the word in use
      expect(tok.encode(r.prompt).length).to.be.lessThan(128 - 64); // room for 64 new tokens in the starter's context
    }
    const openings = (rs: typeof train) => new Set(rs.map((r) => r.prompt.split(/(?<=\.) /)[1]));
    expect([...openings(test)].filter((o) => openings(train).has(o))).to.deep.equal([]);
    for (const w of all) {
      expect(train.filter((r) => r.columns.word === w)).to.have.length(16);
      expect(test.filter((r) => r.columns.word === w)).to.have.length(4);
    }
    const { train: t, test: e } = makeWordTask();
    const lines = (xs: object[]) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';
    expect(readFileSync(join(TASK, 'train.jsonl'), 'utf8')).to.equal(lines(t));
    expect(readFileSync(join(TASK, 'test.jsonl'), 'utf8')).to.equal(lines(e));
  });
});
