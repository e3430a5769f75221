// GRPO and RLOO runs through the runs API with a real child: the shipped include-word task (its prompts and
// its reward module, copied into a folder an admin registered) on the starter model, two tiny steps each,
// to done, with TRL's metric names and the samples' reward columns. And the refusals: paths outside the
// workspace, unregistered modules, a bad #export, schema and quota problems, the wrong role: 4xx naming
// the field, nothing queued, never a 5xx.
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { parseRecord } from '../../server/run-records.js';
import { tempDir } from '../helpers.js';
import { apiClient, Reply } from './api-client.js';
import { until } from './run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TASK = join(ROOT, 'data', 'tasks', 'include-word');

describe('server: GRPO and RLOO runs through the API', function () {
  this.timeout(300_000);
  let dir: string;
  let task: string; // the registered folder: the task's prompts and reward, as an admin would copy them
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
  const tiny = (extra: Record<string, unknown> = {}) => ({
    model: join(ROOT, 'data', 'models', 'starter'), prompts: join(task, 'train.jsonl'), reward: [join(task, 'reward.ts')],
    steps: 2, promptsPerStep: 2, numGenerations: 2, maxCompletionLength: 8, lr: 1e-4, sampleEvery: 1, sampleRows: 2, saveEvery: 1, ...extra,
  });
  const finished = (id: string) => until(async () => {
    const r = (await call('GET', `/api/runs/${id}`)).data.run;
    if (r.state === 'failed') throw new Error(`run failed: ${r.error}`);
    return r.state === 'done' ? r : null;
  }, `run ${id} to finish`, 240_000);

  before(async () => {
    dir = tempDir();
    task = join(dir, 'data', 'include-word'); // data/ beside the store is readable; the admin registers this folder for modules
    mkdirSync(task, { recursive: true });
    for (const f of ['train.jsonl', 'reward.ts']) copyFileSync(join(TASK, f), join(task, f));
    store = new Store(join(dir, 'rlhf.db'));
    rita = store.addUser('rita', 'researcher');
    srv = await startServer({ store, port: 0, runs: { rewardModules: [task] } });
  });
  after(async () => {
    await srv?.close();
    store?.close();
  });

  it('a researcher launches a GRPO run on the starter model with the shipped task; it runs to done with TRL\'s metrics and reward columns', async () => {
    const r = await call('POST', '/api/runs', { kind: 'grpo', config: tiny() });
    expect(r.status, r.text).to.equal(201);
    expect(r.data).to.include({ kind: 'grpo', owner: 'rita' });
    const id = r.data.id as string;
    // the launch file beside the run is the resolved config: every default filled in, paths real, out the server's
    const launched = JSON.parse(readFileSync(join(dir, 'runs', `${id}.config.json`), 'utf8'));
    expect(launched).to.deep.include({ out: join(dir, 'runs', id), reward: [join(task, 'reward.ts')], lossType: 'dapo', scaleRewards: 'group', beta: 0, numIterations: 1, steps: 2 });
    const done = await finished(id);
    expect(done.exit_code).to.equal(0);
    expect(done.config).to.deep.include({ lossType: 'dapo', promptsPerStep: 2, out: join(dir, 'runs', id) });
    expect(existsSync(join(dir, 'runs', id, 'grpo-config.json'))).to.equal(true); // the child's resolved copy in the run folder
    expect(existsSync(join(dir, 'runs', id, 'final'))).to.equal(true);

    const series = (await call('GET', `/api/runs/${id}/metrics`)).data.series as Record<string, { step: number[]; value: (number | null)[] }>;
    for (const m of ['reward', 'reward_std', 'rewards/include-word/mean', 'rewards/include-word/std', 'frac_reward_zero_std', 'completions/mean_length',
      'completions/clipped_ratio', 'clip_ratio/region_mean', 'loss', 'grad_norm', 'lr', 'num_tokens', 'step_time']) {
      expect(series[m]?.step, m).to.deep.equal([1, 2]);
    }
    for (const v of series['rewards/include-word/mean'].value) expect(v).to.be.within(0, 1);
    const samples = (await call('GET', `/api/runs/${id}/samples`)).data as { step: number; prompt: string; columns: Record<string, unknown> }[];
    expect(samples.map((s) => s.step)).to.deep.equal([2, 2, 1, 1]);
    for (const s of samples) {
      expect(s.columns).to.have.keys('include-word', 'word'); // the reward's value by its name, and the column it logged
      expect(s.columns['include-word']).to.be.oneOf([0, 1]);
      expect(s.prompt).to.include(`Use the word "${s.columns.word}".`);
    }
    const events = (await call('GET', `/api/runs/${id}`)).data.events.map((e: { kind: string }) => e.kind);
    expect(events).to.include('checkpoint').and.include('final');
  });

  it('an RLOO run takes reward.ts#name (the export by name) and PPO\'s single-string reward form', async () => {
    const r = await call('POST', '/api/runs', { kind: 'rloo', config: tiny({ reward: `${join(task, 'reward.ts')}#reward`, steps: 1 }) });
    expect(r.status, r.text).to.equal(201);
    expect(r.data.config.reward).to.deep.equal([`${join(task, 'reward.ts')}#reward`]);
    const done = await finished(r.data.id);
    expect(done.config).to.deep.include({ beta: 0.05, klEstimator: 'k1' }); // RLOO's own defaults
    const series = (await call('GET', `/api/runs/${r.data.id}/metrics`)).data.series;
    expect(series).to.include.keys('reward', 'rewards/reward/mean', 'kl', 'clip_ratio/region_mean'); // the export's name names the reward
  });

  it('refuses bad GRPO and RLOO launches with a 400 naming the field (or 403 for a labeler), queueing nothing', async () => {
    const before = readdirSync(join(dir, 'runs')).length;
    const runsBefore = store.db.prepare('SELECT count(*) FROM runs').pluck().get();
    const refused = async (kind: string, config: Record<string, unknown>, status = 400): Promise<string> => {
      const r = await call('POST', '/api/runs', { kind, config });
      expect(r.status, `${JSON.stringify(config)}: ${r.text}`).to.equal(status);
      return r.data.error as string;
    };
    for (const kind of ['grpo', 'rloo']) {
      expect(await refused(kind, tiny({ prompts: '/etc/passwd' }))).to.match(/^body\.config\.prompts: must be inside the server's workspace/);
      expect(await refused(kind, tiny({ model: '/usr' }))).to.match(/^body\.config\.model: must be inside the server's workspace/);
      // the package's own copy of the task is readable but not registered: its module may not run
      expect(await refused(kind, tiny({ reward: ['sentiment', join(TASK, 'reward.ts')] }))).to.match(/^body\.config\.reward\[1\]: must be sentiment or length, a reward-model folder inside the workspace, or a module in a folder an admin registered/);
      expect(await refused(kind, tiny({ reward: [`${join(TASK, 'reward.ts')}#reward`] }))).to.match(/^body\.config\.reward\[0\]: '#reward' names an export of a module, and the module must be a file in a folder an admin registered/);
      expect(await refused(kind, tiny({ reward: [`${join(task, 'reward.ts')}#no-such`] }))).to.match(/^body\.config\.reward\[0\]: the export named after '#' must be a JavaScript identifier/);
      expect(await refused(kind, tiny({ reward: [`${join(task, 'reward.ts')}#9lives`] }))).to.match(/must be a JavaScript identifier .*got "9lives"/);
      expect(await refused(kind, tiny({ reward: [] }))).to.match(/^body\.config: reward must be/);
      expect(await refused(kind, tiny({ out: join(dir, 'runs', 'mine') }))).to.match(/^body\.config\.out: the server picks the run folder/);
      // the schema, as the child would check it
      expect(await refused(kind, tiny({ steps: 0 }))).to.equal('body.config: steps must be an integer >= 1, got 0');
      expect(await refused(kind, tiny({ stpes: 3 }))).to.equal("body.config: unknown field 'stpes'");
      expect(await refused(kind, tiny({ numGenerations: 1 }))).to.match(/^body\.config: numGenerations must be an integer >= 2/);
      expect(await refused(kind, tiny({ rewardWeights: [1, 2] }))).to.match(/^body\.config: rewardWeights has 2 entries for 1 reward/);
      expect(await refused(kind, tiny({ promptsPerStep: 3, gradientAccumulationSteps: 2 }))).to.match(/promptsPerStep \(3\) must be a multiple of gradientAccumulationSteps \(2\)/);
      const { model: _m, ...noModel } = tiny();
      expect(await refused(kind, noModel)).to.match(/^body\.config: model is required/);
      // the quotas, on the resolved config (defaults count)
      expect(await refused(kind, tiny({ promptsPerStep: 64, numGenerations: 8 }))).to.match(/^body\.config\.numGenerations: 512 is over this server's quota of 256 completions per rollout/);
      expect(await refused(kind, tiny({ maxCompletionLength: 1000 }))).to.match(/^body\.config\.maxCompletionLength: 1064 is over this server's quota of 1024 tokens/);
      expect(await refused(kind, tiny({ steps: 1e6 }))).to.match(/^body\.config\.steps:/);
      expect(await refused(kind, tiny({ onlineFeedback: { db: join(dir, 'other.db') } }))).to.match(/^body\.config\.onlineFeedback\.db:/);
      expect(await refused(kind, tiny({ lossType: 'ppo' }))).to.match(/^body\.config: (lossType|unknown field)/);
    }
    expect(await refused('rloo', tiny({ rewardClipRange: [1, 0] }))).to.match(/^body\.config: rewardClipRange must be \[min, max\]/);
    expect(await refused('grpo', tiny({ lossType: 'ppo' }))).to.match(/^body\.config: lossType must be one of/);
    expect(await refused('kto', tiny())).to.match(/^body\.kind/);
    const ann = store.addUser('ann', 'labeler');
    const asLabeler = await call('POST', '/api/runs', { kind: 'grpo', config: tiny() }, ann);
    expect(asLabeler.status).to.equal(403);
    expect(asLabeler.data.error).to.match(/researcher/);
    expect(store.db.prepare('SELECT count(*) FROM runs').pluck().get()).to.equal(runsBefore);
    expect(readdirSync(join(dir, 'runs'))).to.have.length(before); // no launch file for a refused run
    expect(statuses.filter((s) => s >= 500)).to.deep.equal([]);
  });

  it("reads a child's sample columns bounded: strings cut, numbers, booleans and null kept, anything else null", () => {
    const line = JSON.stringify({ type: 'samples', step: 1, rows: [{ prompt: 'p', completion: 'c', score: 1, columns: { a: 'x'.repeat(30_000), b: 2, c: false, d: null, e: { nested: 1 }, ['y'.repeat(300)]: 1 } }] });
    const r = parseRecord(line)!;
    expect(r.type).to.equal('samples');
    const cols = (r as { rows: { columns: Record<string, unknown> }[] }).rows[0].columns;
    expect(Object.keys(cols)).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect((cols.a as string).length).to.equal(20_000);
    expect(cols).to.deep.include({ b: 2, c: false, d: null, e: null });
    const many = parseRecord(JSON.stringify({ type: 'samples', step: 1, rows: [{ prompt: 'p', completion: 'c', score: 1, columns: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i])) }] }))!;
    expect(Object.keys((many as { rows: { columns: object }[] }).rows[0].columns)).to.have.length(64);
  });
});
