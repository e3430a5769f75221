// Rule modules: a run the server launched (RLHF_REWARD_MODULES set, maybe empty) imports a module only from
// a registered folder, symlinks followed, checked where the import happens; a run started by hand imports
// what its user names. And a PPO config refuses prototype keys as unknown fields.
import { expect } from 'chai';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadRule, registeredModule } from '../../reward-models/rules.js';
import { resolvePpoConfig } from '../../rl/ppo-config.js';
import { tempDir } from '../helpers.js';

describe('reward-models: rule modules and who may import them', () => {
  let dir: string;
  beforeEach(() => {
    dir = realpathSync(tempDir());
    mkdirSync(join(dir, 'registered'));
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'registered', 'ok.mjs'), 'export const score = () => 7;\n');
    writeFileSync(join(dir, 'other', 'evil.mjs'), `globalThis.__evilRan = true;\nexport const score = () => 0;\n`);
    symlinkSync(join(dir, 'other', 'evil.mjs'), join(dir, 'registered', 'link.mjs'));
  });

  it('imports only from registered folders when the server set RLHF_REWARD_MODULES', () => {
    const env = { RLHF_REWARD_MODULES: [join(dir, 'registered'), '/no/such/folder'].join(delimiter) };
    expect(registeredModule(join(dir, 'registered', 'ok.mjs'), env)).to.equal(join(dir, 'registered', 'ok.mjs'));
    expect(() => registeredModule(join(dir, 'other', 'evil.mjs'), env)).to.throw(/not in a folder an admin registered/);
    expect(() => registeredModule(join(dir, 'registered', 'link.mjs'), env)).to.throw(/not in a folder an admin registered/); // a symlink out
    expect(() => registeredModule(join(dir, 'registered', '..', 'other', 'evil.mjs'), env)).to.throw(/not in a folder/);
    expect(() => registeredModule(join(dir, 'registered', 'ok.mjs'), { RLHF_REWARD_MODULES: '' })).to.throw(/not in a folder/); // none registered
    expect(registeredModule(join(dir, 'other', 'evil.mjs'), {})).to.equal(join(dir, 'other', 'evil.mjs')); // the CLI trusts its user
  });

  it('refuses before importing, so an unregistered module never runs', async () => {
    const saved = process.env.RLHF_REWARD_MODULES;
    process.env.RLHF_REWARD_MODULES = join(dir, 'registered');
    try {
      await loadRule(join(dir, 'other', 'evil.mjs')).then(() => expect.fail('imported'), (e: Error) => expect(e.message).to.match(/not in a folder an admin registered/));
      expect((globalThis as { __evilRan?: boolean }).__evilRan).to.equal(undefined);
      expect(await (await loadRule(join(dir, 'registered', 'ok.mjs'))).score('p', 'c')).to.equal(7);
    } finally {
      if (saved === undefined) delete process.env.RLHF_REWARD_MODULES;
      else process.env.RLHF_REWARD_MODULES = saved;
    }
  });

  it('a PPO config refuses toString, constructor and __proto__ as unknown fields', () => {
    const base = { model: 'm', prompts: 'p.txt', reward: 'sentiment', out: 'o' };
    for (const k of ['toString', 'constructor', 'hasOwnProperty']) expect(() => resolvePpoConfig({ ...base, [k]: 1 })).to.throw(new RegExp(`unknown field '${k}'`));
    expect(() => resolvePpoConfig(JSON.parse(`{"model":"m","prompts":"p","reward":"sentiment","out":"o","__proto__":1}`))).to.throw(/unknown field '__proto__'/);
  });
});
