// The runs API between users who share a server, with the fake child: runs have owners (stop, resume and
// logs are theirs and admins'), launches go into the audit log, a child gets a scrubbed environment, the
// quotas (admin-set) bound disk and queued runs per user, the runs list pages, and a metric called
// `constructor` or `__proto__` is a metric like any other.
import { expect } from 'chai';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { parseRecord } from '../../server/run-records.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';
import { fakeCommand, until } from './run-helpers.js';

describe('server: runs between users (owners, audit, environment, quotas, paging)', () => {
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let rita: string;
  let bob: string;
  let root: string;
  const call = apiClient(() => srv.url);
  const state = async (id: string) => (await call(root, 'GET', `/api/runs/${id}`)).data.run.state as string;
  const never = () => join(dir, 'never');

  beforeEach(async () => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    rita = store.addUser('rita', 'researcher');
    bob = store.addUser('bob', 'researcher');
    root = store.addUser('root', 'admin');
    srv = await startServer({ store, port: 0, runs: { command: fakeCommand, maxRunning: 4, diskCheckMs: 50, killAfterMs: 2000 } });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it("lets only a run's owner and admins stop it, resume it and read its log; each action is audited", async () => {
    const r = await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 3, waitFile: never(), waitAfter: 1 } });
    expect(r.status).to.equal(201);
    expect(r.data.owner).to.equal('rita');
    const id = r.data.id as string;
    await until(async () => (await state(id)) === 'running', 'running');
    for (const [method, path] of [['POST', `/api/runs/${id}/stop`], ['POST', `/api/runs/${id}/resume`], ['GET', `/api/runs/${id}/log`]]) {
      const res = await call(bob, method, path);
      expect(res.status, `${path} ${res.text}`).to.equal(403);
      expect(res.data.error).to.match(/belongs to another user/);
    }
    expect((await call(bob, 'GET', `/api/runs/${id}/metrics`)).status).to.equal(200); // curves are shared
    expect((await call(rita, 'GET', `/api/runs/${id}/log`)).status).to.equal(200);
    expect((await call(rita, 'POST', `/api/runs/${id}/stop`)).status).to.equal(202);
    await until(async () => (await state(id)) === 'stopped', 'stopped');
    expect((await call(root, 'POST', `/api/runs/${id}/resume`)).status).to.equal(200);
    expect((await call(root, 'POST', `/api/runs/${id}/stop`)).status).to.equal(202);
    const audit = store.db.prepare("SELECT u.name, a.action, a.detail FROM audit_log a JOIN users u ON u.id = a.user_id WHERE a.action LIKE 'run.%' ORDER BY a.id").all() as { name: string; action: string; detail: string }[];
    expect(audit.map((a) => `${a.name} ${a.action}`)).to.deep.equal(['rita run.launch', 'rita run.stop', 'root run.resume', 'root run.stop']);
    expect(JSON.parse(audit[0].detail)).to.deep.equal({ id, kind: 'ppo' });
  });

  it("gives the child an allow-listed environment, never the server's", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { SERVER_SECRET: 'hunter2', AWS_SECRET_ACCESS_KEY: 'k', NODE_OPTIONS: '--no-warnings', RLHF_TEST_SETTING: 'kept', LANG: 'C.UTF-8' });
    try {
      const { data } = await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 1, printEnv: true } });
      await until(async () => (await state(data.id)) === 'done', 'done');
      const env = (await call(rita, 'GET', `/api/runs/${data.id}`)).data.events.find((e: { kind: string }) => e.kind === 'env').data as Record<string, string>;
      expect(env).to.not.have.any.keys('SERVER_SECRET', 'AWS_SECRET_ACCESS_KEY', 'NODE_OPTIONS');
      expect(env).to.include({ RLHF_TEST_SETTING: 'kept', LANG: 'C.UTF-8', RLHF_REWARD_MODULES: '', PATH: process.env.PATH });
      for (const k of Object.keys(env)) expect(k).to.match(/^(PATH|HOME|LANG|TZ|LC_\w+|RLHF_\w+)$/);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('stops a run whose folder passes the disk quota, and marks it failed with the reason', async () => {
    expect((await call(rita, 'PUT', '/api/run-quotas', { maxRunDiskMb: 1 })).status).to.equal(403); // admins set quotas
    const q = await call(root, 'PUT', '/api/run-quotas', { maxRunDiskMb: 1 });
    expect(q.status).to.equal(200);
    expect(q.data.maxRunDiskMb).to.equal(1);
    for (const body of [{ maxDisk: 1 }, { maxRunDiskMb: 0 }, { maxRunDiskMb: 1.5 }, { maxRunDiskMb: '1' }, { toString: 1 }, '{"maxRunDiskMb":']) {
      expect((await call(root, 'PUT', '/api/run-quotas', body)).status, JSON.stringify(body)).to.equal(400);
    }
    expect((await call(rita, 'GET', '/api/run-quotas')).data.maxRunDiskMb).to.equal(1); // the refusals changed nothing
    const { data } = await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 10, fillBytes: 400_000, waitFile: never(), waitAfter: 5 } });
    const run = await until(async () => {
      const r = (await call(rita, 'GET', `/api/runs/${data.id}`)).data.run;
      return r.state === 'failed' ? r : null;
    }, 'the run to fail on its disk quota');
    expect(run.error).to.match(/^disk quota: the run folder passed 1 MB/);
  });

  it('refuses sizes over the quotas, naming the field', async () => {
    const bad = async (config: Record<string, unknown>, kind = 'ppo') => (await call(rita, 'POST', '/api/runs', { kind, config })).data.error as string;
    expect(await bad({ steps: 1e9 })).to.match(/^body\.config\.steps: 1000000000 is over this server's quota of 20000 steps/);
    expect(await bad({ batchSize: 100_000 })).to.match(/^body\.config\.batchSize:/);
    expect(await bad({ maxNewTokens: 100_000 })).to.match(/^body\.config\.maxNewTokens:/);
    expect(await bad({ keepCheckpoints: 1000 })).to.match(/^body\.config\.keepCheckpoints:/);
    expect(await bad({ sampleRows: 10_000 })).to.match(/^body\.config\.sampleRows:/);
    expect(await bad({ data: ['corpus:moby-dick'], init: { nEmbd: 100_000, nLayer: 48, nHead: 8, nPositions: 512 } }, 'sft')).to.match(/^body\.config\.init:/);
    expect(await bad({ data: ['corpus:moby-dick'], batchSize: 64, gradAccum: 64 }, 'sft')).to.match(/^body\.config\.gradAccum:/);
    expect(await bad({ model: 'x', epochs: 1000 }, 'train-rm')).to.match(/^body\.config\.(model|epochs):/);
    expect(store.db.prepare('SELECT count(*) FROM runs').pluck().get()).to.equal(0);
  });

  it('caps the runs one user has queued or running; others can still launch', async () => {
    await call(root, 'PUT', '/api/run-quotas', { maxQueuedPerUser: 2 });
    const launch = (token: string) => call(token, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 2, waitFile: never(), waitAfter: 1 } });
    const [a] = [await launch(rita), await launch(rita)];
    const third = await launch(rita);
    expect(third.status).to.equal(409);
    expect(third.data.error).to.match(/you have 2 runs queued or running/);
    expect((await launch(bob)).status).to.equal(201);
    await call(rita, 'POST', `/api/runs/${a.data.id}/stop`);
    await until(async () => (await state(a.data.id)) === 'stopped', 'stopped');
    expect((await launch(rita)).status).to.equal(201);
    expect((await call(rita, 'POST', `/api/runs/${a.data.id}/resume`)).status).to.equal(409); // resuming counts too
  });

  it('pages the runs list newest first, and keeps metric names like constructor and __proto__', async () => {
    for (let i = 0; i < 7; i++) store.db.prepare("INSERT INTO runs (id, kind, state, config, origin, created_at, updated_at) VALUES (?, 'ppo', 'done', '{}', 'cli', ?, ?)").run(`r${i}`, `2026-01-0${i + 1}T00:00:00Z`, `2026-01-0${i + 1}T00:00:00Z`);
    const seen: string[] = [];
    let path: string | null = '/api/runs?limit=3';
    while (path) {
      const r = await call(rita, 'GET', path);
      expect(r.status).to.equal(200);
      seen.push(...(r.data as { id: string }[]).map((x) => x.id));
      path = r.headers.get('x-next-page');
    }
    expect(seen).to.deep.equal(['r6', 'r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
    expect((await call(rita, 'GET', '/api/runs?limit=0')).status).to.equal(400);
    expect((await call(rita, 'GET', '/api/runs?before=nope')).status).to.equal(404);

    const rec = parseRecord('{"type":"metrics","step":1,"metrics":{"constructor":1,"__proto__":2,"toString":3,"loss":4}}')!;
    const { RunsStore } = await import('../../data/runs-store.js');
    new RunsStore(store.db).record('r0', [rec]);
    const m = await call(rita, 'GET', '/api/runs/r0/metrics');
    expect(m.status).to.equal(200);
    expect(Object.keys(m.data.series).sort()).to.deep.equal(['__proto__', 'constructor', 'loss', 'toString']);
    expect(m.data.series.constructor.value).to.deep.equal([1]);
    expect((await call(rita, 'GET', '/api/runs/r0/metrics.csv')).text.split('\n')[0]).to.equal('step,time,__proto__,constructor,loss,toString');
  });
});
