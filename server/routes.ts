// The HTTP API as one table: method, path, the least role allowed, the body schema, and a thin handler
// (validate, call the store, respond). app.ts mounts exactly these routes; openapi.ts documents them.
// The routes are defined by topic in their own files; this is the one place they are put together.
import { API_ROUTES } from './api-routes.js';
import { LABEL_ROUTES } from './label-routes.js';
import type { Route } from './route-types.js';
import { REVIEW_ROUTES } from './review-routes.js';
import { RUN_ROUTES } from './run-routes.js';
import { SCORE_ROUTES } from './score-routes.js';

export type { Answer, Ctx, Route } from './route-types.js';
export { LABEL_BODY } from './api-routes.js';
export { storeStatus } from './route-types.js';

export const ROUTES: Route[] = [
  ...API_ROUTES, // users, tasks, labels, settings, stats, exports
  ...LABEL_ROUTES, // the labeling page's held tasks, queue count and recent labels
  ...REVIEW_ROUTES, // the project page's review: labels under a filter, a task's labels side by side, reject and restore
  ...RUN_ROUTES, // launch, watch, stop and resume training runs
  ...SCORE_ROUTES, // reward-model scores through a worker thread
];
