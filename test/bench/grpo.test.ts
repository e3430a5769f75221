// The GRPO/RLOO/PPO benchmark's parts: the held-out prompt sets and control words, the measurement (KL of
// a model to itself is 0, to a changed copy positive; gold and control recomputed from the samples), the
// budget stop and the evaluation marks of real GRPO and PPO runs (every metric the tables read is finite),
// and the report's aims, stated met or not met from synthetic numbers.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { join } from 'node:path';
import { controlWord, evaluate, heldOut } from '../../bench/grpo-eval.js';
import { renderGrpoBench, quarterReward, RunLine } from '../../bench/grpo-report.js';
import { benchRun, EVAL_AT, MODEL, RunResult, StepRow } from '../../bench/grpo-run.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { loadPromptRecords } from '../../rl/prompts.js';
import { useBackend } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('bench/grpo: GRPO, RLOO and PPO under one wall-clock budget', function () {
  this.timeout(10 * 60_000);
  before(useBackend);

  it('holds out 64 prompts per task, with a control word that is never the word asked for', () => {
    const w = heldOut('include-word');
    expect(w.prompts).to.have.length(64);
    for (const [i, p] of w.prompts.entries()) {
      expect(p).to.contain(`"${w.words![i].asked}"`);
      expect(w.words![i].control).to.not.equal(w.words![i].asked);
    }
    expect(controlWord('him')).to.equal('time'); // the list wraps
    expect(controlWord('which')).to.equal('government');
    expect(() => controlWord('whale')).to.throw(/not one of the task's words/);
    const s = heldOut('sentiment');
    const train = new Set(loadPromptRecords(join(ROOT, 'data', 'prompts', 'demo.txt')).map((r) => r.prompt));
    expect(s.prompts).to.have.length(64);
    expect(s.prompts.filter((p) => train.has(p))).to.deep.equal([]);
  });

  it('measures KL 0 of the starter to itself, a positive KL to a changed copy, with flat tensors', async () => {
    const a = loadCheckpoint(MODEL);
    const b = loadCheckpoint(MODEL);
    try {
      const h = heldOut('include-word');
      const few = { prompts: h.prompts.slice(0, 8), words: h.words!.slice(0, 8) };
      const o = { samples: 2, maxNewTokens: 8, seed: 3, maxPromptTokens: 64 };
      await evaluate(a.model, b.model, a.tokenizer!, 'include-word', few, o); // warm-up
      const n0 = tf.memory().numTensors;
      const same = await evaluate(a.model, b.model, a.tokenizer!, 'include-word', few, o);
      expect(tf.memory().numTensors).to.equal(n0);
      expect(same.kl).to.equal(0);
      expect(same.completions).to.equal(16);
      expect(same.gold).to.be.within(0, 1);
      expect(same.control).to.be.within(0, 1);
      const again = await evaluate(a.model, b.model, a.tokenizer!, 'include-word', few, o);
      expect(again.gold).to.equal(same.gold); // one seed: the same draws every time
      // Sharpen the policy's logits (tied head): it samples from a distribution far from the reference's.
      const wte = a.model.headWeight() as unknown as tf.Variable; // the tied head's variable, in any family
      const sharp = tf.mul(wte, 3);
      wte.assign(sharp);
      sharp.dispose();
      const n1 = tf.memory().numTensors;
      const changed = await evaluate(a.model, b.model, a.tokenizer!, 'include-word', few, o);
      expect(changed.kl).to.be.greaterThan(1);
      expect(tf.memory().numTensors).to.equal(n1);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  it('stops GRPO and PPO at the budget, measuring at every mark, with every figure finite', async () => {
    for (const algo of ['grpo', 'ppo'] as const) {
      const r = await benchRun(algo, 'include-word', 0, 0.05, 1);
      // A 0.05-s budget: the first step already ends past it, so the run stops there and measures once for all four marks.
      expect(r.steps.map((s) => s.step), algo).to.deep.equal([1]);
      expect(r.evals.map((e) => e.frac)).to.deep.equal([...EVAL_AT]);
      for (const s of r.steps) {
        for (const [k, v] of Object.entries(s)) expect(Number.isFinite(v), `${algo} step ${k} = ${v}`).to.equal(true);
        expect(s.rollout + s.score + s.update).to.be.at.most(s.stepTime + 1e-6);
        expect(s.generated).to.equal(s.tokens).and.to.be.within(1, 64 * 16);
      }
      for (const e of r.evals) {
        expect(e.step).to.equal(1);
        for (const k of ['gold', 'control', 'kl', 't', 'tokens'] as const) expect(Number.isFinite(e[k]), `${algo} eval ${k}`).to.equal(true);
        expect(e.completions).to.equal(64);
      }
    }
  });

  it('renders the tables and states each aim met or not met from the numbers', () => {
    const B = 100;
    const steps = (n: number, reward: (t: number) => number, split: [number, number, number]): StepRow[] =>
      Array.from({ length: n }, (_, i) => {
        const dt = B / n;
        const t = (i + 1) * dt;
        const [ro, sc, up] = split.map((x) => x * dt);
        return { step: i + 1, t, tokens: (i + 1) * 1024, generated: 1024, completions: 64, reward: reward(t), rollout: ro, score: sc, update: up, stepTime: dt };
      });
    const run = (algo: RunResult['algo'], seed: number, gold: number[], st: StepRow[]): RunLine => ({
      type: 'run', load: 2, others: 0.1,
      result: {
        algo, task: 'include-word', seed, budget: B, backend: 'test', steps: st, wallSeconds: B, cpuSeconds: B,
        evals: (algo === 'starter' ? [0] : EVAL_AT).map((frac, i) => ({ frac, step: 1, t: frac * B, tokens: 0, gold: gold[i], control: 0.05, kl: i, meanLength: 16, completions: 256, seconds: 1 })),
      },
    });
    const setup = { type: 'setup' as const, budget: B, seeds: [0, 1], samples: 4, machine: 'test machine', cores: 2, date: '2026-12-07' };
    const grpoFast = [0.3, 0.4, 0.5, 0.6];
    const ppo = [0.1, 0.15, 0.2, 0.25];
    const log = (grpo: number[], split: [number, number, number]) => ({
      setup,
      runs: [
        run('starter', 0, [0.04], []),
        ...[0, 1].flatMap((seed) => [run('grpo', seed, grpo, steps(40, (t) => t / B, split)), run('rloo', seed, grpo, steps(40, () => 0.1, split)), run('ppo', seed, ppo, steps(10, () => 0.2, [0.2, 0.1, 0.7]))]),
      ],
    });
    const met = renderGrpoBench(log(grpoFast, [0.8, 0.05, 0.15]), { endLoad: 1.5 });
    expect(met).to.contain("**Aim: GRPO reaches PPO's final score in less wall time: met.**");
    expect(met).to.contain("reaches PPO's final 0.250 (the starting model: 0.040) at 25% of the budget (25 s of training, PPO 100 s)");
    expect(met).to.contain('**Others shared the machine**: 1-minute load average 2.0–2.0');
    expect(met).to.contain('2 of 2 seeds');
    expect(met).to.contain("**Aim: rollout ≥ 70% of GRPO's step: met** (80%");
    expect(met).to.contain('| starting model | — | 0.040 |');
    const slow = renderGrpoBench(log([0.05, 0.1, 0.15, 0.2], [0.3, 0.05, 0.65]), { endLoad: 1.5 });
    expect(slow).to.contain("less wall time: not met.** its mean held-out gold stays below PPO's final 0.250 (the starting model: 0.040) through the whole budget (0.200 at the end)");
    expect(slow).to.contain("rollout ≥ 70% of GRPO's step: not met** (30%; the update takes 65%)");
    // The last quarter's reward of a reward rising with t: the mean over steps ending in (75, 100].
    const st = steps(40, (t) => t / B, [1, 0, 0]);
    expect(quarterReward(st, B, 4)).to.be.closeTo(0.8875, 1e-9);
    expect(quarterReward(st, B, 1)).to.be.closeTo(0.1375, 1e-9);
  });
});
