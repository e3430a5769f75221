import { expect } from 'chai';
import { AdaptiveKlController, FixedKlController, klController } from '../../rl/kl-controller.js';
import { klPerToken, klRows } from '../../rl/kl.js';

describe('rl/kl', () => {
  it('k1 is logπ − logπ_ref; k3 is (r − 1) − log r with r = π_ref/π', () => {
    expect(klPerToken(-1, -2, 'k1')).to.be.closeTo(1, 1e-12);
    expect(klPerToken(-1, -2, 'k3')).to.be.closeTo(Math.exp(-1), 1e-12); // e⁻¹ − 1 + 1
    expect(klPerToken(-2, -1, 'k1')).to.be.closeTo(-1, 1e-12);
    expect(klPerToken(-2, -1, 'k3')).to.be.closeTo(Math.E - 2, 1e-12);
    expect(klPerToken(-0.3, -0.3, 'k3')).to.equal(0);
  });

  it('k3 is never negative', () => {
    for (const d of [-5, -0.1, 0, 0.1, 5]) expect(klPerToken(-1, -1 + d, 'k3')).to.be.at.least(0);
  });

  it('rows are zero on padding', () => {
    expect(klRows([[-1, -1]], [[-2, -9]], [[1, 0]], 'k1')).to.deep.equal([[1, 0]]);
  });
});

describe('rl/kl-controller', () => {
  it('fixed stays put', () => {
    const c = new FixedKlController(0.05);
    c.update();
    expect(c.value).to.equal(0.05);
    expect(klController(0.05, null, 10000).state()).to.deep.equal({ kind: 'fixed', value: 0.05 });
  });

  it('adaptive follows Ziegler et al.: error clipped to ±0.2, scaled by n / horizon', () => {
    const up = new AdaptiveKlController(0.1, 6, 10000);
    up.update(9, 64); // 9/6 − 1 = 0.5 → 0.2
    expect(up.value).to.be.closeTo(0.1 * (1 + (0.2 * 64) / 10000), 1e-15);
    const down = new AdaptiveKlController(0.1, 6, 10000);
    down.update(3, 64); // −0.5 → −0.2
    expect(down.value).to.be.closeTo(0.1 * (1 - (0.2 * 64) / 10000), 1e-15);
    const inside = new AdaptiveKlController(0.1, 6, 10000);
    inside.update(6.6, 64); // 0.1, not clipped
    expect(inside.value).to.be.closeTo(0.1 * (1 + (0.1 * 64) / 10000), 1e-15);
    inside.update(NaN, 64);
    expect(inside.value).to.be.closeTo(0.1 * (1 + (0.1 * 64) / 10000), 1e-15);
  });

  it('restores its coefficient from a checkpoint state', () => {
    const c = klController(0.2, 6, 100, { kind: 'adaptive', value: 0.123 });
    expect(c).to.be.instanceOf(AdaptiveKlController);
    expect(c.value).to.equal(0.123);
  });

  it('rejects a bad target or horizon', () => {
    expect(() => new AdaptiveKlController(0.1, 0, 10)).to.throw(/target/);
    expect(() => new AdaptiveKlController(0.1, 1, 0)).to.throw(/horizon/);
  });
});
