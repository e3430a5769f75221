// Group commit: label submissions that arrive while one transaction is being prepared are written
// together, so one fsync (synchronous=FULL) acknowledges many labels. A request is answered only
// after its transaction has committed. A submission may also ask for the labeler's next task, which
// is assigned in the same transaction (submit-and-next: one round trip per label).
import { LabelInput, LabelItem, LabelResult, Store, StoreError, TaskView } from '../data/store.js';

export type Submitted = LabelResult & { next?: TaskView | null };

interface Pending extends LabelItem {
  resolve: (r: Submitted) => void;
  reject: (e: Error) => void;
}

export class LabelQueue {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly store: Store, private readonly onCommit: (created: number) => void, private readonly maxBatch = 512) {}

  submit(user: number, label: LabelInput, next = false): Promise<Submitted> {
    return new Promise((resolve, reject) => {
      this.pending.push({ user, label, next, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending.splice(0);
    if (!batch.length) return;
    let results: ({ ok: LabelResult; next?: TaskView | null } | { error: StoreError })[];
    try {
      results = this.store.submitEach(batch);
    } catch (e) {
      for (const p of batch) p.reject(e as Error); // nothing was committed
      return;
    }
    let created = 0;
    batch.forEach((p, i) => {
      const r = results[i];
      if ('ok' in r) {
        if (r.ok.created) created++;
        p.resolve('next' in r ? { ...r.ok, next: r.next } : r.ok);
      } else p.reject(r.error);
    });
    if (created) this.onCommit(created);
  }
}
