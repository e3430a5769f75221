// Reward modules written in TypeScript load wherever they lie. In a folder without a package.json of
// "type": "module" (an admin's registered folder, a temp folder) Node takes a .ts file for CommonJS, which
// tsx's ESM hook left untransformed ("Unexpected identifier" at its first type); rules.ts importModule
// loads it through tsImport as ES module source, with its named exports.
import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openRewardFn } from '../../rl/reward-fns/open.js';
import { loadRule } from '../../reward-models/rules.js';
import { tempDir } from '../helpers.js';

describe('reward-models: TypeScript reward modules outside an ES-module package', () => {
  it('loads a .ts module with types and named exports for PPO (score) and for GRPO (a batch function, or #name)', async () => {
    const dir = tempDir();
    for (let d = dir; d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'package.json')), d).to.equal(false); // no package decides its format
    const file = join(dir, 'typed.ts');
    writeFileSync(file, [
      'interface Batch { completions: string[] }',
      'export function score(_p: string, c: string): number { return c.length; }',
      'export function short({ completions }: Batch): number[] { return completions.map((c) => -c.length); }',
      'export default function reward({ completions }: Batch): (number | null)[] { return completions.map((c) => (c ? 1 : null)); }',
    ].join('\n'));
    const rule = await loadRule(file);
    expect(await rule.score('p', 'abc')).to.equal(3);
    const batch = { prompts: ['p', 'p'], completions: ['ab', ''], completionIds: [[1], []], columns: [{}, {}], step: 1, logColumn: () => {}, logMetric: () => {} };
    const byDefault = await openRewardFn(file);
    expect(byDefault.name).to.equal('typed');
    expect(await byDefault.fn(batch)).to.deep.equal([1, null]);
    const named = await openRewardFn(`${file}#short`);
    expect(named.name).to.equal('short');
    expect(await named.fn(batch)).to.deep.equal([-2, -0]);
  });
});
