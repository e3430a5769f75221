import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPrompts, promptIndices } from '../../rl/prompts.js';
import { tempDir } from '../helpers.js';

describe('rl/prompts', () => {
  it('reads .txt (blank lines skipped) and .jsonl, naming the file and line on errors', () => {
    const d = tempDir();
    writeFileSync(join(d, 'a.txt'), 'one\n\ntwo\r\n');
    expect(loadPrompts(join(d, 'a.txt'))).to.deep.equal(['one', 'two']);
    writeFileSync(join(d, 'b.jsonl'), '{"prompt":"x"}\n{"prompt":"y"}\n');
    expect(loadPrompts(join(d, 'b.jsonl'))).to.deep.equal(['x', 'y']);
    writeFileSync(join(d, 'c.jsonl'), '{"prompt":"x"}\n{"text":"y"}\n');
    expect(() => loadPrompts(join(d, 'c.jsonl'))).to.throw(/c\.jsonl:2: "prompt" must be a string/);
    expect(() => loadPrompts(join(d, 'none.txt'))).to.throw(/none\.txt: not found/);
  });

  it('each pass over the prompts is a permutation, and any window is the same however it is cut', () => {
    const all = promptIndices(5, 3, 0, 15);
    for (let p = 0; p < 3; p++) expect([...all.slice(p * 5, p * 5 + 5)].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    expect([...promptIndices(5, 3, 0, 7), ...promptIndices(5, 3, 7, 8)]).to.deep.equal(all);
    expect(promptIndices(5, 4, 0, 15)).to.not.deep.equal(all);
  });
});
