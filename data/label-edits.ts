// A labeler's edits of their own recent labels (the labeling page's undo and edit). An edit is a label
// with `replaces`: the clientId of the version it replaces, which must be the label's current one. The
// labels row keeps its id and takes the new answer and clientId, so exports, stats and training read the
// current version and a resend of the edit is recognised like any resend. The replaced version goes whole
// into the audit log (append-only: schema.sql refuses updates and deletes), action 'label.edit', where it
// stays; a late resend of a replaced version (its ack was lost, say) is found there and answered as
// stored rather than refused. Versions are counted from the audit log, which only people's actions write,
// so it stays small: no migration, no column.
import { EDIT_WINDOW_HOURS } from '../protocol/wire.js';
import type { DB } from './db.js';
import { LabelInput, LabelResult, StoreError } from './store-types.js';

/** A replaced version, as its 'label.edit' audit entry keeps it. */
export interface ReplacedVersion {
  label_id: number;
  task_id: number;
  /** Its version number (the first answer is 1). */
  version: number;
  client_id: string;
  kind: string;
  ranking: number[] | null;
  rationale: string | null;
  ms: number | null;
  /** When this version was stored. */
  at: string;
  /** The clientId of the version that replaced it. */
  replaced_by: string;
}

/** One of a user's recent labels, current version (the store adds the task view). */
export interface RecentLabel {
  id: number;
  task_id: number;
  client_id: string;
  kind: string;
  ranking: string | null;
  rationale: string | null;
  created_at: string;
  version: number;
}

interface Current {
  id: number;
  client_id: string;
  kind: string;
  ranking: string | null;
  rationale: string | null;
  ms: number | null;
  created_at: string;
}

// json_extract only on the rows it is meant for: other actions' details are not all JSON ('pairs').
const field = (f: string) => `CASE WHEN action = 'label.edit' THEN json_extract(detail, '$.${f}') END`;

const sameAnswer = (v: { kind: string; ranking: number[] | null; rationale: string | null }, l: LabelInput) =>
  v.kind === l.kind && JSON.stringify(v.ranking) === JSON.stringify(l.ranking ?? null) && v.rationale === (l.rationale ?? null);

export const EDIT_WINDOW_MS = EDIT_WINDOW_HOURS * 3600_000;

export class LabelEdits {
  private readonly st;

  constructor(db: DB, private readonly audit: (by: number, action: string, detail: object, at: string) => void) {
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      current: p('SELECT id, client_id, kind, ranking, rationale, ms, created_at FROM labels WHERE task_id = ? AND user_id = ?'),
      update: p('UPDATE labels SET client_id = ?, kind = ?, ranking = ?, rationale = ?, ms = ? WHERE id = ?'),
      replaced: p(`SELECT detail FROM audit_log WHERE user_id = ? AND ${field('client_id')} = ? ORDER BY id DESC LIMIT 1`).pluck(),
      edits: p(`SELECT count(*) AS n, max(at) AS last FROM audit_log WHERE ${field('label_id')} = ?`),
      editsBy: p(`SELECT ${field('label_id')} AS id, count(*) AS n FROM audit_log WHERE user_id = ? AND action = 'label.edit' GROUP BY 1`),
      // assignments_user (user_id, done_at) finds them newest first; done_at is the first version's time
      recent: p(`SELECT l.id, l.task_id, l.client_id, l.kind, l.ranking, l.rationale, l.created_at FROM assignments a
        JOIN labels l ON l.task_id = a.task_id AND l.user_id = a.user_id
        WHERE a.user_id = @user AND a.done_at > @since AND l.created_at > @since ORDER BY a.done_at DESC LIMIT @limit`),
      versions: p(`SELECT detail FROM audit_log WHERE ${field('label_id')} = ? ORDER BY id`).pluck(),
    };
  }

  /**
   * When `l.clientId` named a version of this user's that was replaced since: that label's id (a late
   * resend, which stores nothing). A different answer under that id is a conflict, as for any resend.
   */
  resent(user: number, l: LabelInput): number | null {
    const d = this.st.replaced.get(user, l.clientId) as string | undefined;
    if (d === undefined) return null;
    const v = JSON.parse(d) as ReplacedVersion;
    if (v.task_id !== l.taskId || !sameAnswer(v, l)) throw new StoreError('conflict', `client id '${l.clientId}' was already used for a different label on task ${v.task_id}`);
    return v.label_id;
  }

  /** An edit's own checks (the ranking is checked by the caller, as for any label): throws the StoreError. */
  check(user: number, l: LabelInput, now = Date.now()): void {
    const cur = this.st.current.get(l.taskId, user) as Current | undefined;
    if (!cur) throw new StoreError('not_found', `task ${l.taskId} has no label of yours to replace`);
    if (cur.client_id !== l.replaces) throw new StoreError('conflict', `your label on task ${l.taskId} was changed since version '${l.replaces}': edit its current version`);
    if (now - Date.parse(cur.created_at) > EDIT_WINDOW_MS) throw new StoreError('conflict', `your label on task ${l.taskId} is older than ${EDIT_WINDOW_HOURS} hours: it can no longer be edited`);
  }

  /** After check(): the replaced version into the audit log, the new one into the labels row. */
  apply(user: number, l: LabelInput, at: string): LabelResult {
    const cur = this.st.current.get(l.taskId, user) as Current;
    const { n, last } = this.st.edits.get(cur.id) as { n: number; last: string | null };
    const old: ReplacedVersion = {
      label_id: cur.id, task_id: l.taskId, version: n + 1, client_id: cur.client_id, kind: cur.kind,
      ranking: cur.ranking === null ? null : (JSON.parse(cur.ranking) as number[]), rationale: cur.rationale, ms: cur.ms, at: last ?? cur.created_at, replaced_by: l.clientId,
    };
    this.audit(user, 'label.edit', old, at);
    this.st.update.run(l.clientId, l.kind, l.ranking ? JSON.stringify(l.ranking) : null, l.rationale ?? null, l.ms ?? null, cur.id);
    return { id: cur.id, created: true, version: n + 2 };
  }

  /** The user's labels first stored after `since` (ISO time), newest first, with their version numbers. */
  recent(user: number, since: string, limit: number): RecentLabel[] {
    const rows = this.st.recent.all({ user, since, limit }) as Omit<RecentLabel, 'version'>[];
    if (!rows.length) return [];
    const edits = new Map((this.st.editsBy.all(user) as { id: number; n: number }[]).map((r) => [r.id, r.n]));
    return rows.map((r) => ({ ...r, version: 1 + (edits.get(r.id) ?? 0) }));
  }

  /** Every replaced version of a label, oldest first (the current one is the labels row). */
  history(labelId: number): ReplacedVersion[] {
    return (this.st.versions.all(labelId) as string[]).map((d) => JSON.parse(d) as ReplacedVersion);
  }
}
