import { expect } from 'chai';
import { GrpoConfigError, resolveGrpoConfig } from '../../../rl/grpo/config.js';
import { scheduledLr } from '../../../rl/lr-schedule.js';
import { resolveRlooConfig, RlooConfigError } from '../../../rl/rloo/config.js';

const need = { model: 'm', prompts: 'p.txt', reward: ['sentiment'], out: 'runs/x' };

describe('rl/grpo/config and rl/rloo/config', () => {
  it("GRPO defaults are TRL's GRPOConfig ones", () => {
    const c = resolveGrpoConfig(need);
    expect(c).to.include({ numGenerations: 8, beta: 0, lossType: 'dapo', scaleRewards: 'group', epsilon: 0.2, epsilonHigh: null, numIterations: 1, temperature: 1, topP: 1, topK: 0, lr: 1e-6, lrSchedule: 'linear', warmupSteps: 0, maxGradNorm: 1, weightDecay: 0, gradientAccumulationSteps: 1, maskTruncatedCompletions: false, rewardWeights: null, lora: null, onlineFeedback: null });
  });

  it("RLOO defaults are TRL's RLOOConfig ones", () => {
    const c = resolveRlooConfig(need);
    expect(c).to.include({ numGenerations: 2, beta: 0.05, klEstimator: 'k1', normalizeAdvantages: false, rewardClipRange: null, epsilon: 0.2, epsilonHigh: null, lr: 1e-6 });
    expect(c).to.not.have.property('lossType');
  });

  it('takes a single reward string as a list of one', () => {
    expect(resolveGrpoConfig({ ...need, reward: 'length' }).reward).to.deep.equal(['length']);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['numGenerations of 1', { numGenerations: 1 }, /^config: numGenerations must be an integer >= 2, got 1$/],
    ['too few weights', { reward: ['sentiment', 'length'], rewardWeights: [1] }, /^config: rewardWeights has 1 entries for 2 rewards; give one weight per reward$/],
    ['a weight that is not a number', { rewardWeights: ['1'] }, /^config: rewardWeights must be a list of numbers or null, got \["1"\]$/],
    ['an unknown loss type', { lossType: 'ppo' }, /^config: lossType must be one of grpo, dr_grpo, dapo, bnpo, got "ppo"$/],
    ['an unknown reward scaling', { scaleRewards: true }, /^config: scaleRewards must be one of group, batch, none, got true$/],
    ['epsilon of 1', { epsilon: 1 }, /^config: epsilon must be a number in \[0, 1\), got 1$/],
    ['topP of 0', { topP: 0 }, /^config: topP must be a number in \(0, 1\], got 0$/],
    ['no reward', { reward: [] }, /^config: reward must be a non-empty list of non-empty strings, got \[\]$/],
    ['a step batch that does not split', { promptsPerStep: 3, gradientAccumulationSteps: 2 }, /promptsPerStep \(3\) must be a multiple of gradientAccumulationSteps \(2\)/],
    ['warm-up as long as the run', { steps: 10, warmupSteps: 10 }, /warmupSteps \(10\) must be less than steps \(10\)/],
    ['a misspelt field', { numGeneration: 4 }, /^config: unknown field 'numGeneration'$/],
    ['a bad online-feedback field', { onlineFeedback: { db: 'x.db', k: 1 } }, /^config: onlineFeedback.k must be an integer in \[2, 16\], got 1$/],
  ];
  for (const [what, over, msg] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      expect(() => resolveGrpoConfig({ ...need, ...over })).to.throw(GrpoConfigError, msg);
    });
  }

  it('refuses RLOO-only mistakes, naming the field', () => {
    expect(() => resolveRlooConfig({ ...need, rewardClipRange: [1, 0] })).to.throw(RlooConfigError, /rewardClipRange must be \[min, max\] with min <= max, got \[1,0\]/);
    expect(() => resolveRlooConfig({ ...need, rewardClipRange: [1] })).to.throw(RlooConfigError, /rewardClipRange must be \[min, max\] with min <= max, got \[1\]/);
    expect(() => resolveRlooConfig({ ...need, klEstimator: 'k2' })).to.throw(RlooConfigError, /klEstimator must be one of k1, k3/);
    expect(() => resolveRlooConfig({ ...need, lossType: 'dapo' })).to.throw(RlooConfigError, /unknown field 'lossType'/);
  });

  it('deduplicates LoRA targets', () => {
    expect(resolveGrpoConfig({ ...need, lora: { rank: 4, alpha: 8, targets: ['attn', 'attn'] } }).lora!.targets).to.deep.equal(['attn']);
  });
});

describe('rl/lr-schedule', () => {
  const c = { lr: 1, steps: 10, warmupSteps: 0 };
  it("linear: transformers' schedule, full lr at the first step, lr / steps at the last", () => {
    expect(scheduledLr({ ...c, lrSchedule: 'linear' }, 1)).to.equal(1);
    expect(scheduledLr({ ...c, lrSchedule: 'linear' }, 10)).to.be.closeTo(0.1, 1e-12);
  });
  it('warm-up from 0, then decay over the remaining steps', () => {
    const w = { ...c, warmupSteps: 2, lrSchedule: 'linear' as const };
    expect([1, 2, 3, 10].map((s) => scheduledLr(w, s))).to.deep.equal([0, 0.5, 1, 1 / 8]);
    expect(scheduledLr({ ...w, lrSchedule: 'constant' }, 2)).to.equal(0.5);
    expect(scheduledLr({ ...w, lrSchedule: 'constant' }, 9)).to.equal(1);
  });
  it('cosine: half a cycle to 0', () => {
    expect(scheduledLr({ ...c, lrSchedule: 'cosine' }, 1)).to.equal(1);
    expect(scheduledLr({ ...c, lrSchedule: 'cosine' }, 6)).to.be.closeTo(0.5, 1e-12);
    expect(scheduledLr({ ...c, lrSchedule: 'cosine' }, 10)).to.be.closeTo(0.5 * (1 + Math.cos(0.9 * Math.PI)), 1e-12);
  });
});
