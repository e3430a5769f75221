import { expect } from 'chai';
import { arrangeGroups, drawPoints, ema, eventMarks, groupMetrics, lttb, markerX, metricMatcher, Pt, RunEventLike, switchMarkers, switchVersions } from '../../client/chart-data.js';

describe('client: chart data', () => {
  it("groups metrics as TRL does: objective, policy, loss, val, then other prefixes, then names without one", () => {
    const g = groupMetrics(['lr', 'val/ratio', 'loss/value_avg', 'objective/kl', 'policy/clipfrac_avg', 'eval/loss', 'objective/entropy', 'episode', 'train/loss']);
    expect(g).to.deep.equal([
      { group: 'objective', names: ['objective/entropy', 'objective/kl'] },
      { group: 'policy', names: ['policy/clipfrac_avg'] },
      { group: 'loss', names: ['lr', 'loss/value_avg'] }, // the learning rate beside the losses, as GRPO's
      { group: 'val', names: ['val/ratio'] },
      { group: 'eval', names: ['eval/loss'] },
      { group: 'train', names: ['train/loss'] },
      { group: 'other', names: ['episode'] },
    ]);
  });

  it("groups GRPO's and RLOO's names (most without a prefix) as TRL's: rewards, completions, clipping, kl/entropy, loss, time", () => {
    // every metric rl/group-rl.ts logs, a reward function's own metric (no prefix) and a gold rule
    const names = [
      'reward', 'reward_std', 'rewards/include-word/mean', 'rewards/include-word/std', 'rewards/sentiment/mean', 'rewards/sentiment/std', 'frac_reward_zero_std', 'gold_reward',
      'completions/mean_length', 'completions/min_length', 'completions/max_length', 'completions/clipped_ratio', 'completions/mean_terminated_length',
      'clip_ratio/low_mean', 'clip_ratio/low_min', 'clip_ratio/high_mean', 'clip_ratio/high_max', 'clip_ratio/region_mean', 'kl', 'entropy',
      'loss', 'grad_norm', 'lr', 'num_tokens', 'step_time', 'time/rollout', 'time/reward', 'time/update', 'perf/rollout_tokens_per_sec', 'word_hits',
    ];
    const g = groupMetrics([...names].reverse());
    expect(g.map((x) => x.group)).to.deep.equal(['reward', 'completions', 'clip_ratio', 'policy', 'loss', 'perf', 'time', 'other']);
    const of = (group: string) => g.find((x) => x.group === group)!.names;
    expect(of('reward')).to.deep.equal(['reward', 'reward_std', 'frac_reward_zero_std', 'gold_reward', 'rewards/include-word/mean', 'rewards/include-word/std', 'rewards/sentiment/mean', 'rewards/sentiment/std']);
    expect(of('policy')).to.deep.equal(['kl', 'entropy']);
    expect(of('loss')).to.deep.equal(['loss', 'grad_norm', 'lr']);
    expect(of('time')).to.deep.equal(['num_tokens', 'step_time', 'time/reward', 'time/rollout', 'time/update']);
    expect(of('completions')).to.have.length(5);
    expect(of('clip_ratio')).to.have.length(5);
    expect(of('other')).to.deep.equal(['word_hits']);
    expect(g.flatMap((x) => x.names)).to.have.members(names); // each name once
    // a GRPO run with online feedback: the reward model's curves right after the rewards
    expect(groupMetrics(['online/labels', 'kl', 'reward']).map((x) => x.group)).to.deep.equal(['reward', 'online', 'policy']);
  });

  it("groups DPO's names as TRL's DPOTrainer logs them: rewards/*, logps/*, logits/*, loss with grad_norm and lr, eval/*", () => {
    // every metric dpo/dpo.ts logs (training, RPO's nll_loss, evaluation) and online DPO's
    const trl = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected', 'entropy', 'nll_loss'];
    const names = [...trl, 'grad_norm', 'lr', 'num_tokens', 'epoch', ...trl.map((n) => `eval/${n}`), 'eval/num_tokens', 'online/round', 'online/labels', 'online/tasks_sent', 'online/round_accuracy'];
    const g = groupMetrics([...names].reverse());
    expect(g.map((x) => x.group)).to.deep.equal(['online', 'rewards', 'logps', 'logits', 'policy', 'loss', 'eval', 'time', 'other']);
    const of = (group: string) => g.find((x) => x.group === group)!.names;
    expect(of('rewards')).to.deep.equal(['rewards/accuracies', 'rewards/chosen', 'rewards/margins', 'rewards/rejected']);
    expect(of('logps')).to.deep.equal(['logps/chosen', 'logps/rejected']);
    expect(of('logits')).to.deep.equal(['logits/chosen', 'logits/rejected']);
    expect(of('loss')).to.deep.equal(['loss', 'grad_norm', 'lr', 'nll_loss']);
    expect(of('eval')).to.have.length(12).and.include('eval/rewards/margins');
    expect(of('time')).to.deep.equal(['num_tokens']);
    expect(of('other')).to.deep.equal(['epoch']);
    expect(g.flatMap((x) => x.names)).to.have.members(names);
    // GRPO's per-function rewards (three parts) still join its reward
    expect(groupMetrics(['rewards/chosen', 'rewards/include-word/mean']).map((x) => x.group)).to.deep.equal(['reward', 'rewards']);
  });

  it("marks online DPO's rounds like reward-model switches: at the round's last step, once after a resume", () => {
    const events: RunEventLike[] = [
      { step: 0, kind: 'dpo-round-skipped', data: { round: 0 }, time: 1000 },
      { step: 0, kind: 'feedback-tasks', data: { added: 8 }, time: 1100 },
      { step: 4, kind: 'dpo-round', data: { round: 1, labels: 8, accuracy: 0.5 }, time: 5000 },
      { step: 4, kind: 'dpo-round', data: { round: 1, labels: 8, accuracy: 0.5 }, time: 7000 }, // a resume finished round 1 again
      { step: 9, kind: 'dpo-round', data: { round: 2, labels: 9, accuracy: 0.75 }, time: 9000 },
      { step: 9, kind: 'reward-switch', data: { name: 'reward-model:/r/v2/final' }, time: 9500 },
    ];
    expect(eventMarks(events).map((m) => m?.label ?? null)).to.deep.equal([null, null, 'DPO round 1', 'DPO round 1', 'DPO round 2', 'reward model v2']);
    expect(switchMarkers(events)).to.deep.equal([
      { step: 4, time: 5000, version: 1, label: 'DPO round 1', tag: 'r1' },
      { step: 9, time: 9000, version: 2, label: 'DPO round 2', tag: 'r2' },
      { step: 9, time: 9500, version: 2, label: 'reward model v2', tag: 'v2' }, // a round and a switch at one step are two marks
    ]);
  });

  it('smooths with a debiased EMA: a constant stays constant, 0 is the identity, gaps stay gaps', () => {
    for (const v of ema([5, 5, 5, 5], 0.9)) expect(v).to.be.closeTo(5, 1e-12); // no pull towards 0 at the start
    expect(ema([1, 2, 3], 0)).to.deep.equal([1, 2, 3]);
    const s = ema([0, 10, null, 10], 0.5);
    expect(s[0]).to.equal(0);
    expect(s[1]).to.be.closeTo((0.5 * 0.5 * 0 + 0.5 * 10) / (1 - 0.25), 1e-12);
    expect(s[2]).to.equal(null);
    expect(s[3]!).to.be.above(s[1]!).and.below(10);
  });

  it('keeps a constant series exactly constant under any smoothing (kl_coef drew as a zig-zag), and smooths as the debiased EMA', () => {
    const flat = Array.from({ length: 5000 }, () => 0.05);
    for (const w of [0.1, 0.6, 0.9, 0.99, 0.999]) {
      expect(ema(flat, w).every((v) => v === 0.05), `ema, weight ${w}`).to.equal(true);
      const s = { step: flat.map((_, i) => i), time: flat.map((_, i) => i * 1000), value: flat };
      const pts = drawPoints(s, { x: 'step', smoothing: w, log: false, maxPoints: 300 });
      expect(pts.length).to.equal(300);
      expect(new Set(pts.map((p) => p.y))).to.deep.equal(new Set([0.05]));
    }
    for (const v of [0.1, 1e-7, 3.3, -2.7, 123456.789]) expect(new Set(ema([v, v, v, null, v, v], 0.7))).to.deep.equal(new Set([v, null]));
    // the same numbers as the textbook form m_n / (1 - w^n), m_n = w m_{n-1} + (1 - w) v
    const vals = [3, -1, 4, 1, -5, 9, 2, 6];
    let m = 0;
    const want = vals.map((v, n) => ((m = 0.8 * m + 0.2 * v), m / (1 - 0.8 ** (n + 1))));
    ema(vals, 0.8).forEach((v, i) => expect(v).to.be.closeTo(want[i], 1e-12));
    expect(ema(vals, 0.8)[0]).to.equal(3); // the first point is the value itself
  });

  it('draws a zoomed span with every point inside it and one either side; smoothing still sees the whole series', () => {
    const n = 2000;
    const s = { step: Array.from({ length: n }, (_, i) => i + 1), time: Array.from({ length: n }, (_, i) => i * 1000), value: Array.from({ length: n }, (_, i) => Math.sin(i / 10)) };
    const all = drawPoints(s, { x: 'step', smoothing: 0.9, log: false, maxPoints: 100 });
    const zoomed = drawPoints(s, { x: 'step', smoothing: 0.9, log: false, maxPoints: 100, range: [1001, 1050] });
    expect(zoomed.map((p) => p.x)).to.deep.equal(Array.from({ length: 52 }, (_, i) => 1000 + i)); // 1000 and 1051 run the line to the edges
    const full = drawPoints(s, { x: 'step', smoothing: 0.9, log: false, maxPoints: 1e9 });
    for (const p of zoomed) expect(p.y).to.equal(full[p.i!].y);
    expect(all).to.have.length(100);
    expect(drawPoints(s, { x: 'step', smoothing: 0, log: false, maxPoints: 100, range: [1, 2000] })).to.have.length(100); // still downsampled
    expect(drawPoints(s, { x: 'step', smoothing: 0, log: false, maxPoints: 100, range: [5000, 6000] }).map((p) => p.x)).to.deep.equal([2000]);
  });

  it('puts pinned charts first in their own group, and searches metric names by words (regex, or text when not one)', () => {
    const g = groupMetrics(['objective/kl', 'objective/scores', 'loss/value_avg', 'sys/cpu_percent', 'lr', 'episode', 'perf/x']);
    expect(g.map((x) => x.group)).to.deep.equal(['objective', 'loss', 'perf', 'sys', 'other']); // the process figures last, before 'other'
    expect(arrangeGroups(g, ['loss/value_avg', 'gone', 'objective/kl'])).to.deep.equal([
      { group: 'pinned', names: ['loss/value_avg', 'objective/kl'] },
      { group: 'objective', names: ['objective/scores'] },
      { group: 'loss', names: ['lr'] },
      { group: 'perf', names: ['perf/x'] },
      { group: 'sys', names: ['sys/cpu_percent'] },
      { group: 'other', names: ['episode'] },
    ]);
    expect(arrangeGroups(g, [])).to.equal(g);
    const names = ['objective/kl', 'objective/kl_coef', 'loss/value_avg', 'policy/approxkl_avg', 'val/ratio'];
    expect(names.filter(metricMatcher('kl'))).to.deep.equal(['objective/kl', 'objective/kl_coef', 'policy/approxkl_avg']);
    expect(names.filter(metricMatcher('^objective/kl$'))).to.deep.equal(['objective/kl']);
    expect(names.filter(metricMatcher('OBJ coef'))).to.deep.equal(['objective/kl_coef']); // every word, any case
    expect(names.filter(metricMatcher('val(ue'))).to.deep.equal([]); // not a regex: as text, no match
    expect(names.filter(metricMatcher('  '))).to.deep.equal(names);
  });

  it('downsamples 10k points with LTTB to the threshold, keeping the ends and a lone spike', () => {
    const data: Pt[] = Array.from({ length: 10_000 }, (_, i) => ({ x: i, y: Math.sin(i / 500) }));
    data[6_543].y = 40; // a spike must survive (every-k-th sampling would lose it)
    const out = lttb(data, 800);
    expect(out).to.have.length(800);
    expect(out[0]).to.equal(data[0]);
    expect(out.at(-1)).to.equal(data.at(-1));
    expect(out.some((p) => p.y === 40)).to.equal(true);
    for (let i = 1; i < out.length; i++) expect(out[i].x).to.be.above(out[i - 1].x);
    expect(lttb(data.slice(0, 10), 800)).to.have.length(10);
  });

  it('draws by step, relative or wall time, drops non-positive values on a log scale, and never exceeds maxPoints', () => {
    const s = { step: [1, 2, 3, 4], time: [1000, 3000, 6000, 10000], value: [1, 0, null, 4] };
    // each point keeps its index in the series (the tooltip's raw value and time, a click's step)
    expect(drawPoints(s, { x: 'step', smoothing: 0, log: false, maxPoints: 100 })).to.deep.equal([{ x: 1, y: 1, i: 0 }, { x: 2, y: 0, i: 1 }, { x: 4, y: 4, i: 3 }]);
    expect(drawPoints(s, { x: 'relative', smoothing: 0, log: true, maxPoints: 100 })).to.deep.equal([{ x: 0, y: 1, i: 0 }, { x: 9, y: 4, i: 3 }]);
    expect(drawPoints(s, { x: 'wall', smoothing: 0, log: true, maxPoints: 100 }).map((p) => p.x)).to.deep.equal([1000, 10000]);
    const big = { step: Array.from({ length: 10_000 }, (_, i) => i), time: Array.from({ length: 10_000 }, (_, i) => i), value: Array.from({ length: 10_000 }, (_, i) => i % 7) };
    expect(drawPoints(big, { x: 'step', smoothing: 0.9, log: false, maxPoints: 600 })).to.have.length(600);
    expect(big.value).to.have.length(10_000); // the page's copy is untouched
  });

  it("puts the online-feedback metrics in their own group, right after objective", () => {
    const g = groupMetrics(['loss/value_avg', 'online/rm_accuracy', 'objective/kl', 'online/labels', 'policy/clipfrac_avg', 'online/tasks_sent', 'online/rm_version']);
    expect(g.map((x) => x.group)).to.deep.equal(['objective', 'online', 'policy', 'loss']);
    expect(g[1].names).to.deep.equal(['online/labels', 'online/rm_accuracy', 'online/rm_version', 'online/tasks_sent']);
  });

  // A run's events as the online-feedback loop writes them (rl/online/loop.ts, rl/ppo.ts).
  const dir = '/runs/r1/reward-models';
  const onlineEvents: RunEventLike[] = [
    { step: 0, kind: 'checkpoint', data: {}, time: 1000 },
    { step: 2, kind: 'feedback-tasks', data: { added: 4, total: 4 }, time: 3000 },
    { step: 3, kind: 'reward-model-refresh', data: { version: 1, labels: 12, base: 'm' }, time: 4000 },
    { step: 3, kind: 'reward-model-ready', data: { version: 1, labels: 12, accuracy: 0.7, path: `${dir}/v1/final` }, time: 9000 },
    { step: 5, kind: 'reward-switch', data: { name: `reward-model:${dir}/v1/final` }, time: 9500 },
    { step: 6, kind: 'reward-model-refresh', data: { version: 2, labels: 24, base: 'm' }, time: 10000 },
    { step: 6, kind: 'reward-model-failed', data: { version: 2, error: 'error: boom' }, time: 11000 },
    { step: 8, kind: 'reward-model-ready', data: { version: 3, labels: 36, accuracy: 0.8, path: `${dir}/v3/final` }, time: 14000 },
    { step: 9, kind: 'reward-switch', data: { name: `reward-model:${dir}/v3/final` }, time: 15000 },
    // a resume from the step-8 checkpoint switches back to v3 at step 9 again: one marker, not two
    { step: 9, kind: 'reward-switch', data: { name: `reward-model:${dir}/v3/final` }, time: 20000 },
  ];

  it("turns 'reward-switch' events into markers at their step, versioned by the refresh's folder", () => {
    expect(switchVersions(onlineEvents)).to.deep.equal([null, null, null, null, 1, null, null, null, 3, 3]);
    expect(switchMarkers(onlineEvents)).to.deep.equal([
      { step: 5, time: 9500, version: 1, label: 'reward model v1', tag: 'v1' },
      { step: 9, time: 15000, version: 3, label: 'reward model v3', tag: 'v3' },
    ]);
    expect(switchMarkers(onlineEvents.filter((e) => e.kind !== 'reward-switch'))).to.deep.equal([]);
  });

  it('versions a switch whose name has no vN folder by its ready event, else the latest ready, else its ordinal', () => {
    const ready = (version: number, path: string): RunEventLike => ({ step: 1, kind: 'reward-model-ready', data: { version, path } });
    const sw = (step: number, name: string): RunEventLike => ({ step, kind: 'reward-switch', data: { name } });
    expect(switchVersions([ready(4, '/x/rm-a'), ready(5, '/x/rm-b'), sw(2, 'reward-model:/x/rm-a')])).to.deep.equal([null, null, 4]);
    expect(switchVersions([ready(5, '/x/rm-b'), sw(2, 'reward-model:/elsewhere')])).to.deep.equal([null, 5]);
    expect(switchVersions([sw(2, 'constant 2'), sw(4, 'constant 3')])).to.deep.equal([1, 2]);
    expect(switchVersions([sw(2, 'reward-model:C:\\runs\\v7\\final')])).to.deep.equal([7]); // a Windows path
    expect(switchVersions([sw(2, 'reward-model:/data/dev12/final')])).to.deep.equal([1]); // "dev12" is no version folder
  });

  it('places a marker on the x-axis as drawPoints places points: by step, wall time, or seconds since the first point', () => {
    const s = { step: [1, 2, 3, 4], time: [10_000, 12_000, 15_000, 19_000] };
    const [m] = switchMarkers(onlineEvents);
    expect(markerX(m, s, 'step')).to.equal(5);
    expect(markerX(m, s, 'wall')).to.equal(9500);
    expect(markerX({ ...m, time: 16_000 }, s, 'relative')).to.equal(6);
    // a live event (no time) sits at the time of its step boundary: the series' last point at or before it
    expect(markerX({ ...m, step: 3, time: null }, s, 'wall')).to.equal(15_000);
    expect(markerX({ ...m, step: 3, time: null }, s, 'relative')).to.equal(5);
    expect(markerX({ ...m, step: 0, time: null }, s, 'wall')).to.equal(null);
    expect(markerX({ ...m, step: 0, time: null }, s, 'step')).to.equal(0);
  });
});
