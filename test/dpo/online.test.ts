// Online iterative DPO (dpo/online.ts) against a live server: the starter model's samples go into the
// labeling queue, simulated labelers (the sentiment rule) label them through the HTTP API, and each batch of
// new labels trains a DPO round; the next tasks come from the round's policy. Rounds are 'dpo-round' events
// on one step axis; --resume (with more rounds) goes on from the saved round and never reuses a label.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySink, SinkRecord } from '../../data/metrics-sink.js';
import { Store } from '../../data/store.js';
import { resolveDpoConfig } from '../../dpo/config.js';
import { ONLINE_STATE_FILE, runOnlineDpo } from '../../dpo/online.js';
import { simulateLabeler } from '../../labelers/simulated-labeler.js';
import { loadCheckpoint } from '../../lm/checkpoint.js';
import { loadRule } from '../../reward-models/rules.js';
import { RunningServer, startServer } from '../../server/app.js';
import { maxAbsDiff, tempDir, useBackend } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STARTER = join(ROOT, 'data', 'models', 'starter');
const PROMPTS = join(ROOT, 'data', 'prompts', 'demo.txt');

const events = (sink: MemorySink, kind: string) => sink.records.filter((r): r is Extract<SinkRecord, { type: 'event' }> => r.type === 'event' && r.kind === kind);

/** The first weights of a model folder's first block, to tell two policies apart. */
function weights(dir: string): Float32Array {
  const { model } = loadCheckpoint(dir);
  const name = [...model.params.keys()].find((n) => /\.0\./.test(n) && n.endsWith('weight'))!; // a first-block matrix, whatever the family
  const v = model.p(name).dataSync().slice() as Float32Array;
  model.dispose();
  return v;
}

describe('dpo/online: iterative DPO on live labels', function () {
  this.timeout(600_000);
  before(useBackend);
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let stop: AbortController;
  let working: Promise<unknown>[];

  before(async () => {
    dir = tempDir('rlhf-online-dpo-');
    store = new Store(join(dir, 'rlhf.db'));
    srv = await startServer({ store, host: '127.0.0.1', port: 0, rateLimit: 100_000 });
    const rule = await loadRule('sentiment');
    stop = new AbortController();
    working = [0, 1].map((i) => simulateLabeler({ url: srv.url, token: store.addUser(`sim${i}`, 'labeler'), rule, noise: 0, count: Infinity, seed: 1, waitMs: 100, signal: stop.signal }));
  });
  after(async () => {
    stop?.abort();
    await Promise.allSettled(working ?? []);
    await srv?.close();
    store?.close();
  });

  const config = (rounds: number) => resolveDpoConfig({
    model: STARTER, db: join(dir, 'rlhf.db'), out: join(dir, 'run'), lr: 1e-3, epochs: 2, batchSize: 4, valFraction: 0.25, evalEvery: 0, loggingSteps: 1, sampleRows: 2, seed: 3,
    onlineFeedback: { db: join(dir, 'rlhf.db'), promptFile: PROMPTS, prompts: 8, k: 2, maxNewTokens: 10, temperature: 1, roundEveryLabels: 8, rounds },
  });

  it('sends the policy\'s samples, trains a round on each 8 new labels, samples the next tasks from the new policy, and resumes with more rounds', async () => {
    const before = tf.memory().numTensors;
    const sink = new MemorySink();
    const r = await runOnlineDpo(config(2), { runId: 'online-dpo', sink, pollMs: 100 });
    expect(tf.memory().numTensors).to.equal(before);
    // the store held no labels at the start: no offline round, then two online ones
    expect(events(sink, 'dpo-round-skipped').map((e) => e.data)).to.deep.equal([{ round: 0, why: 'the store holds no preference labels yet' }]);
    expect(r.rounds.map((x) => x.round)).to.deep.equal([1, 2]);
    const rounds = events(sink, 'dpo-round');
    expect(rounds.map((e) => e.data.round)).to.deep.equal([1, 2]);
    for (const e of rounds) {
      expect(e.data.labels).to.be.at.least(8);
      expect(e.data.accuracy).to.be.within(0, 1);
    }
    // one step axis: round 2's steps follow round 1's, and each round's event sits at its last step
    const trainSteps = sink.records.filter((x) => x.type === 'metrics' && 'grad_norm' in x.metrics).map((x) => x.step);
    expect(trainSteps).to.deep.equal(Array.from({ length: trainSteps.length }, (_, i) => i + 1));
    expect(rounds[0].step).to.equal(r.rounds[0].steps);
    expect(rounds[1].step).to.equal(r.rounds[0].steps + r.rounds[1].steps);
    expect(r.step).to.equal(rounds[1].step);
    expect(sink.records.some((x) => x.type === 'samples' && x.step > rounds[0].step)).to.equal(true); // round 2's validation pairs
    // each round moved the policy
    const w0 = weights(STARTER);
    const [w1, w2] = r.rounds.map((x) => weights(x.policy));
    expect(maxAbsDiff(w0, w1)).to.be.above(1e-6);
    expect(maxAbsDiff(w1, w2)).to.be.above(1e-6);
    expect(maxAbsDiff(weights(r.final), w2)).to.equal(0);
    // reference initial: round 2 starts from round 1's policy and keeps the starter as its reference (a frozen copy)
    expect(events(sink, 'dpo-round-start').map((e) => e.data)[1]).to.deep.include({ round: 2, from: r.rounds[0].policy, reference: STARTER });
    expect(events(sink, 'reference').map((e) => e.data.kind)).to.deep.equal(['copy', 'copy']);
    // the tasks: the first batch from the starter, the next from round 1's policy, tagged with its step
    const sent = store.db.prepare(`SELECT c.model, min(c.step) AS step, count(DISTINCT tc.task_id) AS tasks FROM completions c JOIN task_completions tc ON tc.completion_id = c.id
      JOIN tasks t ON t.id = tc.task_id WHERE t.source = 'run:online-dpo' GROUP BY c.model ORDER BY min(c.id)`).all() as { model: string; step: number; tasks: number }[];
    expect(sent.map((x) => x.model).slice(0, 2)).to.deep.equal([STARTER, r.rounds[0].policy]);
    expect(sent[1].step).to.equal(rounds[0].step);
    for (const e of events(sink, 'feedback-tasks')) expect(e.data.policy).to.equal(e.data.round === 0 ? STARTER : r.rounds[(e.data.round as number) - 1].policy);
    // the state: rounds done, every label used once, by the round that used it
    const state = JSON.parse(readFileSync(join(dir, 'run', ONLINE_STATE_FILE), 'utf8'));
    expect(state).to.include({ round: 2, pending: null, stepOffset: r.step });
    expect(new Set(state.usedLabels).size).to.equal(state.usedLabels.length);
    expect(state.usedLabels).to.have.length(r.rounds[0].labels + r.rounds[1].labels);
    for (const k of [1, 2]) expect(existsSync(join(dir, 'run', 'rounds', `r${k}`, 'labels.jsonl'))).to.equal(true);

    // a different config is refused; more rounds go on from round 2 with only labels no round used
    const bad = await runOnlineDpo(resolveDpoConfig({ ...config(3), beta: 0.5 }), { runId: 'online-dpo', resume: true }).then(() => null, (e: Error) => e.message);
    expect(bad).to.match(/--resume with a different config \(beta\); only onlineFeedback\.rounds may change/, String(bad));
    const more = new MemorySink();
    const r3 = await runOnlineDpo(config(3), { runId: 'online-dpo', sink: more, resume: true, pollMs: 100 });
    expect(r3.rounds.map((x) => x.round)).to.deep.equal([1, 2, 3]);
    expect(events(more, 'dpo-round').map((e) => e.data.round)).to.deep.equal([3]); // rounds 1 and 2 are not trained again
    expect(events(more, 'dpo-round-start')[0].data.from).to.equal(r.rounds[1].policy); // warm start from round 2's policy
    expect(more.records.filter((x) => x.type === 'metrics' && 'grad_norm' in x.metrics)[0].step).to.equal(r.step + 1);
    const after = JSON.parse(readFileSync(join(dir, 'run', ONLINE_STATE_FILE), 'utf8'));
    expect(new Set(after.usedLabels).size).to.equal(after.usedLabels.length);
    expect(after.usedLabels.slice(0, state.usedLabels.length)).to.deep.equal(state.usedLabels);
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('LoRA with reference previous: round 0 on the labels already in the store, each adapter folded into a full model for the next round', async () => {
    const before = tf.memory().numTensors;
    const sink = new MemorySink();
    const c = resolveDpoConfig({
      model: STARTER, db: join(dir, 'rlhf.db'), out: join(dir, 'lora'), lr: 3e-3, epochs: 1, batchSize: 4, valFraction: 0.25, evalEvery: 0, seed: 4, lora: { rank: 2, alpha: 4, targets: ['attn'] },
      onlineFeedback: { db: join(dir, 'rlhf.db'), promptFile: PROMPTS, prompts: 8, k: 2, maxNewTokens: 8, temperature: 1, roundEveryLabels: 8, rounds: 1, reference: 'previous' },
    });
    const r = await runOnlineDpo(c, { runId: 'online-lora', sink, pollMs: 100 });
    expect(tf.memory().numTensors).to.equal(before);
    expect(r.rounds.map((x) => x.round)).to.deep.equal([0, 1]);
    const labelsInStore = store.db.prepare("SELECT count(*) FROM labels WHERE kind = 'ranking' AND task_id IN (SELECT id FROM tasks WHERE source = 'run:online-dpo')").pluck().get() as number;
    expect(r.rounds[0].labels).to.be.at.most(labelsInStore).and.above(0); // round 0: the store's labels at the start (the first run's)
    for (const x of r.rounds) {
      expect(x.policy).to.equal(join(dir, 'lora', 'rounds', `r${x.round}`, 'policy'));
      expect(existsSync(join(x.policy, 'model.safetensors'))).to.equal(true); // a full model, not an adapter
    }
    expect(maxAbsDiff(weights(STARTER), weights(r.rounds[0].policy))).to.be.above(1e-6);
    expect(maxAbsDiff(weights(r.rounds[0].policy), weights(r.rounds[1].policy))).to.be.above(1e-6);
    // reference previous under LoRA: the adapter switched off on the round's start, the previous round's policy
    const start = events(sink, 'dpo-round-start').map((e) => e.data);
    expect(start[1]).to.deep.include({ round: 1, from: r.rounds[0].policy, reference: r.rounds[0].policy });
    expect(events(sink, 'reference').map((e) => e.data.kind)).to.deep.equal(['adapter-off', 'adapter-off']);
    const sent = store.db.prepare("SELECT DISTINCT c.model FROM completions c JOIN task_completions tc ON tc.completion_id = c.id JOIN tasks t ON t.id = tc.task_id WHERE t.source = 'run:online-lora'").pluck().all();
    expect(sent).to.deep.equal([r.rounds[0].policy]); // the online round's tasks came from round 0's policy
  });
});
