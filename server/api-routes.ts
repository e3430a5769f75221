// The labeling and project routes (users, tasks, labels, settings, stats, exports): thin handlers that
// validate, call the store and respond. routes.ts puts them in the table with the runs and score routes.
import type { Response } from 'express';
import type { LabelRequest, Turn } from '../protocol/wire.js';
import { EXPORT_FORMATS, ExportFormat, exportLines, openReader } from '../data/export.js';
import { FilterInput, labelFilter } from '../data/label-filter.js';
import { ROLES } from '../data/store.js';
import { MAX_TURN_CHARS, MAX_TURNS, TURN_ROLES } from '../data/task-messages.js';
import { arr, int, obj, str } from './schema.js';
import { FILTER_QUERY } from './review-routes.js';
import { projectStats } from './stats.js';
import { drained, precompiled, Route } from './route-types.js';

const completion = obj({ text: str({ maxLength: 20000 }), tokens: int({ minimum: 0 }), model: str({ maxLength: 500 }), run_id: str({ maxLength: 200 }), step: int({ minimum: 0 }) }, ['text']);

// The conversation a task's prompt was rendered from (data/task-messages.ts): shown to labelers as turns.
const turns = arr(obj({ role: str({ enum: TURN_ROLES }), content: str({ maxLength: MAX_TURN_CHARS }) }, ['role', 'content']),
  { minItems: 1, maxItems: MAX_TURNS, description: 'the conversation the prompt text was rendered from, shown as turns' });

export const LABEL_BODY = obj({
  taskId: int({ minimum: 1 }),
  clientId: str({ minLength: 1, maxLength: 100 }),
  kind: str({ enum: ['ranking', 'tie', 'skip'] }),
  ranking: arr(int({ minimum: 0, maximum: 15 }), { minItems: 2, maxItems: 16, description: 'positions best first' }),
  rationale: str({ maxLength: 2000 }),
  ms: int({ minimum: 0, maximum: 86_400_000 }),
  replaces: str({ minLength: 1, maxLength: 100, description: "an edit of one's own recent label: the clientId of its current version (the label keeps its id; the replaced version stays in the audit log)" }),
}, ['taskId', 'clientId', 'kind']);

/** ?hold=n: keep n tasks assigned to the caller (a page labelling ahead, offline too); label-routes.ts has the GET. */
export const HOLD = str({ pattern: '^([1-9]|10)$', description: 'keep this many tasks (1-10) assigned to the caller and return them all as held' });

export const API_ROUTES: Route[] = precompiled([
  {
    method: 'get', path: '/api/me', role: 'labeler', summary: 'who the token belongs to, and how many labels they gave', ok: [200, '{name, role, labeled}'],
    handler: (_q, res, u, { store }) => res.json({ name: u.name, role: u.role, labeled: store.db.prepare('SELECT count(*) FROM labels WHERE user_id = ?').pluck().get(u.id) }),
  },
  {
    method: 'get', path: '/api/tasks/next', role: 'labeler', summary: 'the next task assigned to the caller (204 when none is left)', ok: [200, 'a TaskView'],
    answer: async (_q, u, { labels }) => {
      const t = await labels.nextTask(u.id);
      return t ? [200, t] : [204];
    },
  },
  {
    method: 'post', path: '/api/labels', role: 'labeler', body: LABEL_BODY,
    summary: 'store a label; resubmitting the same clientId stores nothing new. With ?next=true the response also carries the next task assigned to the caller (submit-and-next: one round trip per label)',
    query: { next: str({ enum: ['true', 'false'], description: 'also assign and return the next task' }), hold: HOLD },
    ok: [201, '{id, created}, plus next (a TaskView, or null when none is left) with ?next=true, and held (every task the caller holds) with ?hold=n; version for an edit; 200 when the clientId was already stored'],
    answer: async ({ body, query }, u, { labels }) => {
      const r = await labels.submit(u.id, body as LabelRequest, query.next === 'true', query.hold === undefined ? 0 : Number(query.hold));
      return [r.created ? 201 : 200, r];
    },
  },
  {
    method: 'get', path: '/api/guidelines', role: 'labeler', summary: "the project lead's labeling guidelines", ok: [200, '{guidelines, overlap}'],
    handler: (_q, res, _u, { store }) => res.json({ guidelines: store.setting('guidelines'), overlap: Number(store.setting('overlap')) }),
  },
  {
    method: 'get', path: '/api/users', role: 'researcher', summary: 'all users (never their tokens)', ok: [200, 'list of users'],
    handler: (_q, res, _u, { store }) => res.json(store.users()),
  },
  {
    method: 'post', path: '/api/users', role: 'admin', summary: 'add a user; the response carries their token, shown once',
    body: obj({ name: str({ pattern: '^[\\w.@-]{1,64}$' }), role: str({ enum: [...ROLES] }) }, ['name', 'role']), ok: [201, '{name, role, token}'],
    handler: (req, res, u, { store }) => noStore(res).status(201).json({ ...req.body, token: store.addUser(req.body.name, req.body.role) }) && u,
  },
  {
    method: 'post', path: '/api/users/:name/token', role: 'admin', summary: "replace a user's token; their open WebSockets close (4401)", ok: [200, '{token}'],
    handler: (req, res, u, { store }) => noStore(res).json({ token: store.rotateToken(String(req.params.name), u.id) }),
  },
  {
    method: 'post', path: '/api/users/:name/disable', role: 'admin', summary: 'disable a user; their token stops working and their open WebSockets close (4401). 409 for the last enabled admin', ok: [200, '{}'],
    handler: (req, res, u, { store }) => (store.disableUser(String(req.params.name), u.id), res.json({})),
  },
  {
    method: 'post', path: '/api/users/:name/enable', role: 'admin', summary: 'enable a disabled user; their token works again', ok: [200, '{}'],
    handler: (req, res, u, { store }) => (store.enableUser(String(req.params.name), u.id), res.json({})),
  },
  {
    method: 'post', path: '/api/users/:name/role', role: 'admin', summary: "change a user's role. 409 for demoting the last enabled admin",
    body: obj({ role: str({ enum: [...ROLES] }) }, ['role']), ok: [200, '{name, role}'],
    handler: (req, res, u, { store }) => (store.setRole(String(req.params.name), req.body.role, u.id), res.json({ name: String(req.params.name), role: req.body.role })),
  },
  {
    method: 'put', path: '/api/settings', role: 'researcher', summary: 'set the overlap (labelers per task) and the guidelines',
    body: obj({ overlap: int({ minimum: 1, maximum: 100 }), guidelines: str({ maxLength: 50000 }) }), ok: [200, '{overlap, guidelines}'],
    handler: (req, res, u, { store, broadcast }) => {
      if (req.body.overlap !== undefined) store.setSetting('overlap', String(req.body.overlap), u.id);
      if (req.body.guidelines !== undefined) store.setSetting('guidelines', req.body.guidelines, u.id);
      broadcast({ type: 'settings', overlap: Number(store.setting('overlap')) });
      res.json({ overlap: Number(store.setting('overlap')), guidelines: store.setting('guidelines') });
    },
  },
  {
    method: 'post', path: '/api/tasks', role: 'researcher', summary: 'enqueue comparison tasks (from a CLI or a running trainer)',
    body: obj({ tasks: arr(obj({ prompt: str({ maxLength: 20000 }), messages: turns, completions: arr(completion, { minItems: 2, maxItems: 16 }), gold: arr(int({ minimum: 0 }), { maxItems: 16 }), source: str({ maxLength: 200 }) }, ['prompt', 'completions']), { minItems: 1, maxItems: 1000 }) }, ['tasks']),
    ok: [201, '{ids}'],
    handler: (req, res, u, { store, broadcast }) => {
      const ids = store.addTasks((req.body.tasks as { prompt: string; messages?: Turn[]; completions: { text: string; tokens?: number; model?: string; run_id?: string; step?: number }[]; gold?: number[]; source?: string }[])
        .map((t) => ({ ...t, source: t.source ?? `api:${u.name}`, completions: t.completions.map((c) => ({ text: c.text, tokens: c.tokens, model: c.model, runId: c.run_id, step: c.step })) })));
      broadcast({ type: 'tasks', added: ids.length });
      res.status(201).json({ ids });
    },
  },
  {
    method: 'get', path: '/api/stats', role: 'researcher', summary: 'label counts, per-labeler speed, agreement, gold accuracy', ok: [200, 'Stats'],
    handler: (_q, res, _u, { store }) => res.json(projectStats(store)),
  },
  {
    method: 'get', path: '/api/export', role: 'researcher',
    summary: 'labels as streamed JSONL: pairs {"prompt","chosen","rejected"}, full records, or aggregated (one line per task, its rankings made one by ranked pairs); never rejected labels; filtered by labeler, time, gold and agreement',
    query: { format: str({ enum: EXPORT_FORMATS }), ...FILTER_QUERY }, ok: [200, 'application/x-ndjson'],
    handler: async (req, res, u, { store }) => {
      const { format = 'pairs', ...q } = req.query as FilterInput & { format?: ExportFormat };
      const filter = labelFilter(q); // a bad filter is a 400 before anything is sent
      res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="labels-${format}.jsonl"`);
      store.audit(u.id, 'export', format);
      const reader = openReader(store.db.name);
      try {
        for (const line of exportLines(reader, format, filter)) {
          if (!res.write(line)) await drained(res); // backpressure: flat memory
          if (res.destroyed) return;
        }
        res.end();
      } finally {
        reader.close();
      }
    },
  },
]);

/** A response that carries a token: no cache (browser, proxy) may keep a copy. */
function noStore(res: Response): Response {
  return res.setHeader('Cache-Control', 'no-store');
}
