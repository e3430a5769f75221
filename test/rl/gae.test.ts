import { expect } from 'chai';
import { gae } from '../../rl/gae.js';

/** The definition, summed directly: A_t = Σ_l (γλ)^l δ_{t+l}, with V after the last token = 0. */
function gaeNested(r: number[], v: number[], gamma: number, lam: number): number[] {
  const T = r.length;
  const delta = r.map((x, t) => x + gamma * (t + 1 < T ? v[t + 1] : 0) - v[t]);
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    let a = 0;
    for (let l = 0; t + l < T; l++) a += (gamma * lam) ** l * delta[t + l];
    out.push(a);
  }
  return out;
}

describe('rl/gae', () => {
  it('matches hand-worked advantages and returns', () => {
    // γ=0.9, λ=0.5: δ1 = 2 − 1 = 1, A1 = 1; δ0 = 1 + 0.9·1 − 0.5 = 1.4, A0 = 1.4 + 0.45·1 = 1.85
    const { advantages, returns } = gae([[1, 2]], [[0.5, 1]], 0.9, 0.5);
    expect(advantages[0][0]).to.be.closeTo(1.85, 1e-12);
    expect(advantages[0][1]).to.be.closeTo(1, 1e-12);
    expect(returns[0][0]).to.be.closeTo(2.35, 1e-12);
    expect(returns[0][1]).to.be.closeTo(2, 1e-12);
  });

  it('padding with reward 0 and value 0 leaves the real tokens unchanged', () => {
    const a = gae([[1, 2]], [[0.5, 1]], 0.9, 0.5).advantages[0];
    const b = gae([[1, 2, 0, 0]], [[0.5, 1, 0, 0]], 0.9, 0.5).advantages[0];
    expect(b.slice(0, 2)).to.deep.equal(a);
    expect(b.slice(2)).to.deep.equal([0, 0]);
  });

  it('agrees with the nested-loop definition on random rows', () => {
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    for (const [gamma, lam] of [[1, 0.95], [0.99, 1], [0.9, 0], [1, 1]]) {
      const R = Array.from({ length: 3 }, () => Array.from({ length: 9 }, rnd));
      const V = Array.from({ length: 3 }, () => Array.from({ length: 9 }, rnd));
      const { advantages } = gae(R, V, gamma, lam);
      for (let b = 0; b < 3; b++) {
        const ref = gaeNested(R[b], V[b], gamma, lam);
        for (let t = 0; t < 9; t++) expect(advantages[b][t]).to.be.closeTo(ref[t], 1e-9);
      }
    }
  });

  it('rejects rows of different lengths', () => {
    expect(() => gae([[1, 2]], [[1]], 1, 1)).to.throw(/row 0/);
  });
});
