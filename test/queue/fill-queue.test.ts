// Filling the labeling queue from a model: tasks are stored batch by batch with their source and model
// names, each pass over the prompts draws its own samples, and a prompt file may mix text and JSONL lines.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openingPrompts, STARTER } from '../../data/starter.js';
import { Store } from '../../data/store.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { fillQueue, readTaskPrompts } from '../../queue/fill-queue.js';
import { queueIsEmpty } from '../../queue/starter-tasks.js';
import { tempDir, useBackend } from '../helpers.js';

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
    expect(readTaskPrompts(join(dir, 'p.txt'))).to.deep.equal(['Once upon a time', 'The ship', 'It was']);
    writeFileSync(join(dir, 'bad.jsonl'), '{"prompt": "a"}\n{"text": "b"}\n');
    expect(() => readTaskPrompts(join(dir, 'bad.jsonl'))).to.throw(`${join(dir, 'bad.jsonl')}:2: expected {"prompt": string}`);
  });
});
