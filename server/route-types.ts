// What every route of the API is: its method and path, the least role, the schemas of its body and query,
// and a thin handler; the context handlers get; and the helpers they share. The table itself is put
// together in routes.ts from the files that define routes (api-routes.ts, run-routes.ts, score-routes.ts),
// which import only this file: no import circle.
import type { Request, Response } from 'express';
import type { Role, Store, StoreError, User } from '../data/store.js';
import type { LabelQueue } from './label-queue.js';
import type { RunManager } from './run-manager.js';
import type { Schema } from './schema.js';
import { compiledCheck } from '../train/config-schema.js';
import type { ScoreProxy } from './score-proxy.js';

export interface Ctx {
  store: Store;
  labels: LabelQueue;
  /** Push an event to every connected page. */
  broadcast: (e: object) => void;
  /** Training runs as child processes (run-manager.ts). */
  runs: RunManager;
  /** Reward-model scoring in a worker thread, when the server was given a reward model. */
  scorer: ScoreProxy | null;
}

export interface Route {
  method: 'get' | 'post' | 'put';
  path: string;
  /** Least role allowed (labeler < researcher < admin); null for the public document. */
  role: Role | null;
  summary: string;
  body?: Schema;
  query?: Record<string, Schema>;
  /** Status and description of the success response. */
  ok: [number, string];
  /** Either an Express handler, or `answer`. */
  handler?: (req: Request, res: Response, user: User, ctx: Ctx) => unknown;
  /**
   * The reply as a function of the checked input: [status, JSON body, or none]. app.ts serves routes with
   * an answer (the labeler's per-label requests) on node:http directly, without Express (lean-api.ts).
   */
  answer?: (input: { body: unknown; query: Record<string, unknown> }, user: User, ctx: Ctx) => Answer | Promise<Answer>;
}

export type Answer = [status: number, body?: unknown];

/** The routes, with every body and query schema compiled now (at load), not on its first request. */
export function precompiled(routes: Route[]): Route[] {
  for (const r of routes) for (const s of [r.body, ...Object.values(r.query ?? {})]) if (s) compiledCheck(s);
  return routes;
}

/** Resolves when the response can take more data, or is closed. */
export function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** HTTP status for a store error. */
export function storeStatus(e: StoreError): number {
  return { invalid: 400, not_found: 404, conflict: 409, forbidden: 403 }[e.code];
}
