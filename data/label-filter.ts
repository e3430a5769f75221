// Which labels a review page or an export covers: by labeler, task, time, gold, agreement and review
// status, as SQL over `labels l JOIN users u JOIN tasks t`. A task's agreement is the share of pairs of
// its kept (not rejected), non-skip labels that agree on the top choice (data/agreement.ts's
// pairwiseAgreement, computed here in SQL); a task with fewer than two such labels has none.
import type { DB } from './db.js';
import { StoreError } from './store-types.js';

export interface LabelFilter {
  /** The labeler's user name. */
  labeler?: string;
  taskId?: number;
  /** ISO-8601 UTC times: labels created at or after `from`, before `to`. */
  from?: string;
  to?: string;
  /** only: gold questions; none: not gold; correct, wrong: gold questions answered right or wrong (a tie is wrong, a skip neither). */
  gold?: 'only' | 'none' | 'correct' | 'wrong';
  /** Of the label's task: unanimous (agreement 1), contested (below 1), single (fewer than two labels to compare). */
  agreement?: 'unanimous' | 'contested' | 'single';
  /** Tasks whose agreement is at least this (tasks without one are left out). */
  minAgreement?: number;
  /** kept (the default of exports: rejected labels never leave the store), rejected, or all. */
  status?: 'kept' | 'rejected' | 'all';
}

/** The filter as query strings give it (GET /api/export, GET /api/review/labels, rlhf export). */
export interface FilterInput {
  labeler?: string;
  task?: string;
  from?: string;
  to?: string;
  gold?: string;
  agreement?: string;
  minAgreement?: string;
  status?: string;
}

const GOLD = ['only', 'none', 'correct', 'wrong'] as const;
const AGREEMENT = ['unanimous', 'contested', 'single'] as const;
const STATUS = ['kept', 'rejected', 'all'] as const;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?$/;

/** A date or time as the ISO instant it starts; a date alone as `to` means through the end of that day. */
function instant(field: string, v: string, end: boolean): string {
  if (!DATE.test(v) && !TIME.test(v)) throw new StoreError('invalid', `${field}: expected a date (2026-12-06) or a UTC time (2026-12-06T14:30Z), got ${JSON.stringify(v.slice(0, 40))}`);
  const ms = Date.parse(DATE.test(v) ? `${v}T00:00:00Z` : v.endsWith('Z') ? v : `${v}Z`);
  // Date.parse rolls 2026-02-31 over to March: refuse a day that is not on the calendar.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== v.slice(0, 10)) throw new StoreError('invalid', `${field}: ${v} is not a date on the calendar`);
  return new Date(DATE.test(v) && end ? ms + 86_400_000 : ms).toISOString();
}

function oneOf<T extends string>(field: string, v: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(v)) throw new StoreError('invalid', `${field}: must be one of ${values.join(', ')}`);
  return v as T;
}

/** Checks and converts query strings; every problem is a StoreError naming the field (a 400). */
export function labelFilter(q: FilterInput): LabelFilter {
  const f: LabelFilter = {};
  if (q.labeler !== undefined) {
    if (!/^[\w.@-]{1,64}$/.test(q.labeler)) throw new StoreError('invalid', 'labeler: a user name (1-64 letters, digits, or . _ @ -)');
    f.labeler = q.labeler;
  }
  if (q.task !== undefined) {
    if (!/^[1-9]\d{0,14}$/.test(q.task)) throw new StoreError('invalid', 'task: a task id (a positive integer)');
    f.taskId = Number(q.task);
  }
  if (q.from !== undefined) f.from = instant('from', q.from, false);
  if (q.to !== undefined) f.to = instant('to', q.to, true);
  if (q.gold !== undefined) f.gold = oneOf('gold', q.gold, GOLD);
  if (q.agreement !== undefined) f.agreement = oneOf('agreement', q.agreement, AGREEMENT);
  if (q.minAgreement !== undefined) {
    const x = Number(q.minAgreement);
    if (!/^\d*\.?\d+$/.test(q.minAgreement) || !(x >= 0 && x <= 1)) throw new StoreError('invalid', 'minAgreement: a number from 0 to 1');
    f.minAgreement = x;
  }
  if (q.status !== undefined) f.status = oneOf('status', q.status, STATUS);
  return f;
}

/** Does this store file have the review table (migration 8)? A reader of an older file never migrates it. */
export function hasRejections(db: DB): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'label_rejections'").get() !== undefined;
}

/** SQL: label `alias` is not rejected. */
export const keptSql = (alias: string, rejections: boolean): string =>
  rejections ? `NOT EXISTS (SELECT 1 FROM label_rejections r WHERE r.label_id = ${alias}.id)` : '1';

/**
 * The pieces of a query over `labels l JOIN users u ON u.id = l.user_id JOIN tasks t ON t.id = l.task_id`:
 * a WITH clause (the tasks' agreement, as ag.agreement and ag.n, when the filter or `withAgreement`
 * needs it), a LEFT JOIN for it, and the WHERE conditions with their parameters.
 */
export function filterSql(f: LabelFilter, rejections: boolean, withAgreement = false): { with: string; join: string; where: string; params: unknown[] } {
  const kept = (a: string) => keptSql(a, rejections);
  const cond: string[] = [];
  const params: unknown[] = [];
  if (f.labeler !== undefined) (cond.push('u.name = ?'), params.push(f.labeler));
  if (f.taskId !== undefined) (cond.push('l.task_id = ?'), params.push(f.taskId));
  if (f.from !== undefined) (cond.push('l.created_at >= ?'), params.push(f.from));
  if (f.to !== undefined) (cond.push('l.created_at < ?'), params.push(f.to));
  const right = "l.kind = 'ranking' AND json_extract(l.ranking, '$[0]') = json_extract(t.gold, '$[0]')";
  if (f.gold === 'only') cond.push('t.gold IS NOT NULL');
  if (f.gold === 'none') cond.push('t.gold IS NULL');
  if (f.gold === 'correct') cond.push(`t.gold IS NOT NULL AND ${right}`);
  if (f.gold === 'wrong') cond.push(`t.gold IS NOT NULL AND l.kind <> 'skip' AND NOT (${right})`);
  if (f.agreement === 'unanimous') cond.push('ag.n >= 2 AND ag.agreement = 1');
  if (f.agreement === 'contested') cond.push('ag.n >= 2 AND ag.agreement < 1');
  if (f.agreement === 'single') cond.push('coalesce(ag.n, 0) < 2');
  if (f.minAgreement !== undefined) (cond.push('ag.agreement >= ?'), params.push(f.minAgreement - 1e-9));
  const status = f.status ?? 'kept';
  if (status === 'kept') cond.push(kept('l'));
  if (status === 'rejected') cond.push(`NOT ${kept('l')}`);
  const agreement = withAgreement || f.agreement !== undefined || f.minAgreement !== undefined;
  return {
    with: agreement ? `WITH task_tops AS (
        SELECT k.task_id, CASE k.kind WHEN 'tie' THEN 'tie' ELSE json_extract(k.ranking, '$[0]') END AS top, count(*) AS c
        FROM labels k WHERE k.kind <> 'skip' AND ${kept('k')} GROUP BY k.task_id, top),
      task_agreement AS (
        SELECT task_id, sum(c) AS n, CASE WHEN sum(c) >= 2 THEN sum(c * (c - 1)) * 1.0 / (sum(c) * (sum(c) - 1)) END AS agreement
        FROM task_tops GROUP BY task_id) ` : '',
    join: agreement ? 'LEFT JOIN task_agreement ag ON ag.task_id = l.task_id' : '',
    where: cond.length ? `WHERE ${cond.join(' AND ')}` : '',
    params,
  };
}
