// Group commit: label submissions that arrive while one batch is being committed are written together in
// the next, so one fsync (synchronous=FULL) acknowledges many labels. One batch is in flight at a time
// (label-writer.ts commits it, on a worker thread by default). A request is answered only after its
// transaction has committed. A submission may also ask for the labeler's next task, which is assigned
// in the same transaction (submit-and-next: one round trip per label); GET /api/tasks/next takes the
// same queue, so every write on the labeling path goes through one connection. A page that labels ahead
// asks to hold a few tasks (hold: n), topped up in the same transaction as its label.
import { LabelInput, LabelItem, LabelOutcome, LabelResult, TaskView } from '../data/store.js';
import { Committer } from './label-writer.js';

export type Submitted = LabelResult & { next?: TaskView | null; held?: TaskView[] };

interface Pending extends LabelItem {
  resolve: (r: Exclude<LabelOutcome, { error: unknown }>) => void;
  reject: (e: Error) => void;
}

export class LabelQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private busy = false;

  constructor(private readonly committer: Committer, private readonly onCommit: (created: number) => void, private readonly maxBatch = 512) {}

  async submit(user: number, label: LabelInput, next = false, hold = 0): Promise<Submitted> {
    if (hold > 0) {
      const r = await this.enqueue({ user, label, hold });
      return { ...r.ok!, next: r.next ?? null, held: r.held ?? [] };
    }
    const r = await this.enqueue({ user, label, next });
    return next ? { ...r.ok!, next: r.next ?? null } : r.ok!;
  }

  /** The tasks the caller holds unfinished, topped up to n (assignment.ts Assigner.hold), oldest first. */
  async held(user: number, n: number): Promise<TaskView[]> {
    return (await this.enqueue({ user, hold: n })).held ?? [];
  }

  /** The caller's next task, assigned if new (null when none is left). */
  async nextTask(user: number): Promise<TaskView | null> {
    return (await this.enqueue({ user, next: true })).next ?? null;
  }

  close(): Promise<void> {
    return this.committer.close();
  }

  private enqueue(item: LabelItem): Promise<Exclude<LabelOutcome, { error: unknown }>> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ...item, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.scheduled || this.busy) return; // a busy queue flushes again when its batch is done
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.busy || !this.pending.length) return;
    this.busy = true;
    const batch = this.pending.splice(0, this.maxBatch);
    let results: LabelOutcome[];
    try {
      results = await this.committer.commit(batch.map(({ user, label, next, hold }) => ({ user, label, next, hold })));
    } catch (e) {
      for (const p of batch) p.reject(e as Error); // rolled back: nothing of the batch was committed
      return;
    } finally {
      this.busy = false;
      if (this.pending.length) this.kick();
    }
    let created = 0;
    batch.forEach((p, i) => {
      const r = results[i];
      if ('error' in r) return p.reject(r.error);
      if (r.ok?.created) created++;
      p.resolve(r);
    });
    if (created) this.onCommit(created);
  }
}
