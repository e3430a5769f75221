// What a run config launched through the API may name: every path under the workspace's roots (symlinks
// followed), the same refusal whether or not a file outside exists, the run folder picked by the server,
// store paths pinned to the server's store, reward modules only from registered folders, and no config
// shape that breaks the server (prototype keys, deep nesting).
import { expect } from 'chai';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../../data/store.js';
import { checkShape, confineRunConfig, resolveWorkspace, Workspace } from '../../server/run-confine.js';
import { tempDir } from '../helpers.js';

describe('server: run config confinement', () => {
  let home: string;
  let ws: Workspace;
  const out = () => join(ws.runsDir, 'ppo-1');
  const refuse = (kind: string, config: Record<string, unknown>, w = ws): string => {
    try {
      confineRunConfig(kind, config, w, out());
    } catch (e) {
      expect(e).to.be.instanceOf(StoreError);
      expect((e as StoreError).code).to.equal('invalid');
      return (e as Error).message;
    }
    throw new Error(`accepted ${JSON.stringify(config)}`);
  };

  beforeEach(() => {
    home = realpathSync(tempDir());
    for (const d of ['data', 'models/m', 'runs/old-run', 'rewards', 'elsewhere']) mkdirSync(join(home, d), { recursive: true });
    writeFileSync(join(home, 'data', 'prompts.txt'), 'Once upon a time\n');
    writeFileSync(join(home, 'models', 'm', 'config.json'), '{}');
    writeFileSync(join(home, 'rewards', 'score.mjs'), 'export const score = () => 1;');
    writeFileSync(join(home, 'data', 'evil.mjs'), 'export const score = () => 1;');
    writeFileSync(join(home, 'elsewhere', 'secret.txt'), 'secret');
    writeFileSync(join(home, 'runs', 'old-run.log'), 'another run\'s log');
    writeFileSync(join(home, 'rlhf.db'), '');
    writeFileSync(join(home, 'other.db'), '');
    symlinkSync('/etc', join(home, 'data', 'etc'));
    symlinkSync(join(home, 'elsewhere', 'secret.txt'), join(home, 'data', 'looks-inside.txt'));
    ws = resolveWorkspace({ readRoots: [join(home, 'data'), join(home, 'models'), join(home, 'runs')], rewardModules: [join(home, 'rewards')], runsDir: join(home, 'runs'), storeFile: join(home, 'rlhf.db') });
  });

  it('resolves paths inside the roots to their real paths and picks the run folder', () => {
    const c = confineRunConfig('ppo', { model: join(home, 'models', 'm'), prompts: join(home, 'data', '..', 'data', 'prompts.txt'), reward: 'sentiment' }, ws, out());
    expect(c).to.deep.include({ model: join(home, 'models', 'm'), prompts: join(home, 'data', 'prompts.txt'), reward: 'sentiment', out: out() });
    const sft = confineRunConfig('sft', { data: ['corpus:moby-dick', join(home, 'data', 'prompts.txt')], init: { tokenizer: join(home, 'models', 'm') } }, ws, out());
    expect(sft.data).to.deep.equal(['corpus:moby-dick', join(home, 'data', 'prompts.txt')]);
  });

  it('refuses paths outside the roots the same way whether or not they exist', () => {
    const a = refuse('ppo', { prompts: '/etc/passwd' });
    const b = refuse('ppo', { prompts: '/etc/no-such-file-here' });
    expect(a).to.match(/^body\.config\.prompts: must be inside the server's workspace/);
    expect(a).to.equal(b); // no existence oracle
    expect(refuse('ppo', { model: join(home, 'elsewhere') })).to.match(/body\.config\.model/);
    expect(refuse('ppo', { model: join(home, 'no-such-folder') })).to.equal(refuse('ppo', { model: join(home, 'elsewhere') }));
    expect(refuse('sft', { data: [join(home, 'data', 'prompts.txt'), join(home, 'data', '..', 'elsewhere', 'secret.txt')] })).to.match(/^body\.config\.data\[1\]:/);
    expect(refuse('sft', { data: [join(home, 'data', 'prompts.txt')], init: { tokenizer: '/etc/hostname' } })).to.match(/^body\.config\.init\.tokenizer:/);
    expect(refuse('ppo', { prompts: '../../../../../../etc/passwd' })).to.match(/^body\.config\.prompts:/); // relative: from the server's working folder
  });

  it('follows symlinks out of the workspace and refuses them; /proc and /dev are never readable', () => {
    expect(refuse('ppo', { prompts: join(home, 'data', 'etc', 'passwd') })).to.match(/body\.config\.prompts/);
    expect(refuse('ppo', { prompts: join(home, 'data', 'looks-inside.txt') })).to.match(/body\.config\.prompts/);
    const everything = resolveWorkspace({ ...ws, readRoots: ['/'] });
    for (const p of ['/proc/self/environ', `/proc/${process.pid}/fd/1`, `/proc/${process.pid}/fd/2`, '/dev/zero', '/dev/stdout', '/sys/kernel']) expect(refuse('ppo', { prompts: p }, everything)).to.match(/body\.config\.prompts/);
    // nor the store and the admin token beside it, even when an admin opened the whole disk
    for (const f of ['rlhf.db', 'rlhf.db-wal', 'rlhf.admin-token']) expect(refuse('ppo', { prompts: join(home, f) }, everything)).to.match(/body\.config\.prompts/);
  });

  it("refuses the runs folder's own files (other runs' logs and launch configs) but not its run folders", () => {
    expect(refuse('ppo', { prompts: join(home, 'runs', 'old-run.log') })).to.match(/body\.config\.prompts/);
    expect(confineRunConfig('ppo', { model: join(home, 'runs', 'old-run') }, ws, out()).model).to.equal(join(home, 'runs', 'old-run'));
  });

  it('refuses a given out, and any store but the server\'s own', () => {
    expect(refuse('ppo', { out: '../x' })).to.match(/^body\.config\.out: the server picks the run folder/);
    expect(refuse('sft', { out: join(home, 'runs', 'mine') })).to.match(/body\.config\.out/);
    expect(refuse('ppo', { onlineFeedback: { db: join(home, 'other.db') } })).to.match(/^body\.config\.onlineFeedback\.db:/);
    expect(refuse('train-rm', { db: join(home, 'other.db') })).to.match(/^body\.config\.db:/);
    expect(confineRunConfig('ppo', { onlineFeedback: { everySteps: 2 } }, ws, out()).onlineFeedback).to.deep.equal({ everySteps: 2, db: join(home, 'rlhf.db') });
    expect(confineRunConfig('train-rm', { db: join(home, 'data', '..', 'rlhf.db') }, ws, out()).db).to.equal(join(home, 'rlhf.db'));
  });

  it('takes module rewards only from registered folders; reward-model folders from the workspace', () => {
    expect(confineRunConfig('ppo', { reward: join(home, 'rewards', 'score.mjs') }, ws, out()).reward).to.equal(join(home, 'rewards', 'score.mjs'));
    expect(confineRunConfig('ppo', { reward: join(home, 'models', 'm'), goldReward: 'length' }, ws, out())).to.deep.include({ reward: join(home, 'models', 'm'), goldReward: 'length' });
    expect(refuse('ppo', { reward: join(home, 'data', 'evil.mjs') })).to.match(/^body\.config\.reward: must be sentiment or length, a reward-model folder/);
    expect(refuse('ppo', { goldReward: '/tmp/anything.mjs' })).to.match(/^body\.config\.goldReward:/);
    expect(refuse('ppo', { goldReward: join(home, 'models', 'm') })).to.match(/^body\.config\.goldReward: must be sentiment or length, or a module/);
    expect(confineRunConfig('ppo', { goldReward: join(home, 'rewards', 'score.mjs') }, ws, out()).goldReward).to.equal(join(home, 'rewards', 'score.mjs'));
    expect(refuse('ppo', { reward: './evil' })).to.match(/^body\.config\.reward:/);
    expect(refuse('ppo', { reward: join(home, 'rewards') }, resolveWorkspace({ ...ws, readRoots: [join(home, 'data')] }))).to.match(/body\.config\.reward/);
  });

  it("GRPO and RLOO: each entry of the reward list confined like PPO's reward, file.ts#name split before the check", () => {
    for (const kind of ['grpo', 'rloo']) {
      const c = confineRunConfig(kind, {
        model: join(home, 'models', 'm'), prompts: join(home, 'data', 'prompts.txt'),
        reward: ['sentiment', join(home, 'models', 'm'), join(home, 'rewards', 'score.mjs'), `${join(home, 'rewards', '..', 'rewards', 'score.mjs')}#format_ok`], goldReward: 'length',
      }, ws, out());
      expect(c).to.deep.include({
        reward: ['sentiment', join(home, 'models', 'm'), join(home, 'rewards', 'score.mjs'), `${join(home, 'rewards', 'score.mjs')}#format_ok`], goldReward: 'length', out: out(),
      });
      // PPO's single string is a list of one
      expect(confineRunConfig(kind, { reward: join(home, 'rewards', 'score.mjs') }, ws, out()).reward).to.deep.equal([join(home, 'rewards', 'score.mjs')]);
      expect(refuse(kind, { reward: ['sentiment', join(home, 'data', 'evil.mjs')] })).to.match(/^body\.config\.reward\[1\]: must be sentiment or length, a reward-model folder inside the workspace, or a module in a folder an admin registered/);
      expect(refuse(kind, { reward: [`${join(home, 'data', 'evil.mjs')}#reward`] })).to.match(/^body\.config\.reward\[0\]: '#reward' names an export of a module, and the module must be a file in a folder an admin registered/);
      expect(refuse(kind, { reward: [`${join(home, 'rewards', 'score.mjs')}#1bad`] })).to.match(/^body\.config\.reward\[0\]: the export named after '#' must be a JavaScript identifier .*got "1bad"/);
      expect(refuse(kind, { reward: [`${join(home, 'rewards', 'score.mjs')}#`] })).to.match(/^body\.config\.reward\[0\]: the export named after '#'/);
      expect(refuse(kind, { reward: [`${join(home, 'rewards', 'score.mjs')}#a-b`] })).to.match(/must be a JavaScript identifier/);
      expect(refuse(kind, { reward: [`${join(home, 'rewards')}#x`] })).to.match(/^body\.config\.reward\[0\]: '#x' names an export/); // a folder has no exports
      expect(refuse(kind, { reward: ['/etc/passwd'] })).to.match(/^body\.config\.reward\[0\]:/);
      expect(refuse(kind, { reward: [7] })).to.match(/^body\.config\.reward\[0\]: must be a rule name/);
      expect(refuse(kind, { reward: { a: 1 } })).to.match(/^body\.config\.reward: must be a list of rewards/);
      expect(refuse(kind, { prompts: '/etc/passwd' })).to.match(/^body\.config\.prompts: must be inside the server's workspace/);
      expect(refuse(kind, { model: join(home, 'elsewhere') })).to.match(/^body\.config\.model:/);
      expect(refuse(kind, { goldReward: join(home, 'models', 'm') })).to.match(/^body\.config\.goldReward: must be sentiment or length, or a module/);
      expect(refuse(kind, { onlineFeedback: { db: join(home, 'other.db') } })).to.match(/^body\.config\.onlineFeedback\.db:/);
      expect(refuse(kind, { onlineFeedback: { rmBase: join(home, 'elsewhere') } })).to.match(/^body\.config\.onlineFeedback\.rmBase:/);
      expect(confineRunConfig(kind, { onlineFeedback: { everySteps: 2 } }, ws, out()).onlineFeedback).to.deep.equal({ everySteps: 2, db: join(home, 'rlhf.db') });
      expect(refuse(kind, { out: join(home, 'runs', 'x') })).to.match(/^body\.config\.out:/);
    }
    // PPO's reward stays one string, and '#' is no export syntax there (its loader takes the whole path)
    expect(refuse('ppo', { reward: `${join(home, 'rewards', 'score.mjs')}#score` })).to.match(/^body\.config\.reward: must be sentiment or length/);
    expect(refuse('ppo', { reward: ['sentiment'] })).to.match(/^body\.config\.reward: must be a rule name/);
  });

  it('refuses prototype keys, deep nesting and NUL bytes, naming the field', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { a: deep }; // JSON.stringify of it overflows the stack
    expect(() => JSON.stringify(deep)).to.throw(RangeError);
    expect(() => checkShape({ lora: deep })).to.throw(StoreError, /body\.config\.lora\.a\.a\.a\.a\.a\.a: nested deeper than/);
    expect(() => checkShape({ toString: 1 })).to.throw(/body\.config\.toString: unknown field/);
    expect(() => checkShape({ onlineFeedback: { constructor: 1 } })).to.throw(/body\.config\.onlineFeedback\.constructor: unknown field/);
    expect(() => checkShape(JSON.parse('{"__proto__": {"x": 1}}'))).to.throw(/body\.config\.__proto__: unknown field/);
    expect(() => checkShape({ prompts: 'a\0b' })).to.throw(/body\.config\.prompts: contains a NUL/);
    expect(() => checkShape({ stop: ['a', 'b'], lora: { rank: 8, targets: ['attn'] } })).not.to.throw();
  });
});
