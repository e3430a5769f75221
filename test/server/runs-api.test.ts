// The runs API over HTTP and WebSocket, with the fake child: metrics from a child process reach a
// researcher's WebSocket while the child still runs (and never a labeler's), the CSV export, roles,
// validation messages, and the OpenAPI document.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { RunServerEvent, WS_TOKEN_PREFIX } from '../../protocol/wire.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';
import { fakeCommand, until } from './run-helpers.js';

describe('server: runs API', () => {
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let rita: string;
  let ann: string;
  const call = apiClient(() => srv.url);
  const listen = (token: string) => new Promise<{ ws: WebSocket; got: RunServerEvent[] }>((resolve, reject) => {
    const ws = new WebSocket(srv.url.replace('http', 'ws') + '/ws', [WS_TOKEN_PREFIX + token]);
    const got: RunServerEvent[] = [];
    ws.on('message', (m) => got.push(JSON.parse(String(m))));
    ws.on('open', () => resolve({ ws, got }));
    ws.on('error', reject);
  });

  beforeEach(async () => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    rita = store.addUser('rita', 'researcher');
    ann = store.addUser('ann', 'labeler');
    srv = await startServer({ store, port: 0, runs: { command: fakeCommand } });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it("streams a child's metrics to a researcher's WebSocket while it runs, never to a labeler's", async () => {
    const researcher = await listen(rita);
    const labeler = await listen(ann);
    const go = join(dir, 'go');
    const r = await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 6, waitFile: go, waitAfter: 3 } });
    expect(r.status).to.equal(201);
    const id = r.data.id as string;
    // The child is blocked after step 3 until `go` exists: steps 1-3 must arrive while it is still running.
    const received = await until(() => researcher.got.filter((e) => e.type === 'metrics' && e.run_id === id && e.step === 3).length, 'step 3 on the socket');
    expect(received).to.equal(1);
    expect((await call(rita, 'GET', `/api/runs/${id}`)).data.run.state).to.equal('running');
    writeFileSync(go, '');
    await until(() => researcher.got.some((e) => e.type === 'run' && e.run.id === id && e.run.state === 'done'), 'done on the socket');
    const steps = researcher.got.flatMap((e) => (e.type === 'metrics' && e.run_id === id ? [e.step] : []));
    expect(steps).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const m3 = researcher.got.find((e) => e.type === 'metrics' && e.step === 3) as Extract<RunServerEvent, { type: 'metrics' }>;
    expect(m3.metrics).to.deep.equal({ 'objective/kl': 0.3, 'loss/policy_avg': 1 / 3, lr: 0.001 });
    const samples = researcher.got.filter((e) => e.type === 'samples') as Extract<RunServerEvent, { type: 'samples' }>[];
    expect(samples.map((s) => s.step)).to.deep.equal([2, 4, 6]);
    expect(samples[0].rows[0]).to.deep.equal({ step: 2, prompt: 'prompt 2', completion: '<b>bold</b>', score: 2, gold: -2 });
    expect(labeler.got.map((e) => e.type)).to.deep.equal(['hello']);
    researcher.ws.close();
    labeler.ws.close();
  });

  it('launches, lists, shows, stops and resumes runs; serves metrics, samples, log and CSV', async () => {
    const r = await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 4 } });
    const id = r.data.id as string;
    await until(async () => (await call(rita, 'GET', `/api/runs/${id}`)).data.run.state === 'done', 'done');
    const list = await call(rita, 'GET', '/api/runs');
    expect(list.data.map((x: { id: string }) => x.id)).to.deep.equal([id]);
    expect(list.data[0]).to.not.have.property('pid');
    const one = (await call(rita, 'GET', `/api/runs/${id}`)).data;
    expect(one.run.config).to.include({ steps: 4, resolved: true });
    expect(one.events.map((e: { kind: string }) => e.kind)).to.deep.equal(['config']);
    const m = (await call(rita, 'GET', `/api/runs/${id}/metrics`)).data;
    expect(m.series['loss/policy_avg'].value).to.deep.equal([1, 1 / 2, 1 / 3, 1 / 4]);
    expect((await call(rita, 'GET', `/api/runs/${id}/metrics?since=2`)).data.series.lr.step).to.deep.equal([3, 4]);
    expect((await call(rita, 'GET', `/api/runs/${id}/samples?steps=1`)).data).to.deep.equal([{ step: 4, prompt: 'prompt 4', completion: '<b>bold</b>', score: 4, gold: -4 }]);
    const log = await call(rita, 'GET', `/api/runs/${id}/log`);
    expect(log.headers.get('content-type')).to.match(/^text\/plain/);
    expect(log.text).to.include('a line that is not a record');
    const csv = await call(rita, 'GET', `/api/runs/${id}/metrics.csv`);
    expect(csv.status).to.equal(200);
    expect(csv.headers.get('content-type')).to.match(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).to.include(`${id}-metrics.csv`);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).to.equal('step,time,loss/policy_avg,lr,objective/kl');
    expect(lines.slice(1).map((l) => l.split(',')[0])).to.deep.equal(['1', '2', '3', '4']);
    expect(lines[4].split(',').slice(2)).to.deep.equal(['0.25', '0.001', '0.4']);
    expect((await call(rita, 'POST', `/api/runs/${id}/stop`)).status).to.equal(409);
    expect((await call(rita, 'POST', `/api/runs/${id}/resume`)).data.error).to.match(/only stopped or failed/);
    const long = (await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 3, waitFile: join(dir, 'never') } })).data.id;
    await until(async () => (await call(rita, 'GET', `/api/runs/${long}`)).data.run.last_step === 1, 'step 1');
    expect((await call(rita, 'POST', `/api/runs/${long}/stop`)).status).to.equal(202);
    await until(async () => (await call(rita, 'GET', `/api/runs/${long}`)).data.run.state === 'stopped', 'stopped');
    writeFileSync(join(dir, 'never'), '');
    expect((await call(rita, 'POST', `/api/runs/${long}/resume`)).status).to.equal(200);
    await until(async () => (await call(rita, 'GET', `/api/runs/${long}`)).data.run.state === 'done', 'resumed run done');
  });

  it('answers bad requests with 400 naming the field, unknown runs with 404, labelers with 403', async () => {
    const bad = async (body: unknown, msg: RegExp) => {
      const r = await call(rita, 'POST', '/api/runs', body);
      expect(r.status, JSON.stringify(r.data)).to.equal(400);
      expect(r.data.error).to.match(msg);
    };
    await bad({ kind: 'ppo' }, /body.config: required/);
    await bad({ kind: 'kto', config: {} }, /body.kind: must be one of/);
    await bad({ kind: 'ppo', config: [] }, /body.config: expected an object/);
    await bad({ kind: 'sft', config: { steps: 2 } }, /body.config.data: required/);
    await bad({ kind: 'ppo', config: {}, extra: 1 }, /body.extra: unknown field/);
    expect((await call(rita, 'GET', '/api/runs/nope')).status).to.equal(404);
    expect((await call(rita, 'GET', '/api/runs/nope/metrics.csv')).status).to.equal(404);
    expect((await call(rita, 'GET', '/api/runs/nope/metrics?since=x')).status).to.equal(400);
    expect((await call(rita, 'POST', '/api/runs/nope/stop')).status).to.equal(404);
    for (const [method, path] of [['GET', '/api/runs'], ['POST', '/api/runs'], ['GET', '/api/runs/x/metrics.csv'], ['GET', '/api/runs/x/log'], ['POST', '/api/runs/x/stop']]) {
      expect((await call(ann, method, path, method === 'POST' ? { kind: 'ppo', config: {} } : undefined)).status, path).to.equal(403);
    }
    expect(store.db.prepare('SELECT count(*) FROM runs').pluck().get()).to.equal(0);
  });

  it('documents the runs API in the OpenAPI document', async () => {
    const doc = await (await fetch(`${srv.url}/api/openapi.json`)).json();
    expect(Object.keys(doc.paths)).to.include.members(['/api/runs', '/api/runs/{id}', '/api/runs/{id}/stop', '/api/runs/{id}/resume', '/api/runs/{id}/metrics.csv']);
    expect(doc.paths['/api/runs'].post.requestBody.content['application/json'].schema.properties.kind.enum).to.deep.equal(['sft', 'train-rm', 'ppo', 'grpo', 'rloo', 'dpo']);
    expect(doc.paths['/api/runs'].post['x-min-role']).to.equal('researcher');
  });
});
