// A lead's review of the labels: pages of labels under a filter (data/label-filter.ts), one task with all
// its labels side by side, and rejecting a label (restoring it) so exports, and every trainer that reads
// them, skip it (data/export.ts). Every rejection and restore goes to the audit log.
import type { RejectResult, ReviewLabel, ReviewPage, ReviewTask } from '../protocol/project.js';
import { now } from './db.js';
import { FilterInput, filterSql, labelFilter } from './label-filter.js';
import { rankedPairs } from './ranked-pairs.js';
import type { Store } from './store.js';
import { StoreError } from './store-types.js';

export const MAX_REVIEW_PAGE = 200;
const PROMPT_CUT = 300;

interface Row {
  id: number;
  task_id: number;
  labeler: string;
  kind: ReviewLabel['kind'];
  ranking: string | null;
  rationale: string | null;
  ms: number | null;
  created_at: string;
  prompt: string;
  gold: string | null;
  agreement: number | null;
  n: number | null;
  rejected_at: string | null;
  rejected_by: string | null;
  reason: string | null;
}

const COLUMNS = `l.id, l.task_id, u.name AS labeler, l.kind, l.ranking, l.rationale, l.ms, l.created_at, t.gold,
  ag.agreement, ag.n, r.at AS rejected_at, ru.name AS rejected_by, r.reason`;
const FROM = `FROM labels l JOIN users u ON u.id = l.user_id JOIN tasks t ON t.id = l.task_id JOIN prompts p ON p.id = t.prompt_id`;
const REJECTIONS = 'LEFT JOIN label_rejections r ON r.label_id = l.id LEFT JOIN users ru ON ru.id = r.user_id';

function view(r: Row): ReviewLabel {
  const ranking = r.ranking ? (JSON.parse(r.ranking) as number[]) : null;
  const gold = r.gold ? (JSON.parse(r.gold) as number[]) : null;
  return {
    id: r.id, taskId: r.task_id, labeler: r.labeler, kind: r.kind, ranking, rationale: r.rationale, ms: r.ms, createdAt: r.created_at, prompt: r.prompt,
    gold, goldCorrect: gold && r.kind !== 'skip' ? ranking?.[0] === gold[0] : null,
    taskAgreement: r.agreement, taskLabels: r.n ?? 0,
    rejected: r.rejected_at ? { by: r.rejected_by, at: r.rejected_at, reason: r.reason } : null,
  };
}

/** A page of labels, newest first; `status` defaults to all (a review shows rejected labels too). */
export function reviewLabels(store: Store, q: FilterInput, offset = 0, limit = 50): ReviewPage {
  const filter = labelFilter({ status: 'all', ...q });
  if (!Number.isInteger(offset) || offset < 0) throw new StoreError('invalid', 'offset: a whole number from 0');
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REVIEW_PAGE) throw new StoreError('invalid', `limit: 1 to ${MAX_REVIEW_PAGE}`);
  const f = filterSql(filter, true, true);
  const total = store.db.prepare(`${f.with}SELECT count(*) ${FROM} ${f.join} ${f.where}`).pluck().get(...f.params) as number;
  const rows = store.db.prepare(`${f.with}SELECT ${COLUMNS}, substr(p.text, 1, ${PROMPT_CUT}) AS prompt ${FROM} ${f.join} ${REJECTIONS}
    ${f.where} ORDER BY l.id DESC LIMIT ? OFFSET ?`).all(...f.params, limit, offset) as Row[];
  return { total, offset, labels: rows.map(view) };
}

/** One task and all its labels (rejected ones too), in the order they came; null when there is no such task. */
export function reviewTask(store: Store, taskId: number): ReviewTask | null {
  const task = store.task(taskId);
  if (!task) return null;
  const f = filterSql({ taskId, status: 'all' }, true, true);
  const rows = store.db.prepare(`${f.with}SELECT ${COLUMNS}, p.text AS prompt ${FROM} ${f.join} ${REJECTIONS} ${f.where} ORDER BY l.id`).all(...f.params) as Row[];
  const labels = rows.map(view);
  const gold = store.db.prepare('SELECT gold FROM tasks WHERE id = ?').pluck().get(taskId) as string | null;
  const rankings = labels.filter((l) => !l.rejected && l.ranking).map((l) => l.ranking!);
  const consensus = rankings.length ? rankedPairs(task.completions.length, rankings) : null;
  return {
    task, gold: gold ? (JSON.parse(gold) as number[]) : null, agreement: rows[0]?.agreement ?? null,
    consensus: consensus && !consensus.tie ? consensus.ranking : null, labels,
  };
}

function labelExists(store: Store, id: number): void {
  if (store.db.prepare('SELECT 1 FROM labels WHERE id = ?').get(id) === undefined) throw new StoreError('not_found', `no label ${id}`);
}

/** Reject a label (again: the reason is replaced). Exports and training skip it from now on. */
export function rejectLabel(store: Store, id: number, by: number | null, reason: string | null = null): RejectResult {
  store.db.transaction(() => {
    labelExists(store, id);
    store.db.prepare(`INSERT INTO label_rejections (label_id, user_id, reason, at) VALUES (?, ?, ?, ?)
      ON CONFLICT(label_id) DO UPDATE SET user_id = excluded.user_id, reason = excluded.reason, at = excluded.at`).run(id, by, reason, now());
    store.audit(by, 'label.reject', { id, reason });
  }).immediate();
  return { id, rejected: true };
}

/** Take a rejection back: the label is exported again. Restoring a label that is not rejected changes nothing. */
export function restoreLabel(store: Store, id: number, by: number | null): RejectResult {
  store.db.transaction(() => {
    labelExists(store, id);
    if (store.db.prepare('DELETE FROM label_rejections WHERE label_id = ?').run(id).changes) store.audit(by, 'label.restore', { id });
  }).immediate();
  return { id, rejected: false };
}
