// Users as a security boundary: a disabled user's or replaced token's WebSockets close at once (also when
// the change comes from another process), the last enabled admin cannot be disabled or demoted, enable
// gives a token back its power, and responses that carry a token are never cached.
import { expect } from 'chai';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { WS_TOKEN_PREFIX } from '../../protocol/wire.js';
import { Store, StoreError } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';

describe('server: users security', () => {
  let file: string;
  let store: Store;
  let srv: RunningServer;
  let admin: string;
  let rita: string;
  const call = apiClient(() => srv.url);
  /** An open socket and everything it receives after the greeting, and how it closed. */
  const watch = async (token: string) => {
    const ws = new WebSocket(srv.url.replace('http', 'ws') + '/ws', [WS_TOKEN_PREFIX + token]);
    const events: { type: string }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => {
        ws.on('message', (d) => events.push(JSON.parse(String(d))));
        resolve();
      });
      ws.once('error', reject);
    });
    return { ws, events, closed };
  };
  const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

  beforeEach(async () => {
    file = join(tempDir(), 'rlhf.db');
    store = new Store(file);
    admin = store.addUser('boss', 'admin');
    rita = store.addUser('rita', 'researcher');
    srv = await startServer({ store, port: 0 });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it('disabling a researcher through the API closes their open WebSocket at once (4401); no further events reach it', async () => {
    const s = await watch(rita);
    const other = await watch(admin);
    srv.hub.broadcast({ type: 'tasks', added: 1 }, 'researcher');
    await new Promise((r) => setTimeout(r, 50));
    expect(s.events).to.have.length(1);
    expect((await call(admin, 'POST', '/api/users/rita/disable')).status).to.equal(200);
    const how = await within(s.closed, 500, 'close after disable');
    expect(how.code).to.equal(4401);
    expect(how.reason).to.match(/revoked|disabled/);
    srv.hub.broadcast({ type: 'tasks', added: 2 }, 'researcher');
    await new Promise((r) => setTimeout(r, 50));
    expect(s.events).to.have.length(1);
    expect(other.events).to.have.length(2); // the admin's socket is untouched
    expect(other.ws.readyState).to.equal(WebSocket.OPEN);
    other.ws.close();
  });

  it("replacing a user's token closes the sockets opened with the old one", async () => {
    const s = await watch(rita);
    const r = await call(admin, 'POST', '/api/users/rita/token');
    expect(r.status).to.equal(200);
    expect((await within(s.closed, 500, 'close after token')).code).to.equal(4401);
    const fresh = await watch(r.data.token); // the new token opens a socket that stays open
    await new Promise((res) => setTimeout(res, 1500));
    expect(fresh.ws.readyState).to.equal(WebSocket.OPEN);
    fresh.ws.close();
  });

  it('a disable from another process (the CLI beside the server) closes the socket within a couple of seconds', async () => {
    const s = await watch(rita);
    const cli = new Store(file); // its own connection, as `rlhf users disable` has
    cli.disableUser('rita', null);
    cli.close();
    expect((await within(s.closed, 3000, 'close after a disable elsewhere')).code).to.equal(4401);
  });

  it('enable gives a disabled user their token back, and is audit-logged', async () => {
    expect((await call(admin, 'POST', '/api/users/rita/disable')).status).to.equal(200);
    expect((await call(rita, 'GET', '/api/me')).status).to.equal(401);
    expect((await call(admin, 'POST', '/api/users/rita/enable')).status).to.equal(200);
    expect((await call(rita, 'GET', '/api/me')).data).to.include({ name: 'rita', role: 'researcher' });
    expect((await call(admin, 'POST', '/api/users/nobody/enable')).status).to.equal(404);
    expect((await call(rita, 'POST', '/api/users/rita/enable')).status).to.equal(403);
    const actions = store.db.prepare("SELECT action, detail FROM audit_log WHERE action LIKE 'user.%able' ORDER BY id").all();
    expect(actions).to.deep.equal([{ action: 'user.disable', detail: '{"name":"rita"}' }, { action: 'user.enable', detail: '{"name":"rita"}' }]);
  });

  it('the last enabled admin cannot be disabled or demoted (409); with a second admin both work', async () => {
    const dis = await call(admin, 'POST', '/api/users/boss/disable');
    expect(dis.status).to.equal(409);
    expect(dis.data.error).to.match(/last enabled admin/);
    const demote = await call(admin, 'POST', '/api/users/boss/role', { role: 'researcher' });
    expect(demote.status).to.equal(409);
    for (const body of [{ role: 'root' }, {}, { role: 'admin', extra: 1 }, '{"role":']) {
      const bad = await call(admin, 'POST', '/api/users/rita/role', body);
      expect(bad.status, JSON.stringify(body)).to.equal(400);
      expect(bad.data.error).to.be.a('string');
    }
    expect((await call(rita, 'POST', '/api/users/rita/role', { role: 'admin' })).status).to.equal(403);
    expect((await call(admin, 'GET', '/api/me')).data).to.include({ role: 'admin' });
    // a disabled second admin does not count
    store.addUser('ada', 'admin');
    store.disableUser('ada', null);
    expect((await call(admin, 'POST', '/api/users/boss/disable')).status).to.equal(409);
    expect(() => store.setRole('boss', 'labeler', null)).to.throw(StoreError, /last enabled admin/);
    expect((await call(admin, 'POST', '/api/users/ada/enable')).status).to.equal(200);
    const r = await call(admin, 'POST', '/api/users/rita/role', { role: 'admin' });
    expect([r.status, r.data]).to.deep.equal([200, { name: 'rita', role: 'admin' }]);
    expect((await call(admin, 'POST', '/api/users/boss/role', { role: 'researcher' })).status).to.equal(200);
    expect((await call(rita, 'POST', '/api/users/ada/disable')).status).to.equal(200);
    expect((await call(rita, 'POST', '/api/users/rita/disable')).status).to.equal(409); // now rita is the last one
    expect(store.users().filter((u) => u.role === 'admin' && !u.disabled).map((u) => u.name)).to.deep.equal(['rita']);
    expect((await call(rita, 'POST', '/api/users/rita/role', { role: 'king' })).status).to.equal(400);
  });

  it('a demoted socket stops getting researcher events', async () => {
    store.addUser('ada', 'admin');
    const s = await watch(rita);
    expect((await call(admin, 'POST', '/api/users/rita/role', { role: 'labeler' })).status).to.equal(200);
    srv.hub.broadcast({ type: 'run', secret: 1 }, 'researcher');
    srv.hub.broadcast({ type: 'tasks', added: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(s.events.map((e) => e.type)).to.deep.equal(['tasks']);
    s.ws.close();
  });

  it('responses that carry a token say Cache-Control: no-store', async () => {
    const add = await call(admin, 'POST', '/api/users', { name: 'zed', role: 'labeler' });
    expect(add.status).to.equal(201);
    expect(add.data.token).to.be.a('string');
    expect(add.headers.get('cache-control')).to.equal('no-store');
    const rot = await call(admin, 'POST', '/api/users/zed/token');
    expect(rot.data.token).to.be.a('string');
    expect(rot.headers.get('cache-control')).to.equal('no-store');
  });
});
