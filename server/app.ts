// The server: Express 5 for the JSON API and the pages, ws for live events. Every /api route comes from
// the table in routes.ts and passes, in order: rate limit, bearer-token auth, role check, body schema.
// The labeler's per-label requests take a leaner path to the same checks (lean-api.ts).
import express, { NextFunction, Request, Response } from 'express';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { Store, StoreError, User } from '../data/store.js';
import { buildClient, clientPage } from './client-bundle.js';
import { LabelQueue } from './label-queue.js';
import { inlineCommitter, threadCommitter } from './label-writer.js';
import { leanApi, makeGate, SECURITY_HEADERS } from './lean-api.js';
import { openApiDocument } from './openapi.js';
import { addressKey, RateLimiter } from './rate-limit.js';
import { RunManager, RunManagerOptions } from './run-manager.js';
import { Ctx, ROUTES, storeStatus } from './routes.js';
import { validate } from './schema.js';
import { ScoreProxy } from './score-proxy.js';
import { offeredToken, WsHub } from './ws-hub.js';

export interface ServerOptions {
  store: Store;
  host?: string;
  port?: number;
  /** Requests per second per user, with a burst of twice that. */
  rateLimit?: number;
  /**
   * Requests without a valid token per second per address (an IPv6 /64), burst twice that; past it they
   * get 429 instead of 401 (a valid token is never limited by its address). Default: rateLimit, at most 50.
   */
  authFailureLimit?: number;
  /** WebSocket upgrades per second per address, burst twice that (default 10). */
  upgradeLimit?: number;
  /**
   * Milliseconds a client has to send a whole request, headers and body (default 10 s; Node's own is
   * 300 s, long enough for a few thousand slow connections to hold the server). Responses (streamed
   * exports, CSV downloads) and WebSockets are not timed by it.
   */
  requestTimeoutMs?: number;
  /** Where start-up warnings go (default: a line on stderr). */
  warn?: (line: string) => void;
  /** Largest JSON body accepted. */
  bodyLimit?: string;
  /** The run manager's options: runs folder, runs at once, the children's command. */
  runs?: Partial<RunManagerOptions>;
  /** A reward-model folder to serve POST /api/score from (loaded in a worker thread). */
  rewardModel?: string;
  /** tfjs backend of the scoring worker. */
  scoreBackend?: string;
}

export interface RunningServer {
  url: string;
  server: Server;
  hub: WsHub;
  close(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const { store } = o;
  const rate = o.rateLimit ?? 500;
  const failures = new RateLimiter(o.authFailureLimit ?? Math.min(rate, 50));
  const gate = makeGate(store, new RateLimiter(rate), failures);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const headers = Object.entries(SECURITY_HEADERS);
  app.use((_req, res, next) => {
    for (const [k, v] of headers) res.setHeader(k, v);
    next();
  });

  const hub = new WsHub(store);
  // A running total for the live "labels" event; counting the table on every commit would grow with it.
  let total = store.db.prepare('SELECT count(*) FROM labels').pluck().get() as number;
  const onCommit = (created: number) => hub.broadcast({ type: 'labels', total: (total += created) });
  const ctx: Ctx = { store, labels: new LabelQueue(store.db.memory ? inlineCommitter(store) : threadCommitter(store.db.name, store), onCommit), broadcast: (e) => hub.broadcast(e), runs: new RunManager(store, (e) => hub.broadcast(e, 'researcher'), o.runs), scorer: o.rewardModel ? new ScoreProxy(o.rewardModel, o.scoreBackend) : null };

  const doc = openApiDocument(ROUTES);
  app.get('/api/openapi.json', (_req, res) => res.json(doc));
  const pages = buildClient();
  app.get('/', (_req, res) => res.redirect('/label'));
  app.get('/label', (_req, res) => res.type('html').send(clientPage('label')));
  app.get('/project', (_req, res) => res.type('html').send(clientPage('project')));
  app.get('/dashboard', (_req, res) => res.type('html').send(clientPage('dashboard')));
  app.get('/static/:file', (req, res) => {
    const f = pages.get(String(req.params.file));
    if (!f) return res.status(404).json({ error: 'not found' });
    res.type(f.type).send(f.body);
  });

  const json = express.json({ limit: o.bodyLimit ?? '64kb', strict: true });
  for (const r of ROUTES.filter((x) => x.role !== null)) {
    app[r.method](r.path, (req: Request, res: Response, next: NextFunction) => {
      const g = gate(req, r.role!);
      if (!('user' in g)) return res.status(g.status).set(g.headers ?? {}).json({ error: g.error });
      res.locals.user = g.user;
      next();
    }, r.body ? json : (_q: Request, _s: Response, n: NextFunction) => n(), async (req: Request, res: Response, next: NextFunction) => {
      if (r.body) {
        const err = validate(r.body, req.body);
        if (err) return res.status(400).json({ error: err });
      }
      for (const [k, s] of Object.entries(r.query ?? {})) {
        const v = req.query[k];
        if (v !== undefined) {
          const err = validate(s, v, `query.${k}`);
          if (err) return res.status(400).json({ error: err });
        }
      }
      try {
        if (r.answer) {
          const [status, body] = await r.answer({ body: req.body, query: req.query }, res.locals.user as User, ctx);
          if (body === undefined) res.status(status).end();
          else res.status(status).json(body);
        } else await r.handler!(req, res, res.locals.user as User, ctx);
      } catch (e) {
        next(e);
      }
    });
  }
  app.use('/api', (_req, res) => res.status(404).json({ error: 'no such route' }));
  app.use((err: Error & { type?: string; status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return res.destroy();
    if (err instanceof StoreError) return res.status(storeStatus(err)).json({ error: err.message });
    if (err.type === 'entity.too.large') return res.status(413).json({ error: `body larger than ${o.bodyLimit ?? '64kb'}` });
    if (err.type === 'entity.parse.failed') return res.status(400).json({ error: `malformed JSON: ${err.message}` });
    if (err.status && err.status >= 400 && err.status < 500) return res.status(err.status).json({ error: err.message });
    console.error(err);
    res.status(500).json({ error: 'internal error' });
  });

  // The labeler's per-label requests skip Express (lean-api.ts); everything else goes through it.
  const lean = leanApi(ROUTES, gate, ctx, o.bodyLimit ?? '64kb');
  // Node checks the request timeouts every connectionsCheckingInterval (30 s by default): a few
  // times per timeout instead, so a slow body is cut off close to the limit.
  const timeout = o.requestTimeoutMs ?? 10_000;
  const server = createServer({ requestTimeout: timeout, headersTimeout: timeout, connectionsCheckingInterval: Math.max(100, Math.min(1000, timeout / 4)) }, (req, res) => lean(req, res) || app(req, res));
  const upgrades = new RateLimiter(o.upgradeLimit ?? 10);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {}); // a peer gone mid-refusal
    const addr = addressKey(socket.remoteAddress);
    // Each upgrade costs a handshake and, once open, a socket held for hours: limited per address, and
    // a bad token counts against the address as on every other route.
    const token = offeredToken(req);
    const valid = !!token && store.authenticate(token) !== null; // an invalid one: ws-hub.ts answers it 401
    const wait = valid ? upgrades.take(addr) : Math.max(failures.take(addr), upgrades.take(addr));
    if (wait > 0) return void socket.end(`HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${Math.ceil(wait)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    hub.upgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  // The server speaks plain HTTP: off this machine, bearer tokens and labels cross the network readable.
  if (!isLoopback(address)) (o.warn ?? ((l) => process.stderr.write(l + '\n')))(`warning: binding to ${o.host ?? address} without TLS: tokens travel in clear; put a TLS-terminating proxy in front`);
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    server,
    hub,
    close: () => Promise.all([ctx.runs.close(), ctx.scorer?.close(), ctx.labels.close()]).then(() => new Promise((resolve) => {
      hub.close();
      server.close(() => resolve());
      server.closeAllConnections();
    })),
  };
}

/** 127.0.0.0/8 and ::1 (also IPv4-mapped): the addresses that never leave this machine. */
export function isLoopback(address: string): boolean {
  return /^(::ffff:)?127\.\d+\.\d+\.\d+$/i.test(address) || address === '::1';
}
