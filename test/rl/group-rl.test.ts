// The GRPO and RLOO loops (rl/group-rl.ts with rl/grpo/grpo.ts and rl/rloo/rloo.ts) on a tiny model:
// resume equals an unbroken run (full and LoRA, with a reference, several iterations and accumulation),
// TRL's metric names, null rewards, a blown-up run stops naming its last good checkpoint, flat tensors.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../../data/metrics-sink.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { Lora } from '../../lm/lora.js';
import type { GroupRlResult } from '../../rl/group-rl.js';
import { resolveGrpoConfig } from '../../rl/grpo/config.js';
import { runGrpo } from '../../rl/grpo/grpo.js';
import { RewardFns, rewardFnsFrom, RewardValue } from '../../rl/reward-fns/reward-fn.js';
import { resolveRlooConfig } from '../../rl/rloo/config.js';
import { runRloo } from '../../rl/rloo/rloo.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { promptsFile } from './fixtures.js';

/** Reward functions: the fraction of completion tokens equal to `target`, and one with no opinion on odd rows. */
function rewards(target = 101, withNulls = false): RewardFns {
  const frac = (ids: number[]) => (ids.length ? ids.filter((t) => t === target).length / ids.length : 0);
  return rewardFnsFrom([
    { name: 'target', source: 'test', fn: ({ completionIds }) => completionIds.map(frac) },
    ...(withNulls ? [{ name: 'short', source: 'test', fn: ({ completionIds }: { completionIds: number[][] }) => completionIds.map((ids, i): RewardValue => (i % 2 ? null : -ids.length / 10)) }] : []),
  ]);
}

describe('rl/group-rl: GRPO and RLOO loops', function () {
  this.timeout(300_000);
  before(useBackend);
  let model: string;
  let prompts: string;
  before(async () => {
    model = await tinyCheckpoint(11);
    prompts = promptsFile();
  });
  const base = (over: Record<string, unknown>) => ({
    model, prompts, reward: 'length', out: tempDir('rlhf-group-'), steps: 4, promptsPerStep: 2, numGenerations: 4,
    maxCompletionLength: 6, lr: 3e-3, saveEvery: 2, sampleEvery: 2, sampleRows: 2, ...over,
  });

  async function finalLogits(lora: boolean, final: string): Promise<Float32Array> {
    const m = lora ? loadCheckpoint(model).model : loadCheckpoint(final).model;
    if (lora) Lora.load(final, m);
    const probe = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6]], undefined, 'int32');
    const out = tf.tidy(() => m.forward(probe).logits!.dataSync().slice());
    probe.dispose();
    m.adapter = null;
    m.dispose();
    return out as Float32Array;
  }

  const LORA = { lora: { rank: 2, alpha: 4, targets: ['attn', 'mlp'] } };
  const variants: [string, 'grpo' | 'rloo', Record<string, unknown>][] = [
    ['GRPO, full fine-tuning, dapo', 'grpo', {}],
    ['GRPO, LoRA, beta 0.05 (adapter-off reference), 2 iterations, clip-higher, 2 micro-batches, grpo loss, batch scaling', 'grpo',
      { ...LORA, beta: 0.05, numIterations: 2, epsilonHigh: 0.28, gradientAccumulationSteps: 2, lossType: 'grpo', scaleRewards: 'batch', steps: 8 }],
    ['RLOO, full fine-tuning, frozen-copy reference', 'rloo', { beta: 0.05 }],
    ['RLOO, LoRA, k3, normalised advantages, 2 iterations', 'rloo', { ...LORA, klEstimator: 'k3', normalizeAdvantages: true, numIterations: 2, steps: 8 }],
  ];
  for (const [name, kind, over] of variants) {
    it(`resume continues exactly as an unbroken run (${name})`, async () => {
      const make = () => (kind === 'grpo' ? resolveGrpoConfig(base(over)) : resolveRlooConfig(base(over)));
      const run = (c: ReturnType<typeof make>, o: Parameters<typeof runGrpo>[1]): Promise<GroupRlResult> =>
        kind === 'grpo' ? runGrpo(c as Parameters<typeof runGrpo>[0], o) : runRloo(c as Parameters<typeof runRloo>[0], o);
      const a = make();
      const ra = await run(a, { rewardOverride: rewards() });
      const b = make();
      const before = tf.memory().numTensors;
      const half = a.steps / 2;
      const rb1 = await run(b, { rewardOverride: rewards(), stopAfter: half });
      expect(tf.memory().numTensors).to.equal(before);
      expect(rb1.step).to.equal(half);
      expect(rb1.final).to.equal(null);
      const sink = new MemorySink();
      const rb2 = await run(b, { rewardOverride: rewards(), resume: true, sink });
      expect(rb2.step).to.equal(a.steps);
      expect(sink.records.some((r) => r.type === 'event' && r.kind === 'resume')).to.equal(true);
      const joined = [...rb1.history, ...rb2.history];
      expect(joined).to.have.length(a.steps);
      for (const key of ['reward', 'loss', 'grad_norm', 'lr', 'num_tokens', 'entropy', 'clip_ratio/region_mean']) {
        for (let i = 0; i < a.steps; i++) expect(joined[i][key], `${key} at step ${i + 1}`).to.be.closeTo(ra.history[i][key], 1e-6);
      }
      expect(maxAbsDiff(await finalLogits(Boolean(a.lora), ra.final!), await finalLogits(Boolean(a.lora), rb2.final!))).to.be.lessThan(1e-6);
      expect(existsSync(join(b.out, `${kind}-config.json`))).to.equal(true);
      if (kind === 'grpo' && a.numIterations > 1) {
        // the rollout is reused: its second step's ratio differs from 1, and clipping is measured
        expect(ra.history[1]['clip_ratio/region_mean']).to.be.a('number');
      }
      if (a.beta > 0) expect(ra.history[0].kl).to.be.a('number');
      else expect(ra.history[0]).not.to.have.property('kl');
    });
  }

  it("logs TRL's metric names, each reward on its own, sample tables with every reward, and null rewards", async () => {
    const sink = new MemorySink();
    const before = tf.memory().numTensors;
    await runGrpo(resolveGrpoConfig(base({ steps: 2, goldReward: 'length', reward: ['length', 'length'], rewardWeights: [1, 0.5] })), { sink, rewardOverride: rewards(101, true) });
    expect(tf.memory().numTensors).to.equal(before);
    const metrics = sink.records.flatMap((r) => (r.type === 'metrics' ? [r.metrics] : []));
    expect(metrics).to.have.length(2);
    for (const k of ['reward', 'reward_std', 'rewards/target/mean', 'rewards/target/std', 'rewards/short/mean', 'rewards/short/std', 'frac_reward_zero_std', 'entropy',
      'clip_ratio/low_mean', 'clip_ratio/low_min', 'clip_ratio/high_mean', 'clip_ratio/high_max', 'clip_ratio/region_mean', 'completions/mean_length', 'completions/min_length',
      'completions/max_length', 'completions/mean_terminated_length', 'completions/clipped_ratio', 'num_tokens', 'step_time', 'lr', 'loss', 'grad_norm', 'gold_reward',
      'time/rollout', 'time/reward', 'time/update']) {
      expect(metrics[0], k).to.have.property(k).that.is.a('number');
    }
    // "short" scored only even rows: its mean is over those; the combined reward weighs it by 0.5
    expect(metrics[0]['rewards/short/mean']).to.be.at.most(0);
    const samples = sink.records.find((r) => r.type === 'samples');
    expect(samples && samples.type === 'samples' && samples.rows[0].columns).to.have.keys('target', 'short');
    expect(metrics[1].num_tokens).to.be.above(metrics[0].num_tokens);
  });

  it('swaps in a refreshed reward (the online loop) at a rollout boundary, logging the switch', async () => {
    const sink = new MemorySink();
    let asked = 0;
    let disposed = 0;
    const refreshed = { name: 'reward-model:v1', score: async (p: string[]) => p.map(() => 2), dispose: () => void disposed++ };
    await runGrpo(resolveGrpoConfig(base({ steps: 3 })), {
      sink, rewardOverride: rewards(), pollReward: () => (++asked === 2 ? refreshed : null),
    });
    expect(asked).to.equal(3);
    const switches = sink.records.filter((r) => r.type === 'event' && r.kind === 'reward-switch');
    expect(switches.map((r) => r.step)).to.deep.equal([1]);
    const m = sink.records.flatMap((r) => (r.type === 'metrics' ? [r.metrics] : []));
    expect(m[0]).to.have.property('rewards/target/mean');
    expect(m[1]).to.include({ reward: 2, 'rewards/reward-model:v1/mean': 2, frac_reward_zero_std: 1 });
    expect(disposed).to.equal(1); // disposed with the run's rewards at the end
  });

  it('stops at a non-finite gradient, naming the last good checkpoint, and writes nothing after it', async () => {
    // unscaled advantages of ~3e38 (scaleRewards none) from step 3 on overflow the loss and its gradient
    const huge = rewardFnsFrom([{ name: 'huge', source: 'test', fn: ({ completions, step }) => completions.map((_, i) => (step >= 3 && i % 2 ? 3e38 : 0)) }]);
    const c = resolveGrpoConfig(base({ steps: 6, saveEvery: 1, scaleRewards: 'none' }));
    let msg = '';
    await runGrpo(c, { rewardOverride: huge }).catch((e: Error) => (msg = e.message));
    expect(msg).to.match(/^step 3: /);
    expect(msg).to.match(/step \d+: .*training stopped, (the last good checkpoint is .*step-\d+|no checkpoint was written)/);
    expect(existsSync(join(c.out, 'final'))).to.equal(false);
    if (/step-/.test(msg)) expect(readFileSync(join(c.out, 'latest'), 'utf8').trim()).to.equal(/step-\d+/.exec(msg)![0]);
  });
});
