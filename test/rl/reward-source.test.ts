import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRewardSource } from '../../rl/reward-source.js';
import { tempDir } from '../helpers.js';

describe('rl/reward-source', () => {
  it('built-in sentiment scores text (AFINN sum of the completion)', async () => {
    const s = await openRewardSource('sentiment');
    expect(s.name).to.equal('sentiment');
    const [good, bad] = await s.score(['x', 'x'], [' a good and happy day', ' a terrible, awful day']);
    expect(good).to.equal(6); // AFINN-165: good +3, happy +3
    expect(bad).to.be.lessThan(0);
  });

  it('a module exporting score(prompt, completion), sync or async', async () => {
    const f = join(tempDir(), 'reward.mjs');
    writeFileSync(f, 'export async function score(prompt, completion) { return completion.length - prompt.length; }\n');
    const s = await openRewardSource(f);
    expect(await s.score(['ab', 'a'], ['abcd', 'a'])).to.deep.equal([2, 0]);
  });

  it('a module returning a non-number fails naming the module and completion', async () => {
    const f = join(tempDir(), 'bad.mjs');
    writeFileSync(f, 'export function score() { return "high"; }\n');
    const s = await openRewardSource(f);
    let msg = '';
    await s.score(['p'], ['c']).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/bad\.mjs returned NaN for completion 0/);
  });

  it('a folder must be a reward-model checkpoint', async () => {
    const d = join(tempDir(), 'not-a-model');
    mkdirSync(d);
    let msg = '';
    await openRewardSource(d).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/not-a-model: a folder must be a reward-model checkpoint/);
  });

  it('an unknown name says what is allowed', async () => {
    let msg = '';
    await openRewardSource('happiness').catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/unknown rule "happiness"/);
  });
});
