// The labeling page's own reads beyond the next task: the tasks it holds ahead (so labelling goes on
// while the network is down), what is left in the caller's queue, and the caller's recent labels (to
// undo or edit one: POST /api/labels with `replaces`). routes.ts puts them in the table.
import type { HeldTasks, MyLabel, QueueView } from '../protocol/wire.js';
import { HOLD } from './api-routes.js';
import { str } from './schema.js';
import { precompiled, Route } from './route-types.js';

export const LABEL_ROUTES: Route[] = precompiled([
  {
    method: 'get', path: '/api/tasks/held', role: 'labeler', query: { n: HOLD },
    summary: 'the tasks assigned to the caller and not yet labelled, topped up to n (default 1) from the queue, oldest first',
    ok: [200, '{tasks: TaskView[]}'],
    answer: async ({ query }, u, { labels }) => [200, { tasks: await labels.held(u.id, query.n === undefined ? 1 : Number(query.n)) } satisfies HeldTasks],
  },
  {
    method: 'get', path: '/api/me/queue', role: 'labeler', summary: 'how many tasks the caller can still be given, the held ones included (counting stops at 1000: capped)',
    ok: [200, '{left, capped}'],
    handler: (_q, res, u, { store }) => res.json(store.queueLeft(u.id) satisfies QueueView),
  },
  {
    method: 'get', path: '/api/me/labels', role: 'labeler', query: { limit: str({ pattern: '^([1-9]|[1-4]\\d|50)$', description: 'how many (1-50, default 10)' }) },
    summary: "the caller's labels still editable (first stored in the last 24 hours), newest first, each with its task: undo or edit one by posting a label with replaces",
    ok: [200, 'MyLabel[]'],
    handler: (req, res, u, { store }) => res.json(store.myLabels(u.id, req.query.limit === undefined ? 10 : Number(req.query.limit)) satisfies MyLabel[]),
  },
]);
