// The project page's review of labels (researchers and admins; a labeler never sees another's labels):
// pages of labels under a filter, one task with its labels side by side, and rejecting a label (or
// restoring it) so exports and training skip it. Thin handlers: data/label-filter.ts checks the filter
// and data/label-review.ts does the work; every refusal is a StoreError, so a 4xx. routes.ts puts them
// in the table; FILTER_QUERY is also the export's (api-routes.ts).
import type { FilterInput } from '../data/label-filter.js';
import { MAX_REVIEW_PAGE, rejectLabel, restoreLabel, reviewLabels, reviewTask } from '../data/label-review.js';
import { StoreError } from '../data/store.js';
import { obj, Schema, str } from './schema.js';
import { precompiled, Route } from './route-types.js';

/** The label filter as query strings (data/label-filter.ts checks them further: dates on the calendar, numbers in range). */
export const FILTER_QUERY: Record<string, Schema> = {
  labeler: str({ maxLength: 64, description: "a labeler's user name" }),
  task: str({ maxLength: 16, description: 'a task id' }),
  from: str({ maxLength: 40, description: 'labels created at or after this date or UTC time (2026-12-06, 2026-12-06T14:30Z)' }),
  to: str({ maxLength: 40, description: 'labels created before this time; a date alone: through the end of that day' }),
  gold: str({ enum: ['only', 'none', 'correct', 'wrong'], description: 'gold questions only, none, or those answered right or wrong' }),
  agreement: str({ enum: ['unanimous', 'contested', 'single'], description: "the label's task: every labeler agrees on the top choice, some disagree, or fewer than two labels" }),
  minAgreement: str({ maxLength: 20, description: "tasks whose labelers' pairwise agreement on the top choice is at least this (0 to 1)" }),
};

const page = str({ pattern: '^\\d{1,9}$' });

/** A positive integer path parameter, or a 400 naming it. */
function idParam(name: string, v: unknown): number {
  if (typeof v !== 'string' || !/^[1-9]\d{0,14}$/.test(v)) throw new StoreError('invalid', `${name}: a positive integer`);
  return Number(v);
}

export const REVIEW_ROUTES: Route[] = precompiled([
  {
    method: 'get', path: '/api/review/labels', role: 'researcher', summary: 'labels under a filter, newest first, rejected ones marked (status kept or rejected narrows it)',
    query: { ...FILTER_QUERY, status: str({ enum: ['kept', 'rejected', 'all'], description: 'kept, rejected, or all (the default)' }), offset: page, limit: str({ pattern: '^\\d{1,3}$', description: `1 to ${MAX_REVIEW_PAGE} (default 50)` }) },
    ok: [200, 'ReviewPage'],
    handler: (req, res, _u, { store }) => {
      const { offset, limit, ...q } = req.query as FilterInput & { offset?: string; limit?: string };
      res.json(reviewLabels(store, q, offset === undefined ? 0 : Number(offset), limit === undefined ? 50 : Number(limit)));
    },
  },
  {
    method: 'get', path: '/api/review/tasks/:id', role: 'researcher', summary: 'a task as labelers saw it, with every label of it side by side and its ranked-pairs consensus', ok: [200, 'ReviewTask'],
    handler: (req, res, _u, { store }) => {
      const id = idParam('id', req.params.id);
      const t = reviewTask(store, id);
      if (!t) throw new StoreError('not_found', `no task ${id}`);
      res.json(t);
    },
  },
  {
    method: 'post', path: '/api/review/labels/:id/reject', role: 'researcher', summary: 'reject a label: exports (and so train-rm and dpo) skip it; audited',
    body: obj({ reason: str({ maxLength: 500 }) }), ok: [200, '{id, rejected: true}'],
    handler: (req, res, u, { store }) => res.json(rejectLabel(store, idParam('id', req.params.id), u.id, (req.body as { reason?: string }).reason?.trim() || null)),
  },
  {
    method: 'post', path: '/api/review/labels/:id/restore', role: 'researcher', summary: 'take a rejection back: the label is exported again; audited', ok: [200, '{id, rejected: false}'],
    handler: (req, res, u, { store }) => res.json(restoreLabel(store, idParam('id', req.params.id), u.id)),
  },
]);
