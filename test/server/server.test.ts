import { expect } from 'chai';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { WS_TOKEN_PREFIX } from '../../protocol/wire.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { ROUTES } from '../../server/routes.js';
import { tempDir } from '../helpers.js';

const task = (i: number) => ({ prompt: `prompt ${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] });

describe('server', () => {
  let store: Store;
  let srv: RunningServer;
  let admin: string;
  let researcher: string;
  let ann: string;
  let bob: string;
  const call = async (token: string | null, method: string, path: string, body?: unknown, raw?: string) => {
    const res = await fetch(srv.url + path, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined || raw !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let data: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    return { status: res.status, data, headers: res.headers };
  };

  beforeEach(async () => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    admin = store.addUser('boss', 'admin');
    researcher = store.addUser('rita', 'researcher');
    ann = store.addUser('ann', 'labeler');
    bob = store.addUser('bob', 'labeler');
    srv = await startServer({ store, port: 0 });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it('labels a task end to end; a resubmit with the same client id stores one row', async () => {
    expect((await call(researcher, 'POST', '/api/tasks', { tasks: [task(1)] })).status).to.equal(201);
    const t = await call(ann, 'GET', '/api/tasks/next');
    expect(t.status).to.equal(200);
    const label = { taskId: t.data.id, clientId: 'c1', kind: 'ranking', ranking: [1, 0], ms: 900 };
    const first = await call(ann, 'POST', '/api/labels', label);
    const again = await call(ann, 'POST', '/api/labels', label);
    expect([first.status, again.status]).to.deep.equal([201, 200]);
    expect(again.data).to.deep.equal({ id: first.data.id, created: false });
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(1);
    expect((await call(ann, 'GET', '/api/me')).data).to.deep.equal({ name: 'ann', role: 'labeler', labeled: 1 });
    expect((await call(ann, 'GET', '/api/tasks/next')).status).to.equal(204);
  });

  it('submit-and-next: POST /api/labels?next=true acknowledges the label and hands out the next task', async () => {
    store.addTasks([task(1), task(2)]);
    const t = await call(ann, 'GET', '/api/tasks/next');
    const label = { taskId: t.data.id, clientId: 'n1', kind: 'ranking', ranking: [0, 1] };
    const r = await call(ann, 'POST', '/api/labels?next=true', label);
    expect(r.status).to.equal(201);
    expect(r.data).to.include({ created: true });
    expect(r.data.next.id).to.not.equal(t.data.id);
    expect(r.data.next.completions).to.have.length(2);
    // the next task is assigned: GET /api/tasks/next returns it, and bob cannot label it (overlap 1)
    expect((await call(ann, 'GET', '/api/tasks/next')).data.id).to.equal(r.data.next.id);
    expect((await call(bob, 'POST', '/api/labels', { taskId: r.data.next.id, clientId: 'b', kind: 'skip' })).status).to.equal(403);
    // a resubmit stores nothing and hands back the task still open
    const again = await call(ann, 'POST', '/api/labels?next=true', label);
    expect(again.status).to.equal(200);
    expect(again.data).to.deep.include({ id: r.data.id, created: false });
    expect(again.data.next.id).to.equal(r.data.next.id);
    const last = await call(ann, 'POST', '/api/labels?next=true', { taskId: r.data.next.id, clientId: 'n2', kind: 'tie' });
    expect([last.status, last.data.next]).to.deep.equal([201, null]); // nothing left
    const [t3] = store.addTasks([task(3)]);
    expect((await call(ann, 'GET', '/api/tasks/next')).data.id).to.equal(t3);
    const plain = await call(ann, 'POST', '/api/labels', { taskId: t3, clientId: 'n4', kind: 'skip' });
    expect([plain.status, Object.keys(plain.data)]).to.deep.equal([201, ['id', 'created']]); // no ?next: no next
    const bad = await call(ann, 'POST', '/api/labels?next=maybe', { taskId: 1, clientId: 'n3', kind: 'skip' });
    expect([bad.status, bad.data.error]).to.deep.equal([400, 'query.next: must be one of true, false']);
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(3);
  });

  it('POST /api/tasks takes a conversation beside the prompt text; a bad one is a 400 naming the field and stores nothing', async () => {
    const messages = [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hi <b>there</b>' }];
    const added = await call(researcher, 'POST', '/api/tasks', { tasks: [{ ...task(1), prompt: 'system: Be terse.\nuser: Hi <b>there</b>\nassistant:', messages }, task(2)] });
    expect(added.status).to.equal(201);
    const shown = await call(ann, 'GET', '/api/tasks/next');
    expect(shown.data).to.deep.include({ id: added.data.ids[0], messages });
    const next = await call(ann, 'POST', '/api/labels?next=true', { taskId: shown.data.id, clientId: 'm1', kind: 'tie' });
    expect(next.data.next.id).to.equal(added.data.ids[1]);
    expect(next.data.next).to.not.have.property('messages'); // a plain prompt has none
    const cases: [unknown, string][] = [
      [[{ role: 'user', content: 'q' }, { role: 'tool', content: 'x' }], 'body.tasks[1].messages[1].role: must be one of system, user, assistant'],
      [[{ role: 'user', content: 3 }], 'body.tasks[1].messages[0].content: expected a string'],
      [[{ role: 'user' }], 'body.tasks[1].messages[0].content: required'],
      [[{ role: 'user', content: 'q', name: 'x' }], 'body.tasks[1].messages[0].name: unknown field'],
      [[], 'body.tasks[1].messages: needs at least 1 items'],
      ['hi', 'body.tasks[1].messages: expected an array'],
      [Array.from({ length: 65 }, () => ({ role: 'user', content: 'q' })), 'body.tasks[1].messages: at most 64 items'],
      [[{ role: 'user', content: 'x'.repeat(20_001) }], 'body.tasks[1].messages[0].content: longer than 20000 characters'],
    ];
    const before = store.db.prepare('SELECT count(*) FROM tasks').pluck().get();
    for (const [bad, error] of cases) {
      const r = await call(researcher, 'POST', '/api/tasks', { tasks: [task(3), { ...task(4), messages: bad }] });
      expect([r.status, r.data.error], JSON.stringify(bad).slice(0, 60)).to.deep.equal([400, error]);
    }
    expect(store.db.prepare('SELECT count(*) FROM tasks').pluck().get()).to.equal(before);
  });

  it('answers the labeling requests as the Express mount would: headers, content types, charset', async () => {
    store.addTasks([task(1)]);
    const { id } = (await call(ann, 'GET', '/api/tasks/next')).data;
    const post = (type: string, body: string) => fetch(srv.url + '/api/labels', { method: 'POST', headers: { Authorization: `Bearer ${ann}`, 'Content-Type': type }, body });
    const ok = await post('application/json; charset=utf-8', JSON.stringify({ taskId: id, clientId: 'h1', kind: 'skip' }));
    expect(ok.status).to.equal(201);
    for (const h of ['x-content-type-options', 'x-frame-options', 'content-security-policy', 'referrer-policy']) expect(ok.headers.get(h), h).to.be.a('string');
    expect(ok.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(ok.headers.get('x-powered-by')).to.equal(null);
    const text = await post('text/plain', JSON.stringify({ taskId: id, clientId: 'h2', kind: 'skip' }));
    expect([text.status, (await text.json()).error]).to.deep.equal([400, 'body: expected an object']);
    const latin = await post('application/json; charset=latin1', '{}');
    expect(latin.status).to.equal(415);
    const none = await fetch(srv.url + '/api/tasks/next', { headers: { Authorization: 'Bearer nope' } });
    expect([none.status, none.headers.get('www-authenticate')]).to.deep.equal([401, 'Bearer']);
  });

  it('enforces roles on every route', async () => {
    const need = { labeler: [ann, researcher, admin], researcher: [researcher, admin], admin: [admin] } as const;
    store.addUser('victim', 'labeler'); // the user routes act on this one, so no test token changes
    for (const r of ROUTES.filter((x) => x.role)) {
      const path = r.path.replace(':name', 'victim');
      expect((await call(null, r.method, path, r.body ? {} : undefined)).status, `${r.method} ${r.path} without a token`).to.equal(401);
      expect((await call('not-a-token', r.method, path, r.body ? {} : undefined)).status, `${r.method} ${r.path} bad token`).to.equal(401);
      for (const tok of [ann, researcher, admin]) {
        const s = (await call(tok, r.method, path, r.body ? {} : undefined)).status;
        if ((need[r.role!] as readonly string[]).includes(tok)) expect(s, `${r.method} ${r.path}`).to.not.be.oneOf([401, 403]);
        else expect(s, `${r.method} ${r.path} as a lesser role`).to.equal(403);
      }
    }
    // a labeler cannot label a task that is not assigned to them (another labeler's data)
    const [tid] = store.addTasks([task(2)]);
    await call(bob, 'GET', '/api/tasks/next');
    const r = await call(ann, 'POST', '/api/labels', { taskId: tid, clientId: 'z', kind: 'skip' });
    expect(r.status).to.equal(403);
  });

  it('answers bad input on every route with a status and a message, never a crash', async () => {
    for (const r of ROUTES.filter((x) => x.body)) {
      const tok = admin;
      const path = r.path.replace(':name', 'ann');
      for (const [raw, status] of [['{"x":', 400], ['[]', 400], ['"text"', 400], ['{"unknown_field": 1}', 400], ['{"tasks": "x", "taskId": "x"}', 400]] as const) {
        const res = await call(tok, r.method, path, undefined, raw);
        expect(res.status, `${r.method} ${r.path} ${raw}`).to.equal(status);
        expect(res.data.error, `${r.method} ${r.path} ${raw}`).to.be.a('string').and.not.empty;
      }
      const big = await call(tok, r.method, path, undefined, JSON.stringify({ pad: 'x'.repeat(70_000) }));
      expect(big.status, `${r.method} ${r.path} oversized`).to.equal(413);
    }
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/api/labels', { taskId: 999, clientId: 'q', kind: 'skip' }, 404, /no task 999/],
      ['POST', '/api/labels', { taskId: 1, clientId: 'q', kind: 'best' }, 400, /body.kind: must be one of/],
      ['POST', '/api/labels', { taskId: -1, clientId: 'q', kind: 'skip' }, 400, /body.taskId: must be >= 1/],
      ['POST', '/api/labels', { taskId: 1, kind: 'skip' }, 400, /body.clientId: required/],
      ['POST', '/api/tasks', { tasks: [{ prompt: 'p', completions: [{ text: 'only one' }] }] }, 400, /at least 2 items/],
      ['POST', '/api/users', { name: 'ann', role: 'labeler' }, 409, /already exists/],
      ['POST', '/api/users', { name: 'x y', role: 'labeler' }, 400, /does not match/],
      ['POST', '/api/users/nobody/token', undefined, 404, /no user 'nobody'/],
      ['PUT', '/api/settings', { overlap: 0 }, 400, /body.overlap: must be >= 1/],
      ['GET', '/api/export?format=xml', undefined, 400, /query.format: must be one of/],
      ['GET', '/api/nothing-here', undefined, 404, /no such route/],
    ];
    for (const [m, p, body, status, msg] of cases) {
      const res = await call(admin, m, p, body);
      expect(res.status, `${m} ${p}`).to.equal(status);
      expect(res.data.error, `${m} ${p}`).to.match(msg);
    }
    expect((await call(admin, 'GET', '/api/me')).status).to.equal(200); // still serving
  });

  it('rate-limits with 429 and Retry-After', async () => {
    await srv.close();
    srv = await startServer({ store, port: 0, rateLimit: 5 });
    const statuses: number[] = [];
    let retry: string | null = null;
    for (let i = 0; i < 20; i++) {
      const r = await call(ann, 'GET', '/api/me');
      statuses.push(r.status);
      if (r.status === 429) retry = r.headers.get('retry-after');
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).to.equal(true); // the burst
    expect(statuses).to.include(429);
    expect(Number(retry)).to.be.at.least(1);
  });

  it('never over-assigns under concurrent requests', async () => {
    await call(researcher, 'PUT', '/api/settings', { overlap: 2 });
    store.addTasks(Array.from({ length: 10 }, (_, i) => task(i)));
    const tokens = [ann, bob, ...Array.from({ length: 6 }, (_, i) => store.addUser(`l${i}`, 'labeler'))];
    await Promise.all(tokens.map(async (tok) => {
      for (;;) {
        const t = await call(tok, 'GET', '/api/tasks/next');
        if (t.status === 204) return;
        const r = await call(tok, 'POST', '/api/labels', { taskId: t.data.id, clientId: `x${t.data.id}`, kind: 'skip' });
        expect(r.status, JSON.stringify(r.data)).to.equal(201);
      }
    }));
    const per = store.db.prepare('SELECT count(*) n FROM labels GROUP BY task_id').pluck().all();
    expect(per).to.deep.equal(new Array(10).fill(2));
  });

  it('documents every route in /api/openapi.json, generated from the validating schemas', async () => {
    const doc = (await call(null, 'GET', '/api/openapi.json')).data;
    expect(doc.openapi).to.match(/^3\./);
    for (const r of ROUTES) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method];
      expect(op, `${r.method} ${r.path}`).to.be.an('object');
      if (r.body) expect(op.requestBody.content['application/json'].schema).to.deep.equal(JSON.parse(JSON.stringify(r.body)));
      for (const k of Object.keys(r.query ?? {})) expect(op.parameters.map((p: { name: string }) => p.name), `${r.path} ?${k}`).to.include(k);
    }
    // and the server answers every documented operation (none falls through to 404 "no such route")
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) {
        const res = await call(admin, method.toUpperCase(), path.replace('{name}', 'ann'), method === 'get' ? undefined : {});
        expect(res.data?.error ?? '', `${method} ${path}`).to.not.equal('no such route');
      }
    }
    expect(srv.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(null, 'GET', '/api/openapi.json')).headers.get('x-powered-by')).to.equal(null);
  });

  describe('WebSocket', () => {
    const open = (token: string | null) => new WebSocket(srv.url.replace('http', 'ws') + '/ws', token ? [WS_TOKEN_PREFIX + token] : []);
    const firstMessage = (ws: WebSocket) => new Promise<any>((resolve, reject) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      ws.once('message', (d) => resolve(JSON.parse(String(d))));
      ws.once('error', reject);
    });

    it('refuses an unauthenticated upgrade, greets an authenticated one, and pushes events', async () => {
      const anon = open(null);
      const status = await new Promise<number>((resolve) => anon.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
      expect(status).to.equal(401);
      const bad = open('nope');
      expect(await new Promise<number>((resolve) => bad.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))).to.equal(401);
      const ws = open(ann);
      expect(await firstMessage(ws)).to.deep.equal({ type: 'hello', name: 'ann', role: 'labeler' });
      const ev = firstMessage(ws);
      await call(researcher, 'POST', '/api/tasks', { tasks: [task(1)] });
      expect(await ev).to.deep.equal({ type: 'tasks', added: 1 });
      ws.close();
    });

    it('closes only the socket that sends an oversized frame', async () => {
      const a = open(ann);
      const b = open(bob);
      await Promise.all([firstMessage(a), firstMessage(b)]);
      const closed = new Promise<number>((resolve) => a.on('close', (code) => resolve(code)));
      a.send('x'.repeat(10_000));
      expect(await closed).to.equal(1009);
      const ev = firstMessage(b);
      await call(researcher, 'POST', '/api/tasks', { tasks: [task(2)] });
      expect((await ev).type).to.equal('tasks');
      b.close();
    });

    it('a client that stops reading costs bounded memory and does not hold up the others', async () => {
      const slow = open(ann);
      const fast = open(bob);
      await Promise.all([firstMessage(slow), firstMessage(fast)]);
      (slow as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading from the server
      let got = 0;
      fast.on('message', () => got++);
      // 1000 events of 20 kB (20 MB, more than the kernel buffers hold), paced to the reader that reads
      const big = { type: 'tasks', added: 1, pad: 'x'.repeat(20_000) };
      const t0 = performance.now();
      for (let i = 1; i <= 1000; i++) {
        srv.hub.broadcast(big);
        while (got < i && performance.now() - t0 < 30_000) await new Promise((r) => setImmediate(r));
      }
      expect(got).to.equal(1000); // the reader got every event, in step with the server
      expect(srv.hub.dropped).to.be.greaterThan(0); // the slow one's events were dropped at the cap
      slow.terminate();
      fast.close();
    });
  });
});
