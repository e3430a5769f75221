// The labeling page's routes over HTTP (server/label-routes.ts and POST /api/labels' hold and replaces):
// held tasks topped up with a label, the queue count, recent labels and edits through the writer thread,
// 4xx for every bad input; and tasks written by another process announced over the WebSocket.
import { expect } from 'chai';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { Store } from '../../data/store.js';
import { WS_TOKEN_PREFIX } from '../../protocol/wire.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';

const task = (i: number, k = 2) => ({ prompt: `prompt ${i}`, completions: Array.from({ length: k }, (_, j) => ({ text: `c${i}.${j}` })) });

describe('server: the labeling page routes', () => {
  let store: Store;
  let file: string;
  let srv: RunningServer;
  let ann: string;
  const call = apiClient(() => srv.url);
  beforeEach(async () => {
    store = new Store((file = join(tempDir(), 'rlhf.db')));
    ann = store.addUser('ann', 'labeler');
    srv = await startServer({ store, port: 0 });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it('holds tasks ahead, counts the queue, lists recent labels and takes an edit as a new version', async () => {
    const ids = store.addTasks(Array.from({ length: 5 }, (_, i) => task(i, 3)));
    expect((await call(ann, 'GET', '/api/me/queue')).data).to.deep.equal({ left: 5, capped: false });
    const held = await call(ann, 'GET', '/api/tasks/held?n=3');
    expect([held.status, held.data.tasks.map((t: { id: number }) => t.id)]).to.deep.equal([200, ids.slice(0, 3)]);
    const r = await call(ann, 'POST', '/api/labels?hold=3', { taskId: ids[0], clientId: 'v1', kind: 'ranking', ranking: [2, 0, 1] });
    expect(r.status).to.equal(201);
    expect(r.data.held.map((t: { id: number }) => t.id)).to.deep.equal(ids.slice(1, 4));
    expect(r.data.next.id).to.equal(ids[1]);
    expect((await call(ann, 'GET', '/api/me/queue')).data).to.deep.equal({ left: 4, capped: false });
    const mine = await call(ann, 'GET', '/api/me/labels?limit=5');
    expect(mine.data.map((m: { clientId: string; version: number; ranking: number[]; task: { id: number } }) => [m.clientId, m.version, m.ranking, m.task.id])).to.deep.equal([['v1', 1, [2, 0, 1], ids[0]]]);
    const edit = await call(ann, 'POST', '/api/labels', { taskId: ids[0], clientId: 'v2', kind: 'tie', replaces: 'v1' });
    expect([edit.status, edit.data]).to.deep.equal([201, { id: mine.data[0].id, created: true, version: 2 }]);
    const again = await call(ann, 'POST', '/api/labels', { taskId: ids[0], clientId: 'v2', kind: 'tie', replaces: 'v1' });
    expect([again.status, again.data.created]).to.deep.equal([200, false]);
    expect(store.db.prepare('SELECT kind FROM labels').pluck().all()).to.deep.equal(['tie']);
    expect(store.labelHistory(mine.data[0].id).map((v) => v.client_id)).to.deep.equal(['v1']);
  });

  it('answers bad input with 4xx and a message', async () => {
    const [t] = store.addTasks([task(1)]);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['GET', '/api/tasks/held?n=0', undefined, 400, /query.n: does not match/],
      ['GET', '/api/tasks/held?n=11', undefined, 400, /query.n/],
      ['GET', '/api/tasks/held?n=1&n=2', undefined, 400, /query.n/],
      ['POST', '/api/labels?hold=x', { taskId: t, clientId: 'a', kind: 'skip' }, 400, /query.hold/],
      ['GET', '/api/me/labels?limit=51', undefined, 400, /query.limit/],
      ['POST', '/api/labels', { taskId: t, clientId: 'e', kind: 'skip', replaces: '' }, 400, /body.replaces: shorter than 1/],
      ['POST', '/api/labels', { taskId: t, clientId: 'e', kind: 'skip', replaces: 'nothing' }, 404, /no label of yours/],
      ['POST', '/api/labels', { taskId: 999, clientId: 'e', kind: 'skip', replaces: 'nothing' }, 404, /no task 999/],
    ];
    for (const [m, p, body, status, msg] of cases) {
      const res = await call(ann, m, p, body);
      expect(res.status, `${m} ${p}`).to.equal(status);
      expect(res.data.error, `${m} ${p}`).to.match(msg);
    }
  });

  it('announces tasks another process adds (rlhf tasks add writes the store directly) within about a second, once', async () => {
    const ws = new WebSocket(srv.url.replace('http', 'ws') + '/ws', [WS_TOKEN_PREFIX + ann]);
    const events: { type: string; added?: number }[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d))));
    await new Promise((resolve) => ws.once('open', resolve));
    const cli = new Store(file);
    cli.addTasks([task(1), task(2)]);
    cli.close();
    const t0 = Date.now();
    while (!events.some((e) => e.type === 'tasks') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    expect(events.filter((e) => e.type === 'tasks')).to.deep.equal([{ type: 'tasks', added: 2 }]);
    // one added through the API is announced by its route, and not again by the watch
    await call(store.addUser('rita', 'researcher'), 'POST', '/api/tasks', { tasks: [task(3)] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(events.filter((e) => e.type === 'tasks')).to.deep.equal([{ type: 'tasks', added: 2 }, { type: 'tasks', added: 1 }]);
    ws.close();
  });
});
