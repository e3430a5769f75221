// What the dashboard's newer panels ask the runs API for: a run's name, tags and notes (any researcher,
// audited, broadcast; labelers refused), the samples of one step and of one prompt across steps, and
// whether a run has a checkpoint to resume from.
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';
import { fakeCommand, until } from './run-helpers.js';

describe('server: run names, tags and notes; samples by step and prompt; checkpoints', () => {
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let rita: string;
  let sam: string;
  let ann: string;
  let runs: RunsStore;
  const call = apiClient(() => srv.url);

  beforeEach(async () => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    rita = store.addUser('rita', 'researcher');
    sam = store.addUser('sam', 'researcher');
    ann = store.addUser('ann', 'labeler');
    srv = await startServer({ store, port: 0, runs: { command: fakeCommand } });
    runs = new RunsStore(store.db);
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it('sets a name, tags and notes (each field alone, empty clears), for any researcher; refuses labelers and bad input', async () => {
    runs.create({ id: 'cli-1', kind: 'ppo', config: {}, origin: 'cli', state: 'done' });
    expect((await call(rita, 'GET', '/api/runs/cli-1')).data.run).to.include({ name: null, notes: null }).and.deep.include({ tags: [] });
    const r = await call(rita, 'PUT', '/api/runs/cli-1/meta', { name: ' baseline ', tags: ['sweep', ' lr ', 'sweep'], notes: 'first try' });
    expect(r.status).to.equal(200);
    expect(r.data).to.include({ id: 'cli-1', name: 'baseline', notes: 'first try' }).and.deep.include({ tags: ['sweep', 'lr'] });
    // another researcher edits one field; the others stay
    expect((await call(sam, 'PUT', '/api/runs/cli-1/meta', { notes: 'second look' })).data).to.include({ name: 'baseline', notes: 'second look' }).and.deep.include({ tags: ['sweep', 'lr'] });
    expect((await call(sam, 'PUT', '/api/runs/cli-1/meta', { name: '', tags: [] })).data).to.include({ name: null, notes: 'second look' }).and.deep.include({ tags: [] });
    const list = (await call(rita, 'GET', '/api/runs')).data as { id: string; notes: string }[];
    expect(list.find((x) => x.id === 'cli-1')!.notes).to.equal('second look');
    expect((await call(ann, 'PUT', '/api/runs/cli-1/meta', { name: 'x' })).status).to.equal(403);
    expect((await call(rita, 'PUT', '/api/runs/nope/meta', { name: 'x' })).status).to.equal(404);
    const bad = [
      [{ tags: ['a,b'] }, 'body.tags.0'], [{ tags: [''] }, 'body.tags.0'], [{ tags: 'a' }, 'body.tags'], [{ name: 'x'.repeat(201) }, 'body.name'],
      [{ notes: 3 }, 'body.notes'], [{ owner: 'me' }, 'body'], [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'body.tags'],
    ] as const;
    for (const [body, field] of bad) {
      const res = await call(rita, 'PUT', '/api/runs/cli-1/meta', body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.data.error, JSON.stringify(body)).to.match(new RegExp(`^${field.replace('.', '\\.')}`));
    }
    const audit = store.db.prepare("SELECT detail FROM audit_log WHERE action = 'run.meta'").pluck().all() as string[];
    expect(audit).to.have.length(3);
    expect(JSON.parse(audit[0])).to.include({ id: 'cli-1', name: ' baseline ' });
  });

  it('serves the samples of the step nearest a chart point, and one prompt across steps', async () => {
    runs.create({ id: 's', kind: 'ppo', config: {}, origin: 'cli', state: 'done' });
    const rows = (step: number) => [{ prompt: 'The sea', completion: ` wave ${step}`, score: step }, { prompt: 'A whale', completion: ` spout ${step}`, score: -step, columns: { w: 'x' } }];
    runs.record('s', [5, 10, 15].map((step) => ({ type: 'samples' as const, step, time: Date.now(), rows: rows(step) })));
    const at = async (q: string) => ((await call(rita, 'GET', `/api/runs/s/samples?${q}`)).data as { step: number; completion: string }[]).map((r) => `${r.step}${r.completion}`);
    expect(await at('step=12')).to.deep.equal(['10 wave 10', '10 spout 10']); // the latest at or before
    expect(await at('step=15')).to.deep.equal(['15 wave 15', '15 spout 15']);
    expect(await at('step=2')).to.deep.equal(['5 wave 5', '5 spout 5']); // none before: the first after
    expect(await at(`prompt=${encodeURIComponent('The sea')}`)).to.deep.equal(['15 wave 15', '10 wave 10', '5 wave 5']);
    expect(await at('prompt=nobody')).to.deep.equal([]);
    expect((await call(rita, 'GET', '/api/runs/s/samples?prompt=A%20whale')).data[0].columns).to.deep.equal({ w: 'x' });
    expect(await at('steps=1')).to.deep.equal(['15 wave 15', '15 spout 15']);
    expect((await call(rita, 'GET', '/api/runs/s/samples?step=-1')).status).to.equal(400);
    expect((await call(rita, 'GET', `/api/runs/s/samples?prompt=${'x'.repeat(8001)}`)).status).to.equal(400);
    expect((await call(rita, 'GET', '/api/runs/s/samples?prompt=a&prompt=b')).status).to.equal(400);
    expect((await call(ann, 'GET', '/api/runs/s/samples?step=3')).status).to.equal(403);
    expect((await call(rita, 'GET', '/api/runs/none/samples?step=3')).status).to.equal(404);
  });

  it("names a run's latest checkpoint, or null; a resume without one says in the log that it starts again from step 0", async () => {
    const r = await call(rita, 'POST', '/api/runs', { kind: 'ppo', config: { steps: 2 } });
    const id = r.data.id as string;
    await until(async () => (await call(rita, 'GET', `/api/runs/${id}`)).data.run.state === 'done', 'the run to end');
    expect((await call(rita, 'GET', `/api/runs/${id}`)).data.checkpoint).to.equal(null);
    runs.setState(id, 'failed', { error: 'boom' });
    expect((await call(rita, 'POST', `/api/runs/${id}/resume`)).status).to.equal(200);
    await until(async () => (await call(rita, 'GET', `/api/runs/${id}`)).data.run.state === 'done', 'the resumed run to end');
    const log = readFileSync(join(dir, 'runs', `${id}.log`), 'utf8');
    expect(log).to.match(/ resume \(no checkpoint: it starts again from step 0\): /);
    // a checkpoint as publishCheckpoint leaves it: out/latest names it
    const out = runs.get(id)!.dir!;
    mkdirSync(join(out, 'checkpoints', 'step-0000002'), { recursive: true });
    writeFileSync(join(out, 'latest'), 'step-0000002\n');
    expect((await call(rita, 'GET', `/api/runs/${id}`)).data.checkpoint).to.equal('step-0000002');
  });
});
