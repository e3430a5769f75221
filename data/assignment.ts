// Which task a labeler gets next: the one already assigned and unfinished, else the first task that
// fewer than `overlap` labelers hold (finished, or assigned within the TTL) and this labeler never had.
// Called inside the caller's IMMEDIATE write transaction, so concurrent requests never over-assign.
import { DB, now } from './db.js';

export interface AssignParams {
  /** Assignments made after this ISO time still hold their task. */
  fresh: string;
  overlap: number;
}

// Scan hints, in task ids. Both only ever rise, because what they record is permanent: a labeler never
// gets a task twice (assignments are never deleted), and a task finished by `overlap` labelers stays
// finished (done_at is never cleared) while the overlap stays the same. Without them the scan walks
// every task this labeler has had and every finished task: 2 ms a request after a few thousand labels.
export interface Hints {
  /** user -> every task up to this id has been assigned to the user. */
  had: Map<number, number>;
  /** every task up to `id` has `overlap` finished assignments. */
  full: { overlap: number; id: number };
}

export class Assigner {
  private readonly hints: Hints = { had: new Map(), full: { overlap: 0, id: 0 } };
  private readonly st;

  constructor(db: DB) {
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      open: p('SELECT task_id FROM assignments WHERE user_id = ? AND done_at IS NULL AND assigned_at > ? ORDER BY assigned_at, task_id LIMIT 1').pluck(),
      openAll: p('SELECT task_id FROM assignments WHERE user_id = ? AND done_at IS NULL AND assigned_at > ? ORDER BY assigned_at, task_id LIMIT ?').pluck(),
      firstNotHad: p(`SELECT t.id FROM tasks t WHERE t.id > ?
        AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = ?) ORDER BY t.id LIMIT 1`).pluck(),
      firstNotFull: p(`SELECT t.id FROM tasks t WHERE t.id > ?
        AND (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND a.done_at IS NOT NULL) < ? ORDER BY t.id LIMIT 1`).pluck(),
      lastTask: p('SELECT max(id) FROM tasks').pluck(),
      free: p(`SELECT t.id FROM tasks t
        WHERE t.id >= @from AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = @user)
          AND (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND (a.done_at IS NOT NULL OR a.assigned_at > @fresh)) < @overlap
        ORDER BY t.id LIMIT 1`).pluck(),
      assign: p(`INSERT INTO assignments (task_id, user_id, assigned_at) VALUES (?, ?, ?)
        ON CONFLICT(task_id, user_id) DO UPDATE SET assigned_at = excluded.assigned_at WHERE done_at IS NULL`),
    };
  }

  /**
   * A copy of the hints for one transaction, to adopt() once it commits: reads inside the transaction see
   * its own uncommitted assignments, which a rollback would take back.
   */
  draft(): Hints {
    return { had: new Map(), full: { ...this.hints.full } }; // `had` holds only this transaction's changes
  }

  adopt(h: Hints): void {
    for (const [user, id] of h.had) this.hints.had.set(user, id);
    this.hints.full = h.full;
  }

  /** Record that `user` holds `task` (or renew an unfinished hold). */
  assign(task: number, user: number, at = now()): void {
    this.st.assign.run(task, user, at);
  }

  /** Inside a write transaction: the task to serve `user` (assigning it if new), or null when none is left. */
  next(user: number, params: AssignParams, h: Hints): number | null {
    const open = this.st.open.get(user, params.fresh) as number | undefined;
    return open !== undefined ? open : this.assignNew(user, params, h);
  }

  /**
   * Inside a write transaction: every task `user` holds unfinished, topped up with new assignments to `n`
   * (fewer when the queue runs out), oldest first. A page that holds a few tasks ahead goes on labelling
   * while its network is down; the holds lapse after the TTL like any other.
   */
  hold(user: number, params: AssignParams, h: Hints, n: number): number[] {
    const ids = this.st.openAll.all(user, params.fresh, n) as number[];
    while (ids.length < n) {
      const id = this.assignNew(user, params, h);
      if (id === null) break;
      ids.push(id);
    }
    return ids;
  }

  /** The first free task `user` never had, assigned to them; null when none is left. */
  private assignNew(user: number, { fresh, overlap }: AssignParams, h: Hints): number | null {
    const had = this.st.firstNotHad.get(h.had.get(user) ?? this.hints.had.get(user) ?? 0, user) as number | undefined;
    if (h.full.overlap !== overlap) h.full = { overlap, id: 0 };
    const full = this.st.firstNotFull.get(h.full.id, overlap) as number | undefined;
    if (had === undefined || full === undefined) {
      const last = (this.st.lastTask.get() as number | null) ?? 0;
      if (had === undefined) h.had.set(user, last);
      if (full === undefined) h.full.id = last;
      return null;
    }
    h.had.set(user, had - 1);
    h.full.id = full - 1;
    const free = this.st.free.get({ user, fresh, overlap, from: Math.max(had, full) }) as number | undefined;
    if (free === undefined) return null;
    this.assign(free, user);
    return free;
  }
}
