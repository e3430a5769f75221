import { expect } from 'chai';
import { drawPoints, ema, groupMetrics, lttb, Pt } from '../../client/chart-data.js';

describe('client: chart data', () => {
  it("groups metrics as TRL does: objective, policy, loss, val, then other prefixes, then names without one", () => {
    const g = groupMetrics(['lr', 'val/ratio', 'loss/value_avg', 'objective/kl', 'policy/clipfrac_avg', 'eval/loss', 'objective/entropy', 'episode', 'train/loss']);
    expect(g).to.deep.equal([
      { group: 'objective', names: ['objective/entropy', 'objective/kl'] },
      { group: 'policy', names: ['policy/clipfrac_avg'] },
      { group: 'loss', names: ['loss/value_avg'] },
      { group: 'val', names: ['val/ratio'] },
      { group: 'eval', names: ['eval/loss'] },
      { group: 'train', names: ['train/loss'] },
      { group: 'other', names: ['episode', 'lr'] },
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
    expect(drawPoints(s, { x: 'step', smoothing: 0, log: false, maxPoints: 100 })).to.deep.equal([{ x: 1, y: 1 }, { x: 2, y: 0 }, { x: 4, y: 4 }]);
    expect(drawPoints(s, { x: 'relative', smoothing: 0, log: true, maxPoints: 100 })).to.deep.equal([{ x: 0, y: 1 }, { x: 9, y: 4 }]);
    expect(drawPoints(s, { x: 'wall', smoothing: 0, log: true, maxPoints: 100 }).map((p) => p.x)).to.deep.equal([1000, 10000]);
    const big = { step: Array.from({ length: 10_000 }, (_, i) => i), time: Array.from({ length: 10_000 }, (_, i) => i), value: Array.from({ length: 10_000 }, (_, i) => i % 7) };
    expect(drawPoints(big, { x: 'step', smoothing: 0.9, log: false, maxPoints: 600 })).to.have.length(600);
    expect(big.value).to.have.length(10_000); // the page's copy is untouched
  });
});
