import { expect } from 'chai';
import { pack, rowsOf } from '../../rl/policy.js';

describe('rl/policy pack', () => {
  it('left-pads queries and right-pads responses with masks over real tokens', () => {
    const p = pack([[5, 6], [7]], [[1, 2, 9], [3]], 9);
    expect(p.Tp).to.equal(2);
    expect(p.R).to.equal(3);
    expect(p.ids).to.deep.equal([[5, 6, 1, 2, 9], [9, 7, 3, 9, 9]]);
    expect(p.attn).to.deep.equal([[1, 1, 1, 1, 1], [0, 1, 1, 0, 0]]);
    expect(p.mask).to.deep.equal([[1, 1, 1], [1, 0, 0]]);
    expect(rowsOf(p, [1]).ids).to.deep.equal([[9, 7, 3, 9, 9]]);
  });
});
