// A hostile researcher against a real server with real training children (rlhf <kind>): reading files
// through a run's prompts or data, importing a reward module of their own, writing outside the runs folder,
// naming another store, flooding the queue, and configs built to break the server. Every attempt is a 4xx
// and nothing is read, written or run; a module an admin registered does run; a child's error message does
// not quote the file it could not parse.
import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';
import { tinySftConfig, until } from './run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('server: a hostile researcher', function () {
  this.timeout(180_000);
  let dir: string;
  let outside: string;
  let store: Store;
  let srv: RunningServer;
  let eve: string;
  const statuses: number[] = [];
  const api = apiClient(() => srv.url);
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await api(eve, method, path, body);
    statuses.push(r.status);
    return r;
  };
  const launch = (config: Record<string, unknown>, kind = 'ppo') => call('POST', '/api/runs', { kind, config });
  const evilModule = (file: string, marker: string) => writeFileSync(file, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport const score = () => 1;\n`);

  before(async () => {
    dir = tempDir();
    outside = tempDir('rlhf-outside-');
    mkdirSync(join(dir, 'rewards'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(outside, 'secret.txt'), 'the secret\n');
    evilModule(join(outside, 'evil.mjs'), join(outside, 'ran-outside'));
    evilModule(join(outside, 'evil'), join(outside, 'ran-extensionless'));
    evilModule(join(dir, 'data', 'evil.mjs'), join(outside, 'ran-inside-data'));
    writeFileSync(join(dir, 'rewards', 'short.mjs'), 'export const score = (_p, c) => -c.length;\n');
    store = new Store(join(dir, 'rlhf.db'));
    eve = store.addUser('eve', 'researcher');
    srv = await startServer({ store, port: 0, runs: { rewardModules: [join(dir, 'rewards')] } });
  });
  after(async () => {
    await srv.close();
    store.close();
  });

  it('cannot read a file outside the workspace through a path field', async () => {
    const model = join(ROOT, 'data', 'models', 'starter');
    for (const prompts of ['/etc/passwd', '/proc/self/environ', `/proc/${process.pid}/fd/1`, join(outside, 'secret.txt'), join(outside, 'no-such-file'), '../../../../../../../etc/hostname', join(dir, 'rlhf.db')]) {
      const r = await launch({ model, prompts, reward: 'sentiment', steps: 1 });
      expect(r.status, prompts).to.equal(400);
      expect(r.data.error).to.match(/^body\.config\.prompts: must be inside the server's workspace/);
    }
    const sft = await launch({ ...tinySftConfig(dir, 2), data: [join(outside, 'secret.txt')] }, 'sft');
    expect(sft.data.error).to.match(/^body\.config\.data\[0\]:/);
    const rm = await launch({ model: outside, data: [join(dir, 'data', 'x.jsonl')] }, 'train-rm');
    expect(rm.data.error).to.match(/^body\.config\.model:/);
    expect((await call('GET', '/api/runs')).data).to.deep.equal([]);
  });

  it('cannot make the child import a module an admin did not register', async () => {
    const model = join(ROOT, 'data', 'models', 'starter');
    const prompts = join(ROOT, 'data', 'prompts', 'demo.txt');
    for (const [field, spec] of [['reward', join(outside, 'evil.mjs')], ['reward', join(outside, 'evil')], ['goldReward', join(dir, 'data', 'evil.mjs')], ['reward', '../../../../../../../' + join(outside, 'evil.mjs')]]) {
      const r = await launch({ model, prompts, reward: 'sentiment', [field]: spec, steps: 1 });
      expect(r.status, spec).to.equal(400);
      expect(r.data.error).to.match(new RegExp(`^body\\.config\\.${field}: must be sentiment or length`));
    }
    const listed = await call('GET', '/api/reward-modules');
    expect(listed.data.folders).to.deep.equal([join(dir, 'rewards')]);
    expect(readdirSync(outside).filter((f) => f.startsWith('ran-'))).to.deep.equal([]);
  });

  it('cannot write outside the runs folder or into another store', async () => {
    for (const out of ['../escaped', join(outside, 'escaped'), join(dir, 'runs', 'mine')]) {
      const r = await launch({ ...tinySftConfig(dir, 2), out }, 'sft');
      expect(r.status).to.equal(400);
      expect(r.data.error).to.match(/^body\.config\.out: the server picks the run folder/);
    }
    const db = await launch({ onlineFeedback: { db: join(outside, 'other.db') } });
    expect(db.data.error).to.match(/^body\.config\.onlineFeedback\.db:/);
    expect(readdirSync(outside).sort()).to.deep.equal(['evil', 'evil.mjs', 'secret.txt']);
    expect(existsSync(join(dir, 'escaped'))).to.equal(false);
  });

  it('cannot break the server with the shape of a config', async () => {
    let deep = '{}';
    for (let i = 0; i < 10_000; i++) deep = `{"a":${deep}}`; // 60 kB, under the body limit
    const nested = await call('POST', '/api/runs', `{"kind":"ppo","config":{"lora":${deep}}}`);
    expect(nested.status).to.equal(400);
    expect(nested.data.error).to.match(/nested deeper than/);
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const r = await call('POST', '/api/runs', `{"kind":"ppo","config":{"${key}":{"x":1}}}`);
      expect(r.status, key).to.equal(400);
    }
    expect((await call('GET', '/api/me')).status).to.equal(200);
  });

  it('cannot flood the queue: at most the per-user quota of runs is queued or running', async () => {
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await launch(tinySftConfig(dir, 20_000), 'sft'));
    expect(results.filter((r) => r.status === 201)).to.have.length(4);
    expect(results.filter((r) => r.status === 409)).to.have.length(26);
    for (const r of results.filter((x) => x.status === 201)) await call('POST', `/api/runs/${r.data.id}/stop`);
    await until(async () => (await call('GET', '/api/runs')).data.every((r: { state: string }) => r.state === 'stopped'), 'every run stopped');
  });

  it("runs a registered module, and a child's parse error never quotes the file", async () => {
    writeFileSync(join(dir, 'data', 'bad.jsonl'), 'SECRET-LINE-CONTENT not json\n');
    const bad = await launch({ ...tinySftConfig(dir, 2), data: [join(dir, 'data', 'bad.jsonl')] }, 'sft');
    expect(bad.status).to.equal(201);
    const failed = await until(async () => {
      const r = (await call('GET', `/api/runs/${bad.data.id}`)).data.run;
      return r.state === 'failed' ? r : null;
    }, 'the run with bad data to fail');
    expect(failed.error).to.match(/bad\.jsonl:1: bad JSON/).and.not.match(/SECRET/);
    expect((await call('GET', `/api/runs/${bad.data.id}/log`)).text).to.not.include('SECRET');

    const good = await launch({
      model: join(ROOT, 'data', 'models', 'starter'), prompts: join(ROOT, 'data', 'prompts', 'demo.txt'), reward: join(dir, 'rewards', 'short.mjs'),
      steps: 1, batchSize: 2, miniBatchSize: 2, ppoEpochs: 1, maxNewTokens: 4, sampleEvery: 1, sampleRows: 2,
    });
    expect(good.status, good.text).to.equal(201);
    const done = await until(async () => {
      const r = (await call('GET', `/api/runs/${good.data.id}`)).data.run;
      if (r.state === 'failed') throw new Error(r.error);
      return r.state === 'done' ? r : null;
    }, 'the PPO run with a registered module to finish', 150_000);
    expect(done.config.reward).to.equal(join(dir, 'rewards', 'short.mjs'));
    const samples = (await call('GET', `/api/runs/${good.data.id}/samples`)).data as { completion: string; score: number }[];
    expect(samples.length).to.be.above(0);
    for (const s of samples) expect(s.score).to.equal(-s.completion.length); // the module's score, not a built-in
    expect(statuses.filter((s) => s >= 500)).to.deep.equal([]);
  });
});
