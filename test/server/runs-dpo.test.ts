// DPO runs through the runs API with a real child: a tiny DPO run of the starter model on the server's own
// store, seeded with simulated labels (demo/simulated-labels.ts: the starter's samples labeled by the
// sentiment rule through a live server), to done with TRL's DPO metric names and its table of validation
// pairs; a workspace copy of a store as db; online iterative DPO launched through the API, its tasks
// labeled by simulated labelers while it runs, to two rounds. And the refusals: paths outside the
// workspace, another store, schema and quota problems, the wrong role: 4xx naming the field, never a 5xx.
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { collectSimulatedLabels } from '../../demo/simulated-labels.js';
import { simulateLabeler } from '../../labelers/simulated-labeler.js';
import { loadRule } from '../../reward-models/rules.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir, useBackend } from '../helpers.js';
import { apiClient, Reply } from './api-client.js';
import { until } from './run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STARTER = join(ROOT, 'data', 'models', 'starter');
const PROMPTS = join(ROOT, 'data', 'prompts', 'demo.txt');
const TRL = ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/margins', 'rewards/accuracies', 'logps/chosen', 'logps/rejected', 'logits/chosen', 'logits/rejected', 'grad_norm', 'lr', 'num_tokens'];

describe('server: DPO runs through the API', function () {
  this.timeout(300_000);
  before(useBackend);
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let rita: string;
  const statuses: number[] = [];
  const api = apiClient(() => srv.url);
  const call = async (method: string, path: string, body?: unknown, token = rita): Promise<Reply> => {
    const r = await api(token, method, path, body);
    statuses.push(r.status);
    return r;
  };
  const tiny = (extra: Record<string, unknown> = {}) => ({ model: STARTER, epochs: 1, batchSize: 2, lr: 1e-3, loggingSteps: 1, evalEvery: 0, valFraction: 0.25, sampleRows: 3, ...extra });
  const finished = (id: string) => until(async () => {
    const r = (await call('GET', `/api/runs/${id}`)).data.run;
    if (r.state === 'failed') throw new Error(`run failed: ${r.error}\n${(await call('GET', `/api/runs/${id}/log`)).text.slice(-2000)}`);
    return r.state === 'done' ? r : null;
  }, `run ${id} to finish`, 240_000);

  before(async () => {
    dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const prompts = readFileSync(PROMPTS, 'utf8').split('\n').filter(Boolean);
    const seeded = await collectSimulatedLabels({ db, model: STARTER, prompts, tasksPerPrompt: 2, k: 2, maxNewTokens: 10, temperature: 1, labelers: 2, rule: 'sentiment', noise: 0, seed: 5 });
    expect(seeded.labels).to.equal(2 * prompts.length);
    store = new Store(db);
    rita = store.addUser('rita', 'researcher');
    srv = await startServer({ store, port: 0, rateLimit: 100_000 });
  });
  after(async () => {
    await srv?.close();
    store?.close();
  });

  it("a researcher launches a tiny DPO run on the server's labels; it runs to done with TRL's DPO metrics and its validation pairs", async () => {
    const r = await call('POST', '/api/runs', { kind: 'dpo', config: tiny() });
    expect(r.status, r.text).to.equal(201);
    expect(r.data).to.include({ kind: 'dpo', owner: 'rita' });
    const id = r.data.id as string;
    // the launch file is the resolved config: the server's store as db (none was given), defaults filled, out the server's
    const launched = JSON.parse(readFileSync(join(dir, 'runs', `${id}.config.json`), 'utf8'));
    expect(launched).to.deep.include({ db: join(dir, 'rlhf.db'), data: [], out: join(dir, 'runs', id), beta: 0.1, lossType: 'sigmoid', reference: 'auto', onlineFeedback: null, epochs: 1 });
    await finished(id);
    expect(existsSync(join(dir, 'runs', id, 'final', 'model.safetensors'))).to.equal(true);
    const series = (await call('GET', `/api/runs/${id}/metrics`)).data.series as Record<string, { step: number[]; value: (number | null)[] }>;
    const steps = series.loss.step;
    expect(steps.length).to.be.at.least(2);
    for (const m of TRL) expect(series[m]?.step, m).to.deep.equal(steps);
    for (const m of TRL.filter((n) => n !== 'grad_norm' && n !== 'lr')) expect(series[`eval/${m}`]?.step, `eval/${m}`).to.deep.equal([steps.at(-1)]);
    for (const v of series['rewards/accuracies'].value) expect(v).to.be.within(0, 1);
    const samples = (await call('GET', `/api/runs/${id}/samples`)).data as { step: number; prompt: string; completion: string; score: number; columns: Record<string, unknown> }[];
    expect(samples.length).to.be.within(1, 3);
    for (const s of samples) {
      expect(s.step).to.equal(steps.at(-1));
      expect(s.columns).to.have.keys('rejected', 'rejected_reward', 'margin', 'correct');
      expect(s.columns.margin as number).to.be.closeTo(s.score - (s.columns.rejected_reward as number), 1e-6);
      expect(s.columns.correct).to.equal((s.columns.margin as number) > 0);
    }
    const events = (await call('GET', `/api/runs/${id}`)).data.events.map((e: { kind: string }) => e.kind);
    expect(events).to.include.members(['data', 'reference', 'result']);
  });

  it('takes a store copied into the workspace as db (read-only), and JSONL data in the workspace', async () => {
    mkdirSync(join(dir, 'data'), { recursive: true });
    const copy = join(dir, 'data', 'copy.db');
    store.db.exec(`VACUUM INTO '${copy}'`);
    const prefs = join(dir, 'data', 'prefs.jsonl');
    writeFileSync(prefs, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Prompt ${i}:`, chosen: ' a fine day', rejected: ' a sad day' })).join('\n') + '\n');
    const a = await call('POST', '/api/runs', { kind: 'dpo', config: tiny({ db: copy }) });
    expect(a.status, a.text).to.equal(201);
    expect(a.data.config.db).to.equal(copy);
    await finished(a.data.id);
    const b = await call('POST', '/api/runs', { kind: 'dpo', config: tiny({ data: [prefs] }) });
    expect(b.status, b.text).to.equal(201);
    expect(b.data.config).to.deep.include({ db: null, data: [prefs] });
    await finished(b.data.id);
  });

  it('refuses bad DPO launches with a 400 naming the field (or 403 for a labeler), queueing nothing', async () => {
    const before = readdirSync(join(dir, 'runs')).length;
    const runsBefore = store.db.prepare('SELECT count(*) FROM runs').pluck().get();
    const refused = async (config: Record<string, unknown>, status = 400): Promise<string> => {
      const r = await call('POST', '/api/runs', { kind: 'dpo', config });
      expect(r.status, `${JSON.stringify(config)}: ${r.text}`).to.equal(status);
      return r.data.error as string;
    };
    const online = (o: Record<string, unknown>) => tiny({ onlineFeedback: { promptFile: PROMPTS, ...o } });
    expect(await refused(tiny({ model: '/usr' }))).to.match(/^body\.config\.model: must be inside the server's workspace/);
    expect(await refused(tiny({ data: ['/etc/passwd'] }))).to.match(/^body\.config\.data\[0\]: must be inside the server's workspace/);
    expect(await refused(tiny({ data: 'x.jsonl' }))).to.match(/^body\.config\.data: must be a list of JSONL files/);
    expect(await refused(tiny({ db: join(dir, 'other.db') }))).to.match(/^body\.config\.db: must be inside the server's workspace/);
    expect(await refused(tiny({ db: `${join(dir, 'rlhf.db')}-wal` }))).to.match(/^body\.config\.db: must be inside the server's workspace/);
    expect(await refused(tiny({ out: join(dir, 'runs', 'mine') }))).to.match(/^body\.config\.out: the server picks the run folder/);
    // the schema, as the child would check it
    expect(await refused(tiny({ beta: 0 }))).to.equal('body.config: beta must be a number in (0, 1000], got 0');
    expect(await refused(tiny({ lossType: 'kto' }))).to.match(/^body\.config: lossType must be one of sigmoid, ipo, hinge, robust, sigmoid_norm/);
    expect(await refused(tiny({ bta: 0.1 }))).to.equal("body.config: unknown field 'bta'");
    expect(await refused(tiny({ db: join(dir, 'rlhf.db'), data: [PROMPTS] }))).to.match(/^body\.config: give exactly one of db \(a label store\) or data/);
    expect(await refused(tiny({ labelSmoothing: 0.1, lossType: 'hinge' }))).to.match(/^body\.config: labelSmoothing applies to lossType sigmoid and robust only/);
    const { model: _m, ...noModel } = tiny();
    expect(await refused(noModel)).to.match(/^body\.config: model is required/);
    // the online block
    expect(await refused(online({ db: join(dir, 'other.db') }))).to.match(/^body\.config\.onlineFeedback\.db: runs launched through the API use the server's own store/);
    expect(await refused(online({ promptFile: '/etc/passwd' }))).to.match(/^body\.config\.onlineFeedback\.promptFile: must be inside the server's workspace/);
    expect(await refused(online({ k: 1 }))).to.match(/^body\.config: onlineFeedback\.k must be an integer in \[2, 16\], got 1/);
    expect(await refused(online({ reference: 'moving' }))).to.match(/^body\.config: onlineFeedback\.reference must be one of initial, previous/);
    expect(await refused(tiny({ onlineFeedback: { rounds: 2 } }))).to.match(/^body\.config: onlineFeedback\.promptFile is required/);
    // the quotas, on the resolved config (defaults count)
    expect(await refused(tiny({ batchSize: 300 }))).to.match(/^body\.config\.batchSize: 300 is over this server's quota of 256 sequences/);
    expect(await refused(tiny({ batchSize: 64, gradientAccumulationSteps: 8 }))).to.match(/^body\.config\.gradientAccumulationSteps: 512 is over this server's quota of 256 comparisons per step/);
    expect(await refused(tiny({ evalBatchSize: 1000 }))).to.match(/^body\.config\.evalBatchSize: 1000 is over/);
    expect(await refused(tiny({ maxLength: 4096 }))).to.match(/^body\.config\.maxLength: 4096 is over this server's quota of 1024 tokens/);
    expect(await refused(tiny({ maxLength: null }))).to.match(/^body\.config\.maxLength: null \(the model's whole context\) may be over this server's quota/);
    expect(await refused(tiny({ epochs: 100 }))).to.match(/^body\.config\.epochs: 100 is over this server's quota of 20 epochs/);
    expect(await refused(online({ rounds: 1000 }))).to.match(/^body\.config\.onlineFeedback\.rounds: 1000 is over this server's quota of 200 rounds/);
    expect(await refused(online({ maxNewTokens: 5000 }))).to.match(/^body\.config\.onlineFeedback\.maxNewTokens: 5000 is over/);
    const ann = store.addUser('ann', 'labeler');
    const asLabeler = await call('POST', '/api/runs', { kind: 'dpo', config: tiny() }, ann);
    expect(asLabeler.status).to.equal(403);
    expect(store.db.prepare('SELECT count(*) FROM runs').pluck().get()).to.equal(runsBefore);
    expect(readdirSync(join(dir, 'runs'))).to.have.length(before); // no launch file for a refused run
    expect(statuses.filter((s) => s >= 500)).to.deep.equal([]);
  });

  it('online iterative DPO launched through the API: its tasks go to the server\'s queue, labelers label them, two rounds train', async () => {
    const rule = await loadRule('sentiment');
    const stop = new AbortController();
    const labelers = [0, 1].map((i) => simulateLabeler({ url: srv.url, token: store.addUser(`live${i}`, 'labeler'), rule, noise: 0, count: Infinity, seed: 2, waitMs: 100, signal: stop.signal }));
    try {
      const r = await call('POST', '/api/runs', { kind: 'dpo', config: tiny({ onlineFeedback: { promptFile: PROMPTS, prompts: 8, maxNewTokens: 10, temperature: 1, roundEveryLabels: 8, rounds: 2 } }) });
      expect(r.status, r.text).to.equal(201);
      const id = r.data.id as string;
      expect(r.data.config.onlineFeedback).to.deep.include({ db: join(dir, 'rlhf.db'), promptFile: PROMPTS, reference: 'initial', offlineRound: true });
      await finished(id);
      const events = (await call('GET', `/api/runs/${id}`)).data.events as { step: number; kind: string; data: Record<string, unknown> }[];
      // round 0 on the seeded labels, then two online rounds on labels of the run's own tasks
      expect(events.filter((e) => e.kind === 'dpo-round').map((e) => e.data.round)).to.deep.equal([0, 1, 2]);
      expect(events.filter((e) => e.kind === 'feedback-tasks').length).to.be.at.least(2);
      const own = store.db.prepare(`SELECT count(DISTINCT c.model) AS models, count(*) AS n FROM completions c WHERE c.run_id = ?`).get(id) as { models: number; n: number };
      expect(own.n).to.be.at.least(32); // two batches of 8 tasks of 2, named after the run
      expect(own.models).to.be.at.least(2); // the second batch came from round 1's policy
      const series = (await call('GET', `/api/runs/${id}/metrics`)).data.series;
      expect(series['online/round'].value).to.deep.equal([0, 1, 2]);
      expect(series).to.include.keys('rewards/margins', 'eval/rewards/accuracies', 'online/tasks_sent', 'online/labels');
    } finally {
      stop.abort();
      await Promise.allSettled(labelers);
    }
  });
});
