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
import { RateLimiter } from './rate-limit.js';
import { RunManager, RunManagerOptions } from './run-manager.js';
import { Ctx, ROUTES, storeStatus } from './routes.js';
import { validate } from './schema.js';
import { ScoreProxy } from './score-proxy.js';
import { WsHub } from './ws-hub.js';

export interface ServerOptions {
  store: Store;
  host?: string;
  port?: number;
  /** Requests per second per token (or per address before auth), with a burst of twice that. */
  rateLimit?: number;
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
  const gate = makeGate(store, new RateLimiter(o.rateLimit ?? 500));
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
  const server = createServer((req, res) => lean(req, res) || app(req, res));
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => hub.upgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
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
