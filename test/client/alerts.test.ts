import { expect } from 'chai';
import { entropyCollapse, klAbove, nanMetric, nanStop, rewardHacking, runAlerts, Series } from '../../client/alerts.js';

const series = (values: (number | null)[], from = 1): Series => ({ step: values.map((_, i) => from + i), value: values });
// a seeded generator, so the noisy cases are the same every run
function noise(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
}

describe('client: dashboard alerts', () => {
  it('KL above the threshold at the latest step, naming where the stretch above it began', () => {
    expect(klAbove('objective/kl', series([1, 2, 3]), 5)).to.equal(null);
    expect(klAbove('objective/kl', series([1, 6, 2, 7, 8, 9]), 5)).to.deep.equal({ kind: 'kl', step: 6, message: 'objective/kl is 9 at step 6, above 5 (above it since step 4)' });
    expect(klAbove('kl', series([1, 12]), 10)!.message).to.equal('kl is 12 at step 2, above 10');
    expect(klAbove('kl', series([20, 30, 4]), 10)).to.equal(null); // back under it: no alert
    expect(klAbove('kl', series([20, null]), 10)!.step).to.equal(1); // the latest finite value counts
    expect(klAbove('kl', series([]), 10)).to.equal(null);
  });

  it('entropy collapse: the latest points below a tenth of the first ones', () => {
    const falling = series(Array.from({ length: 30 }, (_, i) => 2 * Math.exp(-i / 5)));
    const a = entropyCollapse('objective/entropy', falling)!;
    expect(a.kind).to.equal('entropy-collapse');
    expect(a.step).to.equal(30);
    expect(a.message).to.match(/^objective\/entropy collapsed: 1\.\d+ at the start, 0\.0\d+ by step 30 \(\d%\)$/);
    expect(entropyCollapse('entropy', series(Array.from({ length: 30 }, (_, i) => 2 - i / 30)))).to.equal(null); // down by half: not a collapse
    expect(entropyCollapse('entropy', series([2, 2, 2, 2, 2, 0, 0, 0, 0]))).to.equal(null); // too few points to say
    expect(entropyCollapse('entropy', series([2, 2, 2, 2, 2, 0, 0, 0, 0, 0]))!.step).to.equal(10);
  });

  it('reward hacking: reward up while gold goes down over the recent window; not on noise, nor when both rise', () => {
    const r = noise(7);
    const n = 40;
    const reward = series(Array.from({ length: n }, (_, i) => i / 10 + 0.3 * r()));
    const goldDown = series(Array.from({ length: n }, (_, i) => (i < 20 ? i / 20 : 2 - i / 20) + 0.3 * r()));
    const goldUp = series(Array.from({ length: n }, (_, i) => i / 20 + 0.3 * r()));
    const a = rewardHacking({ name: 'objective/scores', s: reward }, { name: 'objective/gold_scores', s: goldDown })!;
    expect(a.kind).to.equal('reward-hacking');
    expect(a.step).to.equal(40);
    expect(a.message).to.match(/^objective\/scores rose [\d.]+ sd while objective\/gold_scores fell [\d.]+ sd over steps 21–40: the policy may be hacking the reward$/);
    expect(rewardHacking({ name: 'r', s: reward }, { name: 'g', s: goldUp })).to.equal(null);
    // pure noise in both, 200 draws: no alert (each test passes noise about 1 time in 150)
    let raised = 0;
    for (let k = 0; k < 200; k++) {
      const a2 = rewardHacking({ name: 'r', s: series(Array.from({ length: 20 }, () => r())) }, { name: 'g', s: series(Array.from({ length: 20 }, () => r())) });
      if (a2) raised++;
    }
    expect(raised).to.equal(0);
    // only the steps both series have count; fewer than 8 of them say nothing
    const sparseGold = { step: [1, 2, 3, 40], value: [1, 1, 0, 0] };
    expect(rewardHacking({ name: 'r', s: reward }, { name: 'g', s: sparseGold })).to.equal(null);
  });

  it('a NaN stop: a failed run whose error names a non-finite value, and metrics whose latest value is not finite', () => {
    expect(nanStop('failed', 'step 3: loss is NaN, training stopped, the last good checkpoint is /r/step-2')!.message).to.equal('stopped on a non-finite value: step 3: loss is NaN, training stopped, the last good checkpoint is /r/step-2');
    expect(nanStop('failed', 'step 9: reward sentiment returned Infinity for completion 2; training stopped')).to.not.equal(null);
    expect(nanStop('failed', 'boom')).to.equal(null);
    expect(nanStop('done', 'loss is NaN')).to.equal(null);
    expect(nanStop('failed', null)).to.equal(null);
    expect(nanMetric('loss', series([1, 2, null]))).to.deep.equal({ kind: 'nan', step: 3, message: 'loss is NaN or infinite at step 3' });
    expect(nanMetric('loss', series([1, null, 2]))).to.equal(null);
  });

  it("runs every detector on a run's own names (PPO's objective/*, GRPO's bare ones)", () => {
    const steps = 30;
    const ppo = {
      'objective/kl': series(Array.from({ length: steps }, (_, i) => i)),
      'objective/entropy': series(Array.from({ length: steps }, (_, i) => 3 * Math.exp(-i / 4))),
      'objective/scores': series(Array.from({ length: steps }, (_, i) => i)),
      'objective/gold_scores': series(Array.from({ length: steps }, (_, i) => -i)),
      'loss/value_avg': series([...Array.from({ length: steps - 1 }, () => 1), null]),
    };
    const kinds = runAlerts({ state: 'failed', error: 'step 30: loss is NaN' }, ppo, { klMax: 10 }).map((a) => a.kind);
    expect(kinds).to.deep.equal(['nan', 'nan', 'kl', 'entropy-collapse', 'reward-hacking']);
    const grpo = { kl: ppo['objective/kl'], entropy: ppo['objective/entropy'], reward: ppo['objective/scores'], gold_reward: ppo['objective/gold_scores'] };
    expect(runAlerts({ state: 'running', error: null }, grpo, { klMax: 100 }).map((a) => a.kind)).to.deep.equal(['entropy-collapse', 'reward-hacking']);
    expect(runAlerts({ state: 'done', error: null }, {}, { klMax: 1 })).to.deep.equal([]);
  });
});
