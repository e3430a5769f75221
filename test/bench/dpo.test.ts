// The DPO benchmark's parts at tiny sizes: the held-out accuracy against the rule (by hand; rule ties left
// out; a seed's held-out comparisons are that seed's split), the jobs on a real tiny label store (labels
// through a live server, train-rm, DPO, PPO and GRPO on the reward model for one step: every figure the
// tables read is finite, tensors flat), and the report's tables and aims, stated met or not met from
// synthetic numbers.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { cleanAccuracy, dpoScores, heldOutComparisons } from '../../bench/dpo-accuracy.js';
import { dpoJob, labelPrompts, labelsDb, labelsJob, mainSpec, PrefSpec, rmJob, VAL_FRACTION } from '../../bench/dpo-jobs.js';
import { policyJob } from '../../bench/dpo-policy.js';
import { BenchLog, renderDpoBench, RunLine } from '../../bench/dpo-report.js';
import { heldOut } from '../../bench/grpo-eval.js';
import { MODEL } from '../../bench/grpo-run.js';
import { resolveDpoConfig } from '../../dpo/config.js';
import { Comparison, splitByPrompt } from '../../reward-models/comparisons.js';
import { tempDir, useBackend } from '../helpers.js';

describe('bench/dpo: DPO against a reward model with PPO or GRPO; ties and rankings', function () {
  this.timeout(10 * 60_000);
  before(useBackend);

  it('counts every pair the rule orders, leaves rule ties out, and measures a seed on its own split', () => {
    const cs: Comparison[] = [
      { prompt: 'a', completions: ['good', 'bad'], ranking: [1, 0] }, // the label may be flipped: the rule decides
      { prompt: 'b', completions: ['the cat', 'the dog'], ranking: null }, // a rule tie: no pair
      { prompt: 'c', completions: ['good good', 'good', 'the cat', 'bad'], ranking: [0, 1, 2, 3] }, // 6 pairs
      { prompt: 'd', completions: ['great', 'good', 'bad'], ranking: [0, 1, 2] }, // great = good: 2 pairs
    ];
    expect(cleanAccuracy(cs, [[1, 0], [0, 0], [4, 3, 2, 1], [0, 0, -1]])).to.deep.equal({ correct: 9, total: 9 });
    expect(cleanAccuracy(cs, [[0, 1], [5, 0], [1, 2, 3, 4], [0, 0, 1]])).to.deep.equal({ correct: 0, total: 9 });
    expect(cleanAccuracy(cs, [[0, 0], [0, 0], [0, 0, 0, 0], [0, 0, 0]]).correct).to.equal(0); // equal scores order nothing
    expect(cleanAccuracy(cs, [[1, 0], [0, 0], [4, 3, 1, 2], [0, 0, -1]]).correct).to.equal(8);
    expect(() => cleanAccuracy(cs, [[1, 0]])).to.throw(/4 comparisons but 1 score rows/);
    // The labelled prompts leave out every held-out prompt.
    const held = new Set(heldOut('sentiment').prompts);
    const ps = labelPrompts();
    expect(ps.length).to.be.above(400);
    expect(ps.filter((p) => held.has(p))).to.deep.equal([]);
  });

  it('runs every job on a tiny store: finite figures, each seed measured on its own split, flat tensors', async () => {
    const work = tempDir('rlhf-bench-dpo-');
    const l2 = await labelsJob(work, 2, 40);
    const l4 = await labelsJob(work, 4, 16);
    expect([l2.labels, l4.labels]).to.deep.equal([40, 16]);
    expect(l2.ties).to.be.within(1, 39);
    const db = labelsDb(work, 2);
    const [h0, h1] = [heldOutComparisons(db, VAL_FRACTION, 0), heldOutComparisons(db, VAL_FRACTION, 1)];
    expect(h0.map((c) => c.prompt)).to.not.deep.equal(h1.map((c) => c.prompt)); // the seed moves the split
    const ruleOrdered = (h: Comparison[]) => cleanAccuracy(h, h.map((c) => c.completions.map(() => 0))).total;

    const n0 = tf.memory().numTensors;
    for (const s of [mainSpec(0), { ...mainSpec(1), ties: 'davidson' }, { k: 4, ties: 'drop', rankings: 'plackett-luce', seed: 0 }] as PrefSpec[]) {
      const h = heldOutComparisons(labelsDb(work, s.k), VAL_FRACTION, s.seed);
      const rm = await rmJob(work, s, 1);
      const dpo = await dpoJob(work, s, { gold: s.seed === 0 && s.k === 2, samples: 1, epochs: 1 });
      for (const r of [rm, dpo]) {
        expect(r.heldOut.total, `${r.job} ${JSON.stringify(s)}`).to.equal(ruleOrdered(h)).and.to.be.above(0);
        expect(r.heldOut.correct).to.be.within(0, r.heldOut.total);
        expect(r.valComparisons).to.equal(h.filter((c) => c.ranking || s.ties !== 'drop').length); // the trainer's own split is the same
        for (const k of ['seconds', 'steps', 'trainComparisons'] as const) expect(Number.isFinite(r[k]) && r[k] > 0, `${r.job} ${k}`).to.equal(true);
      }
      if (s.seed === 0 && s.k === 2) {
        expect(dpo.eval!.completions).to.equal(64);
        for (const k of ['gold', 'kl'] as const) expect(Number.isFinite(dpo.eval![k]), k).to.equal(true);
      } else expect(dpo.eval).to.equal(undefined);
    }
    expect(tf.memory().numTensors).to.equal(n0);
    // The starter against itself: every log-ratio is 0, so no pair is ordered.
    const c = resolveDpoConfig({ model: MODEL, db, out: work });
    const zero = dpoScores(MODEL, MODEL, h0, c);
    expect(zero.flat().every((x) => x === 0)).to.equal(true);
    expect(zero.map((r) => r.length)).to.deep.equal(h0.map((x) => x.completions.length));

    for (const algo of ['ppo', 'grpo'] as const) {
      const r = await policyJob(work, algo, 0, 0.05, 1); // seed 0's reward model from above; the first step spends the budget
      expect(r.steps.map((x) => x.step), algo).to.deep.equal([1]);
      for (const s of r.steps) for (const [k, v] of Object.entries(s)) expect(Number.isFinite(v), `${algo} ${k} = ${v}`).to.equal(true);
      expect(r.seconds).to.be.at.least(r.trainSeconds);
      expect(r.eval.completions).to.equal(64);
      expect(Number.isFinite(r.eval.gold) && Number.isFinite(r.eval.kl)).to.equal(true);
    }
    expect(tf.memory().numTensors).to.equal(n0);
    expect(splitByPrompt(h0, VAL_FRACTION, 0).val).to.have.length(h0.length); // held-out = the seed's validation side
  });

  it('renders the tables and states each aim met or not met from the numbers', () => {
    const line = (part: RunLine['part'], result: object): RunLine => ({ type: 'run', part, load: 2.5, others: 0.3, wall: 10, result: { backend: 'test', cpuSeconds: 5, ...result } as RunLine['result'] });
    const ev = (gold: number, kl: number) => ({ gold, kl, meanLength: 16, completions: 256, seconds: 1 });
    const acc = (pct: number) => ({ correct: pct, total: 100 });
    const pref = (job: 'rm' | 'dpo', k: number, ties: string, rankings: string, seed: number, a: number, seconds: number, extra = {}) =>
      ({ job, k, ties, rankings, seed, seconds, steps: 30, trainComparisons: 500, valComparisons: 100, heldOut: acc(a), valAccuracy: 0.6, ...(job === 'dpo' ? { bestStep: 20 } : {}), ...extra });
    const steps = [1, 2, 3, 4].map((step) => ({ step, reward: step, gold: step / 2, stepTime: 15 }));
    const log = (dpoGold: number, dpoSeconds: number, davidson = 70): BenchLog => ({
      setup: { type: 'setup', seeds: [0, 1], budget: 60, labels: 1000, samples: 4, accEpochs: { rm: 2, dpo: 1 }, machine: 'test machine', cores: 2, date: '2026-12-07' },
      runs: [
        line('labels', { job: 'labels', k: 2, tasks: 1000, labels: 1000, ties: 360, flipped: 64, prompts: 448, seconds: 10 }),
        line('labels', { job: 'labels', k: 4, tasks: 1000, labels: 1000, ties: 120, flipped: 88, prompts: 448, seconds: 14 }),
        line('main', { job: 'starter', eval: ev(0.4, 0) }),
        ...[0, 1].flatMap((seed) => [
          line('main', pref('rm', 2, 'drop', 'all-pairs', seed, 70, 20)),
          line('main', { job: 'ppo', seed, budget: 60, steps, trainSeconds: 60, seconds: 64, eval: ev(1.0 + seed * 0.2, 3) }),
          line('main', { job: 'grpo', seed, budget: 60, steps, trainSeconds: 60, seconds: 66, eval: ev(0.6, 2) }),
          line('main', pref('dpo', 2, 'drop', 'all-pairs', seed, 56, dpoSeconds, { eval: ev(dpoGold + seed * 0.2, 5) })),
          ...(['drop', 'equal', 'davidson', 'rao-kupper'] as const).flatMap((t) => [
            line('ties', pref('rm', 2, t, 'all-pairs', seed, t === 'davidson' ? davidson : 70, 15)),
            line('ties', pref('dpo', 2, t, 'all-pairs', seed, t === 'drop' ? 56 : 58, 20)),
          ]),
          ...(['all-pairs', 'plackett-luce'] as const).flatMap((r) => [
            line('rankings', pref('rm', 4, 'drop', r, seed, r === 'all-pairs' ? 75 : 77, 40)),
            line('rankings', pref('dpo', 4, 'drop', r, seed, 60, 45)),
          ]),
        ]),
      ],
    });
    const met = renderDpoBench(log(1.3, 40), { endLoad: 1.5 });
    expect(met).to.contain("**Aim: DPO matches (a)'s gold gain at a fraction of its wall time: met.** DPO's mean held-out gold gain is +1.00 against (a)'s +0.70 (the starting model: 0.40), in 40 s against 84 s (20 s reward model + 64 s PPO): 48% of (a)'s wall time; paired by seed, DPO's gold reaches that seed's (a) gold in 2 of 2 seeds.");
    expect(met).to.contain('| (a) reward model + PPO | **1.10** (1.00–1.20) | +0.70 (+0.60–+0.80) | 3.0 (3.0–3.0) | 70.0% (70.0%–70.0%) (reward model) | 20 (20–20) | 64 (64–64) | 84 (84–84) | 4 (4–4) | 4.00 (4.00–4.00) | 2.00 (2.00–2.00) |');
    expect(met).to.contain('| starting model | 0.40 | — | 0 |');
    expect(met).to.contain('**Others shared the machine**: 1-minute load average 2.5–2.5');
    expect(met).to.contain('K = 2: 1000 labels in 10 s (640 preferences, 360 rule ties, 64 choices flipped)');
    expect(met).to.contain('**Aim: tie-aware losses (davidson, rao-kupper) at least as accurate as dropping ties: met.**');
    expect(met).to.contain('reward model: davidson +0.0 pp (2 of 2 seeds at least as accurate)');
    expect(met).to.contain('DPO: davidson +2.0 pp (2 of 2 seeds at least as accurate)');
    expect(met).to.contain('reward model +2.0 pp (2 of 2 seeds at least as accurate); DPO +0.0 pp');
    const slow = renderDpoBench(log(0.9, 100), { endLoad: 1.5 });
    expect(slow).to.contain("fraction of its wall time: not met.** (its gain is below (a)'s, and it is not faster) DPO's mean held-out gold gain is +0.60 against (a)'s +0.70");
    expect(slow).to.contain('paired by seed, DPO\'s gold reaches that seed\'s (a) gold in 0 of 2 seeds');
    expect(slow).to.contain('at least as accurate as dropping ties: met.**');
    const tieWorse = renderDpoBench(log(1.3, 40, 68), { endLoad: 1.5 });
    expect(tieWorse).to.contain('at least as accurate as dropping ties: not met.** Mean held-out accuracy against the rule, each option minus drop: reward model: davidson −2.0 pp (0 of 2 seeds at least as accurate)');
  });
});
