// The labeling page's traffic: the outbox sent in order, the tasks held ahead topped up, the queue count.
// A label leaves the outbox only when the server acknowledged or refused it; a network failure or a busy
// server (429, 5xx) keeps everything and tries again in 2 s. The signed-in user's last label asks for the
// held tasks in the same request (?hold=n: one round trip per label); another user's never does (it would
// assign them tasks shown here). label.ts owns what is shown and hears about it through Hooks.
import type { HeldTasks, LabelAck, QueueView, TaskView } from '../protocol/wire.js';
import { api } from './dom.js';
import { drop, outbox, Queued, signedIn } from './label-outbox.js';

export interface Hooks {
  /** A label of the signed-in user was stored (or found stored). */
  acknowledged(q: Queued, ack: LabelAck): void;
  /** A label of the signed-in user was refused (4xx): its task may be shown again. */
  refused(q: Queued): void;
  /** A new list of held tasks. */
  held(tasks: TaskView[]): void;
  note(text: string, error?: boolean): void;
  /** Every label sent after a failure: the offline notice can go. */
  backOnline(): void;
  /** Something around the task changed (counts, notices): show it. */
  changed(): void;
}

export class Sync {
  /** Offline, or the server busy: a retry is due. */
  offline = false;
  left: QueueView | null = null;
  private flushing = false;
  private again = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private counting = false;
  private countAgain = false;

  constructor(private readonly hooks: Hooks, private readonly hold: number) {}

  /** Send the outbox, then top up the held tasks. One flush at a time; a call meanwhile runs it again after. */
  async flush(): Promise<void> {
    if (this.flushing) return void (this.again = true);
    this.flushing = true;
    try {
      do this.again = false;
      while ((await this.sendAll()) && this.again);
    } finally {
      this.flushing = false;
    }
  }

  /** What is left in the queue (GET /api/me/queue); a call while one is out asks again after it. */
  async refreshLeft(): Promise<void> {
    if (this.counting) return void (this.countAgain = true);
    this.counting = true;
    try {
      do {
        this.countAgain = false;
        const r = await api<QueueView>('GET', '/api/me/queue');
        if (r.status === 200) this.left = r.data;
      } while (this.countAgain);
    } catch {
      // offline: the count waits for the next flush
    } finally {
      this.counting = false;
    }
    this.hooks.changed();
  }

  /** One fewer left (a new label acknowledged), until the next count. */
  took(): void {
    if (this.left) this.left = { ...this.left, left: Math.max(0, this.left.left - 1) };
  }

  private async sendAll(): Promise<boolean> {
    const box = outbox();
    const lastMine = box.map((q) => q.token).lastIndexOf(signedIn());
    for (const [i, q] of box.entries()) {
      let r: { status: number; data: LabelAck & { error?: string } };
      try {
        r = await api<LabelAck & { error?: string }>('POST', i === lastMine ? `/api/labels?hold=${this.hold}` : '/api/labels', q.label, q.token);
      } catch {
        return this.later(`offline: ${outbox().length} label(s) kept, retrying`);
      }
      if (r.status === 429 || r.status >= 500) return this.later(`the server is busy: ${outbox().length} label(s) kept, retrying`);
      drop(q.label.clientId);
      if (r.status >= 400) {
        this.hooks.note(`label for task ${q.label.taskId} refused: ${r.data.error}`, true);
        if (q.token === signedIn()) this.hooks.refused(q);
      } else if (q.token === signedIn()) {
        this.hooks.acknowledged(q, r.data);
        if (r.data.held) this.hooks.held(r.data.held);
      }
    }
    if (lastMine < 0 && !(await this.refill())) return false;
    if (this.offline) {
      this.offline = false;
      this.hooks.backOnline();
    }
    this.hooks.changed();
    void this.refreshLeft();
    return true;
  }

  private async refill(): Promise<boolean> {
    let r: { status: number; data: HeldTasks };
    try {
      r = await api<HeldTasks>('GET', `/api/tasks/held?n=${this.hold}`);
    } catch {
      return this.later(`offline: ${outbox().length} label(s) kept, retrying`);
    }
    if (r.status === 429 || r.status >= 500) return this.later('the server is busy, retrying');
    if (r.status === 200) this.hooks.held(r.data.tasks);
    return true;
  }

  private later(why: string): false {
    this.offline = true;
    this.hooks.note(why);
    this.retry ??= setTimeout(() => {
      this.retry = undefined;
      void this.flush();
    }, 2000);
    this.hooks.changed();
    return false;
  }
}
