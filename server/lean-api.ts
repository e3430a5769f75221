// The labeler's per-label requests (the routes with an `answer`: POST /api/labels, GET /api/tasks/next)
// served on node:http directly. Express's router, body parser and response helpers took about a third of
// the server's time per label in the profile (BENCHMARKS.md). The checks and answers are the Express
// mount's: the same gate, the same schemas and route table, the same order (rate limit, token, role,
// body size, JSON, body schema, query schema) and the same status codes and messages.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { ROLES, Role, Store, StoreError, User } from '../data/store.js';
import { addressKey, RateLimiter } from './rate-limit.js';
import { Answer, Ctx, Route, storeStatus } from './route-types.js';
import { validate } from './schema.js';

// Pages load only our own scripts and styles; model text can never run as code.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};
const JSON_HEADERS = { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' };

/** Who may make a request: the user, or the refusal to send. */
export type Refusal = { status: number; error: string; headers?: Record<string, string> };
export type Gate = (req: IncomingMessage, role: Role) => { user: User } | Refusal;

const rank = (r: Role) => ROLES.indexOf(r);

export const tooMany = (wait: number): Refusal => ({ status: 429, error: 'too many requests', headers: { 'Retry-After': String(Math.ceil(wait)) } });

/**
 * Rate limit, token, role. Users are limited per user (`limiter`); requests without a valid token per
 * address (`failures`, see addressKey). An address that has used up its failures is refused before its
 * next token is even looked at: a bucket per presented token (as before) never limited anyone cycling
 * random tokens, and refusing only the failures would still answer a lucky guess. The price is that a
 * valid user behind the same address waits out the refill too.
 */
export function makeGate(store: Store, limiter: RateLimiter, failures: RateLimiter = limiter): Gate {
  return (req, role): { user: User } | Refusal => {
    // A valid token is limited per user, never by its address: someone else's failed guesses from the same
    // network (an office NAT) must not lock a user out. Requests without one are limited per address; a
    // lookup is a hash and an indexed read, and with 256-bit tokens the limit bounds work, not guessing.
    const m = /^Bearer ([\w-]{1,200})$/.exec(req.headers.authorization ?? '');
    const user = m ? store.authenticate(m[1]) : null;
    if (!user) {
      const wait = failures.take(addressKey(req.socket.remoteAddress));
      if (wait > 0) return tooMany(wait);
      return { status: 401, error: 'missing or invalid bearer token', headers: { 'WWW-Authenticate': 'Bearer' } };
    }
    const wait = limiter.take(`user:${user.id}`);
    if (wait > 0) return tooMany(wait);
    if (rank(user.role) < rank(role)) return { status: 403, error: `this needs the ${role} role` };
    return { user };
  };
}

/** '64kb' -> 65536: the forms ServerOptions.bodyLimit takes (Express's `bytes` units). */
export function parseBytes(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`bodyLimit: cannot read '${limit}' (use e.g. 64kb)`);
  return Math.floor(Number(m[1]) * 1024 ** ['b', 'kb', 'mb', 'gb'].indexOf((m[2] ?? 'b').toLowerCase()));
}

function send(res: ServerResponse, status: number, body?: unknown, extra?: Record<string, string>): void {
  if (body === undefined) {
    res.writeHead(status, extra ? { ...SECURITY_HEADERS, ...extra } : SECURITY_HEADERS).end();
    return;
  }
  const text = JSON.stringify(body); // a string body goes out in one write with the headers
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': String(Buffer.byteLength(text)), ...extra }).end(text);
}

/** A request listener for the answer routes; false (touching nothing) for any other request. */
export function leanApi(routes: Route[], gate: Gate, ctx: Ctx, bodyLimit: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const table = new Map(routes.filter((r) => r.answer && r.role && !r.path.includes(':')).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r]));
  const limit = parseBytes(bodyLimit);

  const run = async (r: Route, user: User, body: unknown, query: Record<string, unknown>, res: ServerResponse) => {
    if (r.body) {
      const err = validate(r.body, body);
      if (err) return send(res, 400, { error: err });
    }
    for (const k in r.query) {
      if (query[k] === undefined) continue;
      const err = validate(r.query[k], query[k], `query.${k}`);
      if (err) return send(res, 400, { error: err });
    }
    let a: Answer;
    try {
      a = await r.answer!({ body, query }, user, ctx);
    } catch (e) {
      if (e instanceof StoreError) return send(res, storeStatus(e), { error: e.message });
      console.error(e);
      return send(res, 500, { error: 'internal error' });
    }
    send(res, a[0], a[1]);
  };

  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const r = table.get(`${req.method} ${q < 0 ? url : url.slice(0, q)}`);
    const encoding = req.headers['content-encoding'];
    if (!r || (encoding && encoding !== 'identity')) return false; // compressed bodies: Express inflates them
    const g = gate(req, r.role!);
    if (!('user' in g)) {
      send(res, g.status, { error: g.error }, g.headers);
      return true;
    }
    const query = q < 0 ? {} : (parseQuery(url.slice(q + 1)) as Record<string, unknown>);
    if (!r.body) {
      void run(r, g.user, undefined, query, res);
      return true;
    }
    req.on('error', () => {}); // a client that goes away mid-body: nothing to answer
    const type = req.headers['content-type'] ?? '';
    const json = /^application\/json\s*(;|$)/i.test(type);
    const charset = /;\s*charset=["']?([^;"'\s]+)/i.exec(type)?.[1].toLowerCase();
    if (json && charset && charset !== 'utf-8') {
      req.resume();
      send(res, 415, { error: `unsupported charset "${charset.toUpperCase()}"` });
      return true;
    }
    const tooLarge = () => send(res, 413, { error: `body larger than ${bodyLimit}` });
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      tooLarge();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (size > limit) return; // already refused; the rest is drained
      size += c.length;
      if (size > limit) tooLarge();
      else chunks.push(c);
    });
    req.on('end', () => {
      if (size > limit) return;
      if (!json) return void run(r, g.user, undefined, query, res); // not JSON: no body, as in express.json()
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
      let body: unknown = {};
      if (text.trim()) {
        // strict, as express.json(): only an object or an array at the top
        if (!/^\s*[[{]/.test(text)) return send(res, 400, { error: 'malformed JSON: the body must be an object or an array' });
        try {
          body = JSON.parse(text);
        } catch (e) {
          return send(res, 400, { error: `malformed JSON: ${(e as Error).message}` });
        }
      }
      void run(r, g.user, body, query, res);
    });
    return true;
  };
}
