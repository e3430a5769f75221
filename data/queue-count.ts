// How many tasks a labeler can still be given: the ones they hold unfinished, plus the tasks they never
// had that still have room (fewer than `overlap` finished labels and live holds), as assignment.ts would
// hand them out. The labeling page shows it beside the task. Counting stops at a cap, and the scan starts
// from a per-user hint that only rises, for the reason assignment.ts's hints do: every task up to it was
// had by the user or finished by `overlap` labelers, and both are permanent (assignments are never
// deleted, done_at never cleared) while the overlap stays the same. A read: no transaction, no lock.
import type { AssignParams } from './assignment.js';
import type { DB } from './db.js';

export class QueueCounter {
  private readonly from = new Map<number, number>();
  private overlap = -1;
  private readonly st;

  constructor(db: DB) {
    const p = (sql: string) => db.prepare(sql);
    this.st = {
      held: p('SELECT count(*) FROM assignments WHERE user_id = ? AND done_at IS NULL AND assigned_at > ?').pluck(),
      firstOpen: p(`SELECT t.id FROM tasks t WHERE t.id > @from
        AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = @user)
        AND (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND a.done_at IS NOT NULL) < @overlap ORDER BY t.id LIMIT 1`).pluck(),
      lastTask: p('SELECT max(id) FROM tasks').pluck(),
      free: p(`SELECT count(*) FROM (SELECT 1 FROM tasks t WHERE t.id >= @from
        AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = @user)
        AND (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND (a.done_at IS NOT NULL OR a.assigned_at > @fresh)) < @overlap
        LIMIT @cap)`).pluck(),
    };
  }

  /** Tasks left for `user` (held ones included), counting up to `cap` new ones; capped when it stopped there. */
  left(user: number, { fresh, overlap }: AssignParams, cap = 1000): { left: number; capped: boolean } {
    if (overlap !== this.overlap) {
      this.from.clear(); // "finished by overlap labelers" means something else now
      this.overlap = overlap;
    }
    const held = this.st.held.get(user, fresh) as number;
    // read before the scan: a task added between the two is above it, never skipped by the hint
    const last = (this.st.lastTask.get() as number | null) ?? 0;
    const first = this.st.firstOpen.get({ from: this.from.get(user) ?? 0, user, overlap }) as number | undefined;
    if (first === undefined) {
      this.from.set(user, last);
      return { left: held, capped: false };
    }
    this.from.set(user, first - 1);
    const free = this.st.free.get({ from: first, user, fresh, overlap, cap }) as number;
    return { left: held + free, capped: free >= cap };
  }
}
