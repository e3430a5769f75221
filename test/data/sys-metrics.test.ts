import { expect } from 'chai';
import { sysSampler } from '../../data/sys-metrics.js';

describe('data: sys metrics', () => {
  it('reports CPU percent and resident MB at most once per interval', () => {
    let t = performance.now();
    const sample = sysSampler(1000, () => t);
    const first = sample(); // covers the process's life so far
    expect(Object.keys(first)).to.deep.equal(['sys/cpu_percent', 'sys/rss_mb']);
    expect(first['sys/rss_mb']).to.be.within(10, 1e5);
    expect(first['sys/cpu_percent']).to.be.at.least(0);
    t += 500;
    expect(sample()).to.deep.equal({}); // under a second since the last
    const t0 = process.cpuUsage();
    const end = Date.now() + 300;
    let x = 0;
    while (Date.now() < end) x += Math.sqrt(x + 1); // 300 ms of work on this thread
    const used = process.cpuUsage(t0);
    t += 1500; // the sampler's clock says 2 s since the last sample
    const busy = sample();
    const expected = ((used.user + used.system) / 1000 / 2000) * 100;
    expect(busy['sys/cpu_percent']).to.be.within(expected - 1, expected + 6); // the work, plus what the test itself spends
    expect(x).to.be.above(0);
  });
});
