// Filling the labeling queue from a model: tasks are stored batch by batch with their source and model
// names, each pass over the prompts draws its own samples, a prompt file may mix text and JSONL lines, and a
// prompt from a conversation keeps its messages on the task.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openingPrompts, STARTER } from '../../data/starter.js';
import { Store } from '../../data/store.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { fillQueue, readTaskPrompts } from '../../queue/fill-queue.js';
import { queueIsEmpty } from '../../queue/starter-tasks.js';
import { tempDir, useBackend } from '../helpers.js';
import { familyTokenizer } from '../lm/family-tokenizers.js';

describe('queue: sampled comparison tasks into a store', () => {
  before(useBackend);

  it('stores every batch as it is sampled, marked with its source and model, one seed per pass', async () => {
    const store = new Store(':memory:');
    const { model, tokenizer } = loadCheckpoint(STARTER);
    try {
      expect(queueIsEmpty(store)).to.equal(true);
      const prompts = openingPrompts().slice(0, 3);
      const seen: number[] = [];
      const n = await fillQueue(store, model, tokenizer!, prompts, { k: 2, maxNewTokens: 6, temperature: 1, topP: 1, seed: 5, batch: 2, passes: 2, source: 'test', model: 'starter', onBatch: (a) => seen.push(a) });
      expect(n).to.equal(6);
      expect(seen).to.deep.equal([2, 3, 5, 6]); // batches of 2 prompts, two passes
      expect(queueIsEmpty(store)).to.equal(false);
      expect(store.db.prepare('SELECT DISTINCT source FROM tasks').pluck().all()).to.deep.equal(['test']);
      expect(store.db.prepare('SELECT DISTINCT model FROM completions').pluck().all()).to.deep.equal(['starter']);
      // the two passes over a prompt sampled different completions (seed + pass · 100 003)
      const texts = store.db.prepare('SELECT c.text FROM completions c JOIN prompts p ON p.id = c.prompt_id WHERE p.text = ? ORDER BY c.id').pluck().all(prompts[0]) as string[];
      expect(texts).to.have.length(4);
      expect(texts.slice(0, 2)).to.not.deep.equal(texts.slice(2));
    } finally {
      model.dispose();
      store.close();
    }
  });

  it('reads prompts one a line or as JSONL {"prompt"}, and names a bad line', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'p.txt'), 'Once upon a time\n\n{"prompt": "The ship"}\n  \nIt was\n');
    expect(readTaskPrompts(join(dir, 'p.txt'))).to.deep.equal([{ prompt: 'Once upon a time' }, { prompt: 'The ship' }, { prompt: 'It was' }]);
    writeFileSync(join(dir, 'bad.txt'), '{"prompt": "a"}\n{"messages": [{"role": "user", "content": "b"}]}\n');
    expect(() => readTaskPrompts(join(dir, 'bad.txt'))).to.throw(`${join(dir, 'bad.txt')}:2: expected {"prompt": string} (a conversation needs a .jsonl file)`);
    writeFileSync(join(dir, 'bad.jsonl'), '{"prompt": "a"}\n{"text": "b"}\n');
    expect(() => readTaskPrompts(join(dir, 'bad.jsonl'))).to.throw(`${join(dir, 'bad.jsonl')}:2: "prompt" must be a string`);
  });

  it('a .jsonl conversation is rendered with the chat template and its task keeps the messages', async () => {
    const dir = tempDir();
    const file = join(dir, 'convo.jsonl');
    const messages = [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Call me' }];
    writeFileSync(file, [JSON.stringify({ messages }), '{"prompt": "The ship"}', JSON.stringify({ prompt: [{ role: 'tool', content: 'x' }, { role: 'user', content: 'It was' }] })].join('\n') + '\n');
    const prompts = readTaskPrompts(file, familyTokenizer('smollm2-instruct'));
    expect(prompts[0]).to.deep.equal({ prompt: '<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nCall me<|im_end|>\n<|im_start|>assistant\n', messages });
    expect(prompts[1]).to.deep.equal({ prompt: 'The ship' });
    expect(() => readTaskPrompts(file)).to.throw(/convo\.jsonl:1: a conversation needs the model's chat template/);
    const store = new Store(':memory:');
    const { model, tokenizer } = loadCheckpoint(STARTER);
    try {
      const n = await fillQueue(store, model, tokenizer!, [...prompts, 'A plain string'], { k: 2, maxNewTokens: 3, temperature: 1, topP: 1, seed: 1, batch: 2, source: 'test', model: 'starter' });
      expect(n).to.equal(4);
      const rows = store.db.prepare('SELECT p.text, t.messages FROM tasks t JOIN prompts p ON p.id = t.prompt_id ORDER BY t.id').all() as { text: string; messages: string | null }[];
      expect(rows.map((r) => r.text)).to.deep.equal([...prompts.map((p) => p.prompt), 'A plain string']); // the model was conditioned on the text
      // a role the page cannot show as a turn (tool) leaves that task a plain-text prompt
      expect(rows.map((r) => (r.messages === null ? null : JSON.parse(r.messages)))).to.deep.equal([messages, null, null, null]);
      expect(store.task(1)!.messages).to.deep.equal(messages);
    } finally {
      model.dispose();
      store.close();
    }
  });
});
