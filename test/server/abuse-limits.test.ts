// Limits on what one address can make the server do: invalid tokens and WebSocket upgrades per address,
// slow requests cut off in seconds (while long responses and WebSockets go on), and a warning when the
// server listens beyond this machine without TLS.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { WS_TOKEN_PREFIX } from '../../protocol/wire.js';
import { Store } from '../../data/store.js';
import { RunningServer, ServerOptions, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';

describe('server: abuse limits', function () {
  this.timeout(60_000);
  let store: Store;
  let srv: RunningServer | null = null;
  let ann: string;
  let rita: string;
  const start = async (o: Partial<ServerOptions> = {}) => (srv = await startServer({ store, port: 0, ...o }));
  const port = () => Number(new URL(srv!.url).port);

  beforeEach(() => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    ann = store.addUser('ann', 'labeler');
    rita = store.addUser('rita', 'researcher');
  });
  afterEach(async () => {
    await srv?.close();
    srv = null;
    store.close();
  });

  it('random invalid tokens from one address get 429, with Retry-After; a valid token from the same address still works', async () => {
    await start({ rateLimit: 1000, authFailureLimit: 5 }); // 10 failures at once, then 5 a second
    const statuses: number[] = [];
    let retry: string | null = null;
    for (let i = 0; i < 40; i++) {
      const path = i % 2 ? '/api/me' : '/api/tasks/next'; // the Express mount and the lean path share the gate
      const r = await fetch(srv!.url + path, { headers: { Authorization: `Bearer ${randomBytes(32).toString('base64url')}` } });
      statuses.push(r.status);
      if (r.status === 429) retry = r.headers.get('retry-after');
    }
    expect(statuses.slice(0, 10)).to.deep.equal(new Array(10).fill(401));
    expect(statuses.filter((s) => s === 429).length).to.be.at.least(25);
    expect(Number(retry)).to.be.at.least(1);
    // no token at all counts the same
    expect((await fetch(srv!.url + '/api/me')).status).to.equal(429);
    // someone else's failures never lock out a user on the same address (an office NAT)
    expect((await fetch(srv!.url + '/api/me', { headers: { Authorization: `Bearer ${ann}` } })).status).to.equal(200);
    expect((await fetch(srv!.url + '/api/me', { headers: { Authorization: 'Bearer nope' } })).status).to.equal(429);
  });

  it('refuses a flood of WebSocket upgrades from one address with 429; bad tokens on upgrades count as failures', async () => {
    await start({ upgradeLimit: 2, authFailureLimit: 2 });
    const open = (token: string) => new Promise<number | 'open'>((resolve) => {
      const ws = new WebSocket(srv!.url.replace('http', 'ws') + '/ws', [WS_TOKEN_PREFIX + token]);
      ws.on('open', () => (resolve('open'), ws.close()));
      ws.on('unexpected-response', (_req, res) => (resolve(res.statusCode ?? 0), ws.terminate()));
      ws.on('error', () => resolve(0));
    });
    const first = await Promise.all(Array.from({ length: 12 }, () => open(ann)));
    expect(first.filter((s) => s === 'open').length).to.be.within(4, 5); // the burst of twice 2 (and a refill)
    expect(first.filter((s) => s === 429).length).to.be.at.least(7);
    await new Promise((r) => setTimeout(r, 2100)); // the upgrade bucket refills
    const bad = [];
    for (let i = 0; i < 6; i++) bad.push(await open(randomBytes(16).toString('hex')));
    expect(bad.slice(0, 4)).to.deep.equal([401, 401, 401, 401]);
    expect(bad.slice(4)).to.include(429); // the failure bucket ran out, whatever the upgrade bucket says
  });

  const rawRequest = (text: string) => {
    const sock = connect(port(), '127.0.0.1');
    sock.write(text);
    let got = '';
    sock.on('data', (d) => (got += d));
    return { sock, closed: new Promise<{ ms: number; got: string }>((resolve) => { const t0 = performance.now(); sock.on('close', () => resolve({ ms: performance.now() - t0, got })); }) };
  };
  const dribble = (sock: Socket, ms: number, byte: string) => {
    const timer = setInterval(() => sock.writable && sock.write(byte), ms);
    sock.on('close', () => clearInterval(timer));
  };

  it('cuts off a slowloris body (lean path and Express) and slow headers within about the timeout', async () => {
    await start({ requestTimeoutMs: 1000 });
    const body = (path: string, token: string) => rawRequest(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    const lean = body('/api/labels', ann);
    const express = body('/api/tasks', rita);
    const headers = rawRequest('GET /api/me HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    // a byte every 100 ms: never idle, never done
    for (const r of [lean, express]) dribble(r.sock, 100, ' ');
    dribble(headers.sock, 100, 'a');
    for (const [name, r] of [['lean', lean], ['express', express], ['headers', headers]] as const) {
      const { ms, got } = await r.closed;
      expect(ms, name).to.be.within(800, 3000);
      expect(got, name).to.match(/^HTTP\/1\.1 408/);
    }
  });

  it('a long streamed export and an open WebSocket outlive the request timeout', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => ({ prompt: `p${i}`, chosen: `c${i} ${'x'.repeat(2000)}`, rejected: `r${i}` }));
    store.importPairs(rows, 'imported');
    await start({ requestTimeoutMs: 500 });
    const ws = new WebSocket(srv!.url.replace('http', 'ws') + '/ws', [WS_TOKEN_PREFIX + ann]);
    const events: string[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d)).type));
    const res = await fetch(srv!.url + '/api/export?format=pairs', { headers: { Authorization: `Bearer ${rita}` } });
    const reader = res.body!.getReader();
    let [bytes, lines] = [0, 0];
    for (let first = true; ; first = false) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      for (const b of value) if (b === 10) lines++;
      if (first) await new Promise((r) => setTimeout(r, 1500)); // three timeouts, the response held up by backpressure
    }
    expect(lines).to.equal(3000);
    expect(bytes).to.be.above(6_000_000);
    srv!.hub.broadcast({ type: 'tasks', added: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(ws.readyState).to.equal(WebSocket.OPEN);
    expect(events).to.deep.equal(['hello', 'tasks']);
    ws.close();
  });

  it('warns on stderr when it listens beyond loopback without TLS', async () => {
    const lines: string[] = [];
    await start({ host: '0.0.0.0', warn: (l) => lines.push(l) });
    expect(lines).to.deep.equal(['warning: binding to 0.0.0.0 without TLS: tokens travel in clear; put a TLS-terminating proxy in front']);
    await srv!.close();
    srv = null;
    await start({ host: '127.0.0.1', warn: (l) => lines.push(l) });
    expect(lines).to.have.length(1); // none for loopback
    await srv!.close();
    srv = null;
    // by default, one line on stderr
    const write = process.stderr.write;
    const seen: string[] = [];
    process.stderr.write = ((chunk: string) => (seen.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await start({ host: '0.0.0.0' });
    } finally {
      process.stderr.write = write;
    }
    expect(seen).to.deep.equal(['warning: binding to 0.0.0.0 without TLS: tokens travel in clear; put a TLS-terminating proxy in front\n']);
  });
});
