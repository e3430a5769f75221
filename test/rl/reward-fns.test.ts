// Reward functions as code: the export forms a module may use, nulls, extra columns and metrics, the
// errors that name the module, the registered-folder rule, built-in rules, legacy score modules and reward
// models as batch functions, and the PPO adapter's weighted combination.
import { expect } from 'chai';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { RewardModel } from '../../reward-models/reward-model.js';
import { rewardFnsAsSource } from '../../rl/reward-fns/as-source.js';
import { openRewardFn, openRewardFns, splitExport } from '../../rl/reward-fns/open.js';
import { NamedRewardFn, RewardBatch, RewardFn, rewardFnsFrom } from '../../rl/reward-fns/reward-fn.js';
import { tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';

const batch = (completions: string[], over: Partial<RewardBatch> = {}): RewardBatch => ({
  prompts: completions.map(() => 'p'),
  completions,
  completionIds: completions.map((c) => [...c].map((ch) => ch.charCodeAt(0))),
  columns: completions.map(() => ({})),
  step: 3,
  ...over,
});

/** A module file with the given source; the folder name is `dir` under a fresh temp folder. */
function moduleFile(src: string, name = 'r.mjs', dir = 'mods'): string {
  const d = join(realpathSync(tempDir()), dir);
  mkdirSync(d, { recursive: true });
  const f = join(d, name);
  writeFileSync(f, src);
  return f;
}

const inline = (name: string, fn: RewardFn): NamedRewardFn => ({ name, source: 'test', fn });

async function failure(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => expect.fail('resolved'),
    (e: Error) => e.message,
  );
}

describe('rl/reward-fns', () => {
  describe('loading a module', () => {
    it('takes default, reward or a #named export, sync or async, and names it', async () => {
      const def = moduleFile('export default function lengthy({ completions }) { return completions.map((c) => c.length); }\n');
      const rew = moduleFile('export async function reward({ completions, step }) { return completions.map(() => step); }\n', 'reward.mjs', 'my-task');
      const named = moduleFile('export const a = ({ completions }) => completions.map(() => 1);\nexport function b({ prompts }) { return prompts.map((p) => p.length); }\nexport default () => [];\n');
      const b = batch(['ab', 'abcd']);
      const fd = await openRewardFn(def);
      expect([fd.name, await fd.fn({ ...b, logColumn() {}, logMetric() {} })]).to.deep.equal(['lengthy', [2, 4]]);
      const fns = await openRewardFns([def, rew, `${named}#b`, `${named}#a`], null);
      expect(fns.names).to.deep.equal(['lengthy', 'my-task', 'b', 'a']); // reward.mjs takes its folder's name
      expect((await fns.score(b)).perFunc).to.deep.equal([[2, 4], [3, 3], [1, 1], [1, 1]]);
      expect(splitExport('x/y.ts#fmt')).to.deep.equal(['x/y.ts', 'fmt']);
      expect(splitExport('x/a#b/y.ts')).to.deep.equal(['x/a#b/y.ts', null]);
    });

    it('adapts a legacy score(prompt, completion) module, as export or default object', async () => {
      const a = moduleFile('export async function score(p, c) { return c.length - p.length; }\n', 'legacy.mjs');
      const b = moduleFile('export default { score: (p, c) => (c.includes("good") ? 1 : null) };\n', 'obj.mjs');
      const fns = await openRewardFns([a, b], null);
      expect(fns.names).to.deep.equal(['legacy', 'obj']);
      const s = await fns.score(batch(['good day', 'x'], { prompts: ['ab', 'a'] }));
      expect(s.perFunc).to.deep.equal([[6, 0], [1, null]]);
    });

    it('fails naming the module: no function, a #name that is missing or not a function, a broken import', async () => {
      const none = moduleFile('export const x = 1;\n', 'none.mjs');
      expect(await failure(openRewardFn(none))).to.match(/reward module .*none\.mjs exports no reward function/);
      expect(await failure(openRewardFn(`${none}#y`))).to.match(/none\.mjs: export "y" is missing/);
      expect(await failure(openRewardFn(`${none}#x`))).to.match(/none\.mjs: export "x" is a number, not a function/);
      const broken = moduleFile('export default function (', 'broken.mjs');
      expect(await failure(openRewardFn(broken))).to.match(/cannot load reward module .*broken\.mjs/);
      expect(await failure(openRewardFn('happiness'))).to.match(/unknown reward "happiness": use sentiment, length/);
      expect(await failure(openRewardFns([], null))).to.match(/at least one reward/);
      expect(await failure(openRewardFns(['length'], [1, 2]))).to.match(/rewardWeights has 2 entries for 1 reward functions/);
      expect(await failure(openRewardFns(['length'], [NaN]))).to.match(/rewardWeights\[0\] is NaN/);
    });

    it('refuses, before importing, a module outside the registered folders when RLHF_REWARD_MODULES is set', async () => {
      const ok = moduleFile('export default ({ completions }) => completions.map(() => 5);\n', 'ok.mjs', 'registered');
      const evil = moduleFile('globalThis.__evilRewardRan = true;\nexport default ({ completions }) => completions.map(() => 9);\n', 'evil.mjs', 'other');
      const saved = process.env.RLHF_REWARD_MODULES;
      process.env.RLHF_REWARD_MODULES = [join(ok, '..'), '/no/such/folder'].join(delimiter);
      try {
        expect(await failure(openRewardFns(['length', `${evil}#default`], null))).to.match(/evil\.mjs: not in a folder an admin registered/);
        expect(await failure(openRewardFn(evil))).to.match(/not in a folder an admin registered/);
        expect((globalThis as { __evilRewardRan?: boolean }).__evilRewardRan).to.equal(undefined);
        const fns = await openRewardFns(['sentiment', ok], null); // built-in rules need no registration
        expect((await fns.score(batch(['a']))).perFunc).to.deep.equal([[0], [5]]);
      } finally {
        if (saved === undefined) delete process.env.RLHF_REWARD_MODULES;
        else process.env.RLHF_REWARD_MODULES = saved;
      }
    });
  });

  describe('scoring a batch', () => {
    it('built-in rules become batch functions over the completions', async () => {
      const fns = await openRewardFns(['sentiment', 'length', 'length'], [1, 0.5, 2]);
      expect(fns.names).to.deep.equal(['sentiment', 'length', 'length_2']);
      const s = await fns.score(batch([' a good and happy day', ' awful']));
      expect(s.perFunc[0][0]).to.equal(6); // AFINN-165: good +3, happy +3
      expect(s.perFunc[0][1]).to.be.lessThan(0);
      expect(s.perFunc[1]).to.deep.equal([21, 6]);
      expect(s).to.deep.include({ columns: {}, metrics: {} });
    });

    it('passes the columns and step, keeps nulls, and collects columns and metrics either way', async () => {
      const fns = rewardFnsFrom([
        inline('answer', (ctx) => {
          ctx.logColumn('expected', ctx.columns.map((c) => (c.answer ?? null) as string | null));
          ctx.logMetric('answer/with_answer', ctx.columns.filter((c) => 'answer' in c).length);
          return ctx.completions.map((c, i) => (ctx.columns[i].answer === undefined ? null : c.trim() === ctx.columns[i].answer ? 1 : 0));
        }),
        inline('tokens', async (ctx) => ({ rewards: ctx.completionIds.map((ids) => ids.length), columns: { n_tokens: ctx.completionIds.map((ids) => ids.length) }, metrics: { step_seen: ctx.step } })),
      ]);
      const s = await fns.score(batch([' 4', '5', 'x'], { columns: [{ answer: '4' }, { answer: '4' }, {}] }));
      expect(s.perFunc).to.deep.equal([[1, 0, null], [2, 1, 1]]);
      expect(s.columns).to.deep.equal({ expected: ['4', '4', null], n_tokens: [2, 1, 1] });
      expect(s.metrics).to.deep.equal({ 'answer/with_answer': 2, step_seen: 3 });
    });

    it("gives every function its own copy of the batch, so one cannot change the next one's input", async () => {
      const seen: string[] = [];
      const fns = rewardFnsFrom([
        inline('vandal', (ctx) => {
          ctx.completions[0] = 'changed';
          ctx.columns[0].answer = 'changed';
          return [0];
        }),
        inline('reader', (ctx) => {
          seen.push(ctx.completions[0], String(ctx.columns[0].answer));
          return [0];
        }),
      ]);
      const b = batch(['orig'], { columns: [{ answer: 'a' }] });
      await fns.score(b);
      expect(seen).to.deep.equal(['orig', 'a']);
      expect(b.completions[0]).to.equal('orig');
    });

    it('refuses bad results, naming the function, its module and the completion', async () => {
      const cases: [unknown, RegExp][] = [
        [[1], /reward function f \(test\) returned 1 rewards for 2 completions/],
        [[1, NaN], /returned NaN for completion 1; rewards must be finite numbers, or null for no opinion/],
        [[Infinity, 0], /returned Infinity for completion 0/],
        [['1', 0], /returned "1" for completion 0/],
        [[true, 0], /returned true for completion 0/],
        [undefined, /returned undefined; expected an array of 2 numbers or nulls, or \{ rewards, columns\?, metrics\? \}/],
        [{ scores: [1, 1] }, /returned an object with "scores"; expected \{ rewards, columns\?, metrics\? \}/],
        [{ rewards: [1, 1], columns: { c: [1] } }, /column "c" has 1 values for 2 completions/],
        [{ rewards: [1, 1], columns: { c: [{}, 1] } }, /column "c" value 0 is an object; cells are strings, finite numbers, booleans or null/],
        [{ rewards: [1, 1], columns: [] }, /"columns" must be an object of name → value/],
        [{ rewards: [1, 1], metrics: { m: NaN } }, /metric "m" is NaN; metrics must be finite numbers/],
        [{ rewards: [1, 1], columns: { prompt: [1, 1] } }, /column "prompt" is taken/],
        [{ rewards: [1, 1], columns: { f: [1, 1] } }, /column "f" is taken/],
      ];
      for (const [out, re] of cases) {
        const fns = rewardFnsFrom([inline('f', () => out as number[])]);
        expect(await failure(fns.score(batch(['a', 'b'])))).to.match(re);
      }
      const fns = rewardFnsFrom([inline('f', () => { throw new Error('no answer column\nstack...'); })]);
      expect(await failure(fns.score(batch(['a'])))).to.equal('reward function f (test) threw at step 3: no answer column');
      const twice = rewardFnsFrom([
        inline('f', (ctx) => (ctx.logColumn('c', [1]), [1])),
        inline('g', (ctx) => (ctx.logColumn('c', [2]), [1])),
      ]);
      expect(await failure(twice.score(batch(['a'])))).to.match(/reward function g \(test\): column "c" was logged twice/);
      const f = moduleFile('export default ({ completions }) => completions.map(() => "high");\n', 'high.mjs');
      expect(await failure((await openRewardFns([f], null)).score(batch(['a'])))).to.match(/reward function high \(.*high\.mjs\) returned "high" for completion 0/);
      expect(await failure(fns.score(batch(['a'], { prompts: [] })))).to.match(/reward batch: prompts has 0 entries for 1 completions/);
    });
  });

  describe('a reward model as a reward function', () => {
    it('scores text through rewardModelSource, is named after its folder, and frees its tensors', async () => {
      await useBackend();
      const { model, tokenizer } = loadCheckpoint(await tinyCheckpoint(13));
      const rm = new RewardModel(model, tokenizer!);
      const dir = join(tempDir(), 'my-rm');
      await rm.save(dir);
      const direct = await rm.score(['The whale', 'Call me'], [' is white', ' Ishmael'], 16);
      rm.dispose();
      const before = tf.memory().numTensors;
      const fns = await openRewardFns([dir, 'length'], null);
      expect(fns.names).to.deep.equal(['my-rm', 'length']);
      const s = await fns.score(batch([' is white', ' Ishmael'], { prompts: ['The whale', 'Call me'] }));
      expect(s.perFunc[0]).to.deep.equal(direct);
      fns.dispose();
      expect(tf.memory().numTensors).to.equal(before);
      const empty = join(tempDir(), 'not-a-model');
      mkdirSync(empty);
      expect(await failure(openRewardFns([empty], null))).to.match(/not-a-model: a folder must be a reward-model checkpoint/);
    });
  });

  describe('rewardFnsAsSource (PPO)', () => {
    const two = () =>
      rewardFnsFrom([
        inline('a', (ctx) => ctx.completions.map((c) => (c === 'skip-a' || c === 'skip-both' ? null : c.length))),
        inline('b', (ctx) => ctx.completions.map((c, i) => (c === 'skip-b' || c === 'skip-both' ? null : Number(ctx.columns[i].bonus ?? 0) + ctx.step))),
      ]);

    it('sums weight × reward with a null as 0, passes columns and step, and keeps the last breakdown', async () => {
      const src = rewardFnsAsSource(two(), [2, -1]);
      expect(src.name).to.equal('a+b');
      expect(src.last).to.equal(null);
      // 'xy': 2·2 − 1·(10 + 5); 'skip-a': −1·(0 + 5); 'skip-b': 2·6
      const s = await src.score(['p', 'p', 'p'], ['xy', 'skip-a', 'skip-b'], undefined, { columns: [{ bonus: 10 }, {}, {}], step: 5 });
      expect(s).to.deep.equal([4 - 15, -5, 12]);
      expect(src.last!.perFunc).to.deep.equal([[2, null, 6], [15, 5, null]]);
      const unweighted = rewardFnsAsSource(two(), null);
      expect(await unweighted.score(['p'], ['xyz'])).to.deep.equal([3]); // no columns, step 0
    });

    it('refuses a completion every function left null, and weights that do not fit', async () => {
      const src = rewardFnsAsSource(two(), null);
      expect(await failure(src.score(['p', 'p'], ['ok', 'skip-both']))).to.match(/reward a \+ b: every reward function returned null for completion 1; PPO needs a score/);
      expect(() => rewardFnsAsSource(two(), [1])).to.throw(/rewardWeights has 1 entries for 2 reward functions/);
    });

    it('disposes every function once', () => {
      let n = 0;
      const src = rewardFnsAsSource(rewardFnsFrom([{ ...inline('a', () => []), dispose: () => n++ }, { ...inline('b', () => []), dispose: () => n++ }]), null);
      src.dispose();
      expect(n).to.equal(2);
    });
  });
});
