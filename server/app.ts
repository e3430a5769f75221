// The server: Express 5 for the JSON API and the pages, ws for live events. Every /api route comes from
// the table in routes.ts and passes, in order: rate limit, bearer-token auth, role check, body schema.
import express, { NextFunction, Request, Response } from 'express';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { ROLES, Role, Store, StoreError, User } from '../data/store.js';
import { buildClient, clientPage } from './client-bundle.js';
import { LabelQueue } from './label-queue.js';
import { openApiDocument } from './openapi.js';
import { RateLimiter } from './rate-limit.js';
import { RunManager, RunManagerOptions } from './run-manager.js';
import { Ctx, ROUTES, storeStatus } from './routes.js';
import { validate } from './schema.js';
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
}

export interface RunningServer {
  url: string;
  server: Server;
  hub: WsHub;
  close(): Promise<void>;
}

const rank = (r: Role) => ROLES.indexOf(r);

function bearer(h: string | undefined): string | null {
  const m = /^Bearer ([\w-]{1,200})$/.exec(h ?? '');
  return m ? m[1] : null;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const { store } = o;
  const limiter = new RateLimiter(o.rateLimit ?? 500);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    // Pages load only our own scripts and styles; model text can never run as code.
    res.setHeader('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    next();
  });

  const hub = new WsHub(store);
  // A running total for the live "labels" event; counting the table on every commit would grow with it.
  let total = store.db.prepare('SELECT count(*) FROM labels').pluck().get() as number;
  const onCommit = (created: number) => hub.broadcast({ type: 'labels', total: (total += created) });
  const ctx: Ctx = { store, labels: new LabelQueue(store, onCommit), broadcast: (e) => hub.broadcast(e), runs: new RunManager(store, (e) => hub.broadcast(e, 'researcher'), o.runs) };

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
      const token = bearer(req.headers.authorization);
      const wait = limiter.take(token ?? `ip:${req.socket.remoteAddress}`);
      if (wait > 0) return res.status(429).set('Retry-After', String(Math.ceil(wait))).json({ error: 'too many requests' });
      const user = token ? store.authenticate(token) : null;
      if (!user) return res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing or invalid bearer token' });
      if (rank(user.role) < rank(r.role!)) return res.status(403).json({ error: `this needs the ${r.role} role` });
      res.locals.user = user;
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
        await r.handler(req, res, res.locals.user as User, ctx);
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

  const server = createServer(app);
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
    close: () => ctx.runs.close().then(() => new Promise((resolve) => {
      hub.close();
      server.close(() => resolve());
      server.closeAllConnections();
    })),
  };
}
