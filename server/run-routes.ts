// The runs API: launch, list, stop, resume; a run's metrics (JSON and streamed CSV), samples, events,
// log and config. Researchers and admins only. Thin handlers over the run manager and the runs store;
// routes.ts appends these to its table, so they share auth, validation and the OpenAPI document.
import type { Response } from 'express';
import type { RunMetaRequest, RunView } from '../protocol/wire.js';
import { openReader } from '../data/export.js';
import { metricsCsv, RunRow } from '../data/runs-store.js';
import { StoreError } from '../data/store.js';
import { RUN_KINDS } from './run-manager.js';
import { DEFAULT_QUOTAS, mergeQuotas } from './run-quotas.js';
import { drained, precompiled, Route } from './route-types.js';
import { RUN_KINDS_VIEW } from './run-kinds.js';
import { anyObj, arr, int, obj, str } from './schema.js';

const view = (r: RunRow): RunView => {
  const { pid: _pid, dir: _dir, owner_id: _owner, ...v } = r;
  return v;
};
const idParam = (p: unknown): string => String(p);
const count = (description: string) => str({ pattern: '^[0-9]{1,9}$', description });

function found(r: RunRow | null, id: string): RunRow {
  if (!r) throw new StoreError('not_found', `no run ${id}`);
  return r;
}

export const RUN_ROUTES: Route[] = precompiled([
  {
    method: 'get', path: '/api/runs', role: 'researcher',
    summary: 'runs, newest first (launched here or recorded by a CLI run with --db), a page at a time; the X-Next-Page header holds the next page when there may be one',
    query: { limit: str({ pattern: '^([1-9][0-9]?|1[0-9][0-9]|200)$', description: 'runs per page, 1-200 (default 50)' }), before: str({ pattern: '^[\\w.-]{1,200}$', description: 'the page after this run id' }) },
    ok: [200, 'RunView[]'],
    handler: (req, res, _u, { runs }) => {
      const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
      const before = req.query.before === undefined ? undefined : String(req.query.before);
      if (before !== undefined && !runs.runs.get(before)) throw new StoreError('not_found', `query.before: no run ${before}`);
      const page = runs.runs.list(limit, before);
      if (page.length === limit) res.setHeader('X-Next-Page', `/api/runs?limit=${limit}&before=${encodeURIComponent(page.at(-1)!.id)}`);
      res.json(page.map(view));
    },
  },
  {
    method: 'get', path: '/api/run-quotas', role: 'researcher', summary: 'the limits a run launched here must keep (steps, batch sizes, tokens, disk, runs queued per user)', ok: [200, 'RunQuotas'],
    handler: (_q, res, _u, { runs }) => res.json(runs.quotas()),
  },
  {
    method: 'put', path: '/api/run-quotas', role: 'admin', summary: 'change some of the run quotas (integers >= 1); the others keep their values',
    body: obj(Object.fromEntries(Object.keys(DEFAULT_QUOTAS).map((k) => [k, int({ minimum: 1 })]))), ok: [200, 'RunQuotas'],
    handler: (req, res, u, { runs, store }) => {
      const q = mergeQuotas(runs.quotas(), req.body as Record<string, unknown>);
      store.db.transaction(() => {
        runs.runs.setSetting('run_quotas', JSON.stringify(q));
        store.audit(u.id, 'run.quotas', q);
      }).immediate();
      res.json(q);
    },
  },
  {
    method: 'get', path: '/api/reward-modules', role: 'researcher', summary: 'folders an admin registered (rlhf serve --reward-modules DIR): a module in one may be a run\'s reward or goldReward', ok: [200, '{folders}'],
    handler: (_q, res, _u, { runs }) => res.json({ folders: runs.workspace.rewardModules, read: runs.workspace.readRoots }),
  },
  {
    method: 'get', path: '/api/run-kinds', role: 'researcher',
    summary: "the kinds of run POST /api/runs launches, each with the JSON Schema of its config (fields, types, bounds, defaults, descriptions; out is the server's)",
    ok: [200, 'RunKindsView: {kinds: {kind: JSON Schema}}'],
    handler: (_q, res) => res.json(RUN_KINDS_VIEW),
  },
  {
    method: 'post', path: '/api/runs', role: 'researcher',
    summary: `launch a run as a child process (rlhf <kind> --config FILE --json); config holds the fields of that command's config file. Paths must lie in the server's workspace (GET /api/reward-modules lists its folders), out is always a new folder of the server's runs directory, and sizes must keep the quotas (GET /api/run-quotas)`,
    body: obj({ kind: str({ enum: [...RUN_KINDS] }), config: anyObj("the run's config, as in the command's --config file: its schema is GET /api/run-kinds (components.schemas SftConfig, RmConfig, PpoConfig, GrpoConfig, RlooConfig, DpoConfig here); grpo, rloo and dpo configs are checked whole against it before the run is queued") }, ['kind', 'config']),
    ok: [201, 'the RunView, queued or running'],
    handler: (req, res, u, { runs }) => res.status(201).json(view(runs.launch(req.body.kind, req.body.config, u))),
  },
  {
    method: 'get', path: '/api/runs/:id', role: 'researcher', summary: 'one run: state, error, resolved config, and its events', ok: [200, '{run, events}'],
    handler: (req, res, _u, { runs }) => {
      const id = idParam(req.params.id);
      res.json({ run: view(found(runs.runs.get(id), id)), events: runs.runs.events(id), checkpoint: runs.latestCheckpoint(id) });
    },
  },
  {
    method: 'put', path: '/api/runs/:id/meta', role: 'researcher', summary: "set a run's name, tags or notes (the fields given; an empty name or notes clears it); any researcher, audited",
    body: obj({
      name: str({ maxLength: 200, description: 'display name' }),
      tags: arr(str({ pattern: '^[^,\\n]{1,40}$', description: 'a tag: 1-40 characters, no comma or line break' }), { maxItems: 20 }),
      notes: str({ maxLength: 10_000, description: 'free text' }),
    }),
    ok: [200, 'the RunView'],
    handler: (req, res, u, { runs }) => res.json(view(runs.setMeta(idParam(req.params.id), req.body as RunMetaRequest, u))),
  },
  {
    method: 'post', path: '/api/runs/:id/stop', role: 'researcher', summary: 'stop a queued or running run (its latest checkpoint stays; resume continues from it)', ok: [202, 'the RunView; its state turns stopped when the child has exited'],
    handler: (req, res, u, { runs }) => res.status(202).json(view(runs.stop(idParam(req.params.id), u))),
  },
  {
    method: 'post', path: '/api/runs/:id/resume', role: 'researcher', summary: 'queue a stopped or failed run again; it continues from its latest checkpoint', ok: [200, 'the RunView'],
    handler: (req, res, u, { runs }) => res.json(view(runs.resume(idParam(req.params.id), u))),
  },
  {
    method: 'get', path: '/api/runs/:id/metrics', role: 'researcher', summary: "every metric of a run as series {step, time (Unix ms), value}; since=N gives the steps after N", query: { since: count('only steps after this one') },
    ok: [200, '{run_id, series: {name: {step, time, value}}}'],
    handler: (req, res, _u, { runs }) => {
      const id = idParam(req.params.id);
      found(runs.runs.get(id), id);
      res.json({ run_id: id, series: runs.runs.metrics(id, req.query.since === undefined ? -1 : Number(req.query.since)) });
    },
  },
  {
    method: 'get', path: '/api/runs/:id/metrics.csv', role: 'researcher', summary: "a run's metrics as streamed CSV: step,time,<metric>... one row per step", ok: [200, 'text/csv'],
    handler: async (req, res, _u, { runs, store }) => {
      const id = idParam(req.params.id);
      found(runs.runs.get(id), id);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${id}-metrics.csv"`);
      const reader = openReader(store.db.name); // its own connection: a long read never holds up writers
      try {
        for (const line of metricsCsv(reader, id)) {
          if (!res.write(line)) await drained(res); // backpressure: flat memory for any length
          if (res.destroyed) return;
        }
        res.end();
      } finally {
        reader.close();
      }
    },
  },
  {
    method: 'get', path: '/api/runs/:id/samples', role: 'researcher', summary: 'sample generations of the latest steps, newest first: prompt, completion, reward, gold, and columns (GRPO and RLOO: each reward function\'s value and the columns reward functions logged)',
    query: {
      steps: count('how many of the latest steps with samples (default 20)'),
      step: count("instead, the rows of this step (the latest step with samples at or before it, else the first after it): a chart point's samples"),
      prompt: str({ minLength: 1, maxLength: 8000, description: 'instead, every row of this prompt (exact text), newest step first, at most 200: one prompt followed across steps' }),
    },
    ok: [200, 'SampleView[]'],
    handler: (req, res, _u, { runs }) => {
      const id = idParam(req.params.id);
      found(runs.runs.get(id), id);
      const q = req.query;
      if (q.prompt !== undefined) return void res.json(runs.runs.samplesOfPrompt(id, String(q.prompt)));
      if (q.step !== undefined) return void res.json(runs.runs.samplesNear(id, Number(q.step)));
      res.json(runs.runs.samples(id, q.steps === undefined ? 20 : Number(q.steps)));
    },
  },
  {
    method: 'get', path: '/api/runs/:id/log', role: 'researcher', summary: "the end of a run's log (stderr and other output of its child); its owner and admins only", ok: [200, 'text/plain'],
    handler: (req, res, u, { runs }) => {
      const log = runs.log(idParam(req.params.id), u); // first: a refusal must go out as JSON, not as text/plain
      res.type('text/plain').send(log);
    },
  },
]);
