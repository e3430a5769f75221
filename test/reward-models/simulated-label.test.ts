import { expect } from 'chai';
import { loadRule } from '../../reward-models/rules.js';
import { ruleLabel, simulatedLabel } from '../../reward-models/simulated-label.js';

const pair = (id: number) => ({ id, prompt: 'p', completions: [{ position: 0, text: 'ab' }, { position: 1, text: 'abcd' }] });
const triple = (id: number) => ({ id, prompt: 'p', completions: [{ position: 0, text: 'ab' }, { position: 1, text: 'abcd' }, { position: 2, text: 'abc' }] });

describe('reward-models: simulated labels (a rule, ties, seeded noise)', () => {
  it('labels by the rule: ranks best first, and marks equal scores as a tie', async () => {
    const rule = await loadRule('length');
    expect(await ruleLabel(rule, triple(1))).to.deep.equal({ kind: 'ranking', ranking: [1, 2, 0] });
    expect(await ruleLabel(rule, { id: 2, prompt: 'p', completions: [{ position: 0, text: 'xy' }, { position: 1, text: 'ab' }] })).to.deep.equal({ kind: 'tie' });
  });

  it('flips by noise: never at 0, always at 1 (a pair reversed, a ranking shuffled), never a tie', async () => {
    const rule = await loadRule('length');
    expect(await simulatedLabel(rule, pair(1), 0, 7)).to.deep.equal({ kind: 'ranking', ranking: [1, 0], flipped: false });
    expect(await simulatedLabel(rule, pair(1), 1, 7)).to.deep.equal({ kind: 'ranking', ranking: [0, 1], flipped: true });
    const shuffled = await simulatedLabel(rule, triple(1), 1, 7);
    expect(shuffled.flipped).to.equal(true);
    expect([...shuffled.ranking!].sort()).to.deep.equal([0, 1, 2]);
    const tie = { id: 3, prompt: 'p', completions: [{ position: 0, text: 'xy' }, { position: 1, text: 'ab' }] };
    expect(await simulatedLabel(rule, tie, 1, 7)).to.deep.equal({ kind: 'tie', flipped: false });
  });

  it('whether a task is flipped depends only on (seed, task id), and about `noise` of them are', async () => {
    const rule = await loadRule('length');
    const flips = async (seed: number) => Promise.all(Array.from({ length: 400 }, (_, id) => simulatedLabel(rule, pair(id), 0.25, seed).then((l) => l.flipped)));
    const a = await flips(3);
    expect(await flips(3)).to.deep.equal(a);
    expect(await flips(4)).to.not.deep.equal(a);
    const n = a.filter(Boolean).length;
    expect(n).to.be.within(70, 130); // 100 expected; binomial sd ≈ 8.7
  });
});
