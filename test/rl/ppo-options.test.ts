// PPO's reference conventions inside the loop: the missing-EOS penalty and stop strings as the reward and
// the losses see them, the all-skipped event, the critic started from the reward model (and its resume),
// and the per-update learning-rate schedule.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { readFileSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink } from '../../data/metrics-sink.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { Tokenizer } from '../../lm/tokenizer.js';
import { RewardModel } from '../../reward-models/reward-model.js';
import { pack, PpoModels } from '../../rl/policy.js';
import { ppoLr, ppoUpdateLr, runPpo } from '../../rl/ppo.js';
import { PpoConfig, PpoConfigError, resolvePpoConfig } from '../../rl/ppo-config.js';
import { RewardSource } from '../../rl/reward-source.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';
import { tinyCheckpoint } from '../lm/fixtures.js';
import { promptsFile, targetTokenReward } from './fixtures.js';

describe('rl/ppo options in the loop', () => {
  before(useBackend);
  let model: string;
  let prompts: string;
  let tok: Tokenizer;
  let rmDir: string;
  before(async () => {
    model = await tinyCheckpoint(9);
    prompts = promptsFile();
    const ck = loadCheckpoint(model);
    tok = ck.tokenizer!;
    ck.model.dispose();
    // a reward model on another random backbone with the policy's tokenizer, normalised (mean 0.3, std 2)
    const r = loadCheckpoint(await tinyCheckpoint(13));
    const rm = new RewardModel(r.model, r.tokenizer!);
    rm.norm = { mean: 0.3, std: 2, samples: 8 };
    rmDir = join(tempDir(), 'rm');
    await rm.save(rmDir);
    rm.dispose();
  });
  const cfg = (over: Record<string, unknown> = {}): PpoConfig => resolvePpoConfig({
    model, prompts, reward: 'length', out: tempDir('rlhf-ppo-opt-'), steps: 2, batchSize: 8, miniBatchSize: 4, ppoEpochs: 2,
    maxNewTokens: 6, temperature: 1, lr: 3e-3, saveEvery: 100, sampleEvery: 1, sampleRows: 8, ...over,
  });
  /** A reward of each completion's token count, recording what it was shown. */
  const recorder = () => {
    const seen: { texts: string[]; ids: number[][] }[] = [];
    const source: RewardSource = { name: 'tokens', score: async (_p, c, ids) => (seen.push({ texts: c, ids: ids! }), ids!.map((r) => r.length)) };
    return { seen, source };
  };
  const eos = () => tok.eosId!;
  const STOP = [' ', 'e']; // frequent enough in a random tiny model's bytes to end some completions, not all
  const stopped = (ids: number[]) => ids.at(-1) !== eos() && STOP.some((s) => tok.decode(ids).includes(s));
  const cut = (text: string) => text.slice(0, Math.min(...STOP.map((s) => text.indexOf(s)).filter((i) => i >= 0)));

  it('stop strings cut the text the reward sees, and the missing-EOS penalty hits exactly the completions that never ended', async () => {
    const { seen, source } = recorder();
    const sink = new MemorySink();
    await runPpo(cfg({ stop: STOP, missingEosPenalty: 0.5 }), { sink, rewardOverride: source });
    const tables = sink.records.flatMap((r) => (r.type === 'samples' ? [r.rows] : []));
    expect(tables).to.have.length(2);
    let ended = 0;
    let open = 0;
    tables.forEach((rows, s) => rows.forEach((row, i) => {
      const ids = seen[s].ids[i];
      const finished = ids.at(-1) === eos() || stopped(ids);
      (finished ? ended++ : open++);
      expect(row.score, `step ${s + 1} row ${i}`).to.be.closeTo(ids.length - (finished ? 0 : 0.5), 1e-9);
      const text = seen[s].texts[i];
      for (const stop of STOP) expect(text).to.not.include(stop);
      if (stopped(ids)) expect(text).to.equal(cut(tok.decode(ids)));
    }));
    expect(ended, 'some completions end on the stop string').to.be.greaterThan(0);
    expect(open, 'some run to maxNewTokens').to.be.greaterThan(0);
    const scores = sink.series('objective/scores');
    expect(scores[0]).to.be.closeTo(tables[0].reduce((a, r) => a + r.score, 0) / 8, 1e-9);
  });

  it('maskStopTokens drops the token that completed a stop string from the trained response', async () => {
    const runs: { ids: number[][]; m: Record<string, number> }[] = [];
    for (const maskStopTokens of [false, true]) {
      const { seen, source } = recorder();
      const r = await runPpo(cfg({ steps: 1, stop: STOP, maskStopTokens }), { rewardOverride: source });
      runs.push({ ids: seen[0].ids, m: r.history[0] });
    }
    expect(runs[1].ids).to.deep.equal(runs[0].ids); // same seed, same first rollout
    const ids = runs[0].ids;
    expect(ids.some(stopped)).to.equal(true);
    const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
    expect(runs[0].m['val/response_length']).to.be.closeTo(mean(ids.map((r) => r.length)), 1e-9);
    // generation stops at the completing token, so it is the last one; a lone token stays (the score needs a place)
    expect(runs[1].m['val/response_length']).to.be.closeTo(mean(ids.map((r) => (stopped(r) ? Math.max(1, r.length - 1) : r.length))), 1e-9);
  });

  it('an iteration whose minibatches all exceed ratioThreshold trains nothing, says so, and logs no NaN', async () => {
    const sink = new MemorySink();
    const c = cfg({ ratioThreshold: 0.5 }); // the ratio starts at 1
    const r = await runPpo(c, { sink, rewardOverride: targetTokenReward(101) });
    const events = sink.records.filter((x) => x.type === 'event' && x.kind === 'all-minibatches-skipped');
    expect(events.map((e) => e.step)).to.deep.equal([1, 2]);
    const data = events[0].type === 'event' ? events[0].data : {};
    expect(data).to.include({ skipped: 4, ratioThreshold: 0.5 });
    for (const h of r.history) {
      expect(Object.values(h).every(Number.isFinite), JSON.stringify(h)).to.equal(true);
      expect(h).to.not.have.property('loss/policy_avg');
      expect(h['policy/skipped_minibatches']).to.equal(4);
    }
    // no update ran: the final policy is the initial one
    const probe = tf.tensor2d([[3, 1, 4, 1, 5, 9, 2, 6]], undefined, 'int32');
    const [a, b] = [model, r.final!].map((dir) => {
      const m = loadCheckpoint(dir).model;
      const out = tf.tidy(() => m.forward(probe).logits!.dataSync().slice());
      m.dispose();
      return out;
    });
    probe.dispose();
    expect(maxAbsDiff(a, b)).to.equal(0);
  });

  it("valueModel 'reward-model' needs a reward-model folder that shares the policy's tokenizer", async () => {
    const fail = async (over: Record<string, unknown>) => {
      let err: Error | null = null;
      await runPpo(cfg({ valueModel: 'reward-model', ...over }), { rewardOverride: targetTokenReward(101) }).catch((e: Error) => (err = e));
      return err!;
    };
    const rule = await fail({ reward: 'length' });
    expect(rule).to.be.instanceOf(PpoConfigError);
    expect(rule.message).to.match(/valueModel 'reward-model' starts the critic from the reward model, so reward must be a reward-model folder; got 'length'/);
    expect((await fail({ reward: model })).message).to.match(/valueModel 'reward-model' starts the critic from the reward model, and .*config\.json: not a reward model/);
    const other = join(tempDir(), 'rm-other-vocab');
    cpSync(rmDir, other, { recursive: true });
    const j = JSON.parse(readFileSync(join(other, 'tokenizer.json'), 'utf8'));
    const [k1, k2] = Object.keys(j.model.vocab).slice(100, 102);
    [j.model.vocab[k1], j.model.vocab[k2]] = [j.model.vocab[k2], j.model.vocab[k1]];
    writeFileSync(join(other, 'tokenizer.json'), JSON.stringify(j));
    expect((await fail({ reward: other })).message).to.match(/rm-other-vocab: valueModel 'reward-model' needs the reward model to share the policy's tokenizer/);
  });

  it("the reward-model critic's first value after the last token is the reward model's normalised score", () => {
    const before = tf.memory().numTensors;
    const m = PpoModels.load(model, { lora: null, separateCritic: true, seed: 0, criticFromRewardModel: rmDir });
    const rm = RewardModel.load(rmDir);
    try {
      const q = [5, 6, 7];
      const resp = [[12, 13], [14, 15, 16]]; // row 0 leaves one position after its last token
      const p = pack([q, q], resp, 0);
      const v = tf.tidy(() => m.criticForward(p).dataSync().slice()); // [2 * 3]
      const raw = tf.tidy(() => {
        const { ids, mask, lengths } = RewardModel.pad([[...q, ...resp[0]]], 0);
        return rm.rewards(ids, mask, lengths).dataSync()[0];
      });
      expect(v[2]).to.be.closeTo((raw - 0.3) / 2, 1e-5);
      expect(m.trainable().has('critic.wte.weight')).to.equal(true);
    } finally {
      rm.dispose();
      m.dispose();
    }
    expect(tf.memory().numTensors).to.equal(before);
  });

  it("resume continues exactly as an unbroken run with the reward-model critic, TRL's score position, whitening, k3 early stop and the per-update schedule", async () => {
    const over = {
      steps: 4, saveEvery: 2, sampleEvery: 0, reward: rmDir, valueModel: 'reward-model', scoreAt: 'after-last-token', whitenRewards: true,
      targetKl: 0.002, targetKlEstimator: 'k3', lrSchedule: 'linear-per-update', adamEpsilon: 1e-5,
    };
    const a = cfg(over);
    const ra = await runPpo(a, { rewardOverride: targetTokenReward(101) });
    const b = cfg(over);
    const before = tf.memory().numTensors;
    const rb1 = await runPpo(b, { rewardOverride: targetTokenReward(101), stopAfter: 2 });
    expect(tf.memory().numTensors).to.equal(before);
    const rb2 = await runPpo(b, { rewardOverride: targetTokenReward(101), resume: true });
    const joined = [...rb1.history, ...rb2.history];
    for (const key of ['objective/scores', 'objective/kl', 'loss/policy_avg', 'loss/value_avg', 'policy/early_stopped', 'lr']) {
      for (let i = 0; i < 4; i++) expect(joined[i][key], `${key} at step ${i + 1}`).to.be.closeTo(ra.history[i][key], 1e-6);
    }
    for (let s = 1; s <= 4; s++) expect(ra.history[s - 1].lr).to.equal(ppoUpdateLr(a, s, 0));
    expect(ra.history.some((h) => h['policy/early_stopped'] === 1), 'the k3 early stop fired').to.equal(true);
    const critic = (dir: string) => {
      const m = loadCheckpoint(join(dir, 'critic')).model;
      const w = m.p('h.1.mlp.c_fc.weight').dataSync().slice();
      m.dispose();
      return w;
    };
    expect(maxAbsDiff(critic(ra.final!), critic(rb2.final!))).to.be.lessThan(1e-6);
    const rm = RewardModel.load(rmDir);
    expect(maxAbsDiff(critic(ra.final!), rm.backbone.p('h.1.mlp.c_fc.weight').dataSync())).to.be.greaterThan(0); // it trained
    rm.dispose();
  });

  it('linear-per-update decays per optimizer step towards 0; linear per iteration ends at lr/steps', () => {
    const c = resolvePpoConfig({ model: 'm', prompts: 'p', reward: 'length', out: 'o', steps: 2, ppoEpochs: 2, batchSize: 8, miniBatchSize: 4, lr: 1, lrSchedule: 'linear-per-update' });
    // N = 2 steps · 2 epochs · 2 minibatches = 8 planned updates; update n runs at 1 − n/8
    expect([[1, 0], [1, 3], [2, 0], [2, 3]].map(([s, k]) => ppoUpdateLr(c, s, k))).to.deep.equal([1, 1 - 3 / 8, 0.5, 1 / 8]);
    expect([ppoLr(c, 1), ppoLr(c, 2)]).to.deep.equal([1, 0.5]);
    const it = { ...c, lrSchedule: 'linear' as const };
    expect([ppoUpdateLr(it, 2, 0), ppoUpdateLr(it, 2, 3)]).to.deep.equal([0.5, 0.5]);
    expect(resolvePpoConfig({ model: 'm', prompts: 'p', reward: 'length', out: 'o' })).to.include({
      adamEpsilon: 1e-8, valueModel: 'shared', scoreAt: 'last-token', targetKlEstimator: 'approxkl', maskStopTokens: false, lrSchedule: 'linear',
    });
  });
});
