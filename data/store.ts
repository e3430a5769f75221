// The label store: comparison tasks, assignment with overlap, idempotent labels (users and tokens: users.ts).
// better-sqlite3 style: synchronous calls, statements prepared once, multi-row writes in one transaction.
// The store never imports tfjs; the server and the CLI share it.
import type { MyLabel, Role, TaskView, Turn } from '../protocol/wire.js';
import { AssignParams, Assigner } from './assignment.js';
import { now, openDb } from './db.js';
import { EDIT_WINDOW_MS, LabelEdits } from './label-edits.js';
import { QueueCounter } from './queue-count.js';
import { turnsProblem } from './task-messages.js';
import { UserStore } from './users.js';
import { LabelInput, LabelItem, LabelOutcome, LabelResult, NewTask, ROLES, StoreError, User } from './store-types.js';
import { VersionedCache } from './versioned-cache.js';

export * from './store-types.js';

export { hashToken } from './users.js';

// Every transaction that writes begins IMMEDIATE: it takes the write lock up front (waiting up to
// busy_timeout), instead of reading first and failing with SQLITE_BUSY when it upgrades to a writer
// while another process holds the lock.

/** The users and tokens part lives in users.ts; a Store is also a UserStore. */
export class Store extends UserStore {
  private readonly st;
  // Looked up on every request; our own writes clear it (see versioned-cache.ts).
  private readonly settingCache: VersionedCache<string>;
  private readonly assigner: Assigner;
  private readonly edits: LabelEdits;
  private readonly counter: QueueCounter;
  private readonly views = new Map<number, TaskView>();
  private viewChars = 0;

  constructor(file: string) {
    super(openDb(file));
    const p = (sql: string) => this.db.prepare(sql);
    this.st = {
      getSetting: p('SELECT value FROM settings WHERE key = ?').pluck(),
      setSetting: p('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      promptId: p('SELECT id FROM prompts WHERE text = ?').pluck(),
      addPrompt: p('INSERT INTO prompts (text, created_at) VALUES (?, ?)'),
      addCompletion: p('INSERT INTO completions (prompt_id, text, tokens, model, run_id, step, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      runExists: p('SELECT 1 FROM runs WHERE id = ?').pluck(),
      addTask: p('INSERT INTO tasks (prompt_id, k, gold, source, created_at, messages) VALUES (?, ?, ?, ?, ?, ?)'),
      addTaskCompletion: p('INSERT INTO task_completions (task_id, position, completion_id) VALUES (?, ?, ?)'),
      task: p('SELECT t.id, t.k, p.text AS prompt, t.messages FROM tasks t JOIN prompts p ON p.id = t.prompt_id WHERE t.id = ?'),
      taskCompletions: p(`SELECT tc.position, c.text FROM task_completions tc JOIN completions c ON c.id = tc.completion_id
        WHERE tc.task_id = ? ORDER BY tc.position`),
      labelByClient: p('SELECT id, task_id, kind, ranking, rationale FROM labels WHERE user_id = ? AND client_id = ?'),
      // One lookup answers "does the task exist, how many completions, is it assigned to this user (and
      // since when), and labelled already": an assignment is done exactly when its label is stored
      // (submitOne writes both).
      taskFor: p(`SELECT t.k, a.user_id IS NOT NULL AS assigned, a.done_at IS NOT NULL AS done, a.assigned_at
        FROM tasks t LEFT JOIN assignments a ON a.task_id = t.id AND a.user_id = ? WHERE t.id = ?`),
      // The task's other holders that count against the overlap: finished, or assigned within the TTL.
      othersHolding: p(`SELECT count(*) FROM assignments WHERE task_id = ? AND user_id <> ?
        AND (done_at IS NOT NULL OR assigned_at > ?)`).pluck(),
      addLabel: p(`INSERT INTO labels (task_id, user_id, client_id, kind, ranking, rationale, ms, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      finishAssignment: p('UPDATE assignments SET done_at = ? WHERE task_id = ? AND user_id = ?'),
    };
    this.assigner = new Assigner(this.db);
    this.edits = new LabelEdits(this.db, (by, action, detail, at) => this.audit(by, action, detail, at));
    this.counter = new QueueCounter(this.db);
    this.settingCache = new VersionedCache(this.db);
  }

  close(): void {
    this.db.close();
  }

  setting(key: 'overlap' | 'guidelines' | 'assignment_ttl_s'): string {
    return this.settingCache.get(key, () => this.st.getSetting.get(key) as string)!;
  }

  setSetting(key: 'overlap' | 'guidelines' | 'assignment_ttl_s', value: string, by: number | null): void {
    try {
      this.db.transaction(() => {
        this.st.setSetting.run(key, value);
        this.audit(by, 'setting', { key, value });
      }).immediate();
    } finally {
      this.settingCache.clear();
    }
  }

  /** Enqueue comparison tasks in one transaction; completions are stored in a random display order. */
  addTasks(tasks: NewTask[], rand: () => number = Math.random): number[] {
    tasks.forEach((t, i) => validateTask(t, i));
    const at = now();
    return this.db.transaction(() => tasks.map((t, i) => {
      // completions.run_id references runs: an unknown id would fail the foreign key mid-insert (a 500 on
      // POST /api/tasks); refused here, in the transaction, so nothing of the batch is stored.
      t.completions.forEach((c, j) => {
        if (c.runId != null && this.st.runExists.get(c.runId) === undefined) throw new StoreError('invalid', `tasks[${i}].completions[${j}].run_id: no run ${JSON.stringify(c.runId)}`);
      });
      const pid = (this.st.promptId.get(t.prompt) as number | undefined) ?? Number(this.st.addPrompt.run(t.prompt, at).lastInsertRowid);
      const ids = t.completions.map((c) => Number(this.st.addCompletion.run(pid, c.text, c.tokens ?? null, c.model ?? null, c.runId ?? null, c.step ?? null, at).lastInsertRowid));
      const order = ids.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      // gold is given against the input order; store it against display positions
      const posOf = new Map(order.map((input, pos) => [input, pos]));
      const gold = t.gold ? JSON.stringify(t.gold.map((i) => posOf.get(i))) : null;
      const messages = t.messages ? JSON.stringify(t.messages.map((m) => ({ role: m.role, content: m.content }))) : null;
      const tid = Number(this.st.addTask.run(pid, ids.length, gold, t.source ?? null, at, messages).lastInsertRowid);
      order.forEach((input, pos) => this.st.addTaskCompletion.run(tid, pos, ids[input]));
      return tid;
    })).immediate();
  }

  /**
   * The labeler's next task (see assignment.ts), assigned in one IMMEDIATE transaction so concurrent
   * requests (even from several processes) never over-assign. null when nothing is left.
   */
  nextTask(user: number): TaskView | null {
    const params = this.assignParams();
    const draft = this.assigner.draft();
    // An assignment is cheap to lose (the task is simply handed out again), so its commit skips the
    // fsync; the next label commit (synchronous=FULL) makes it durable along with the label.
    this.db.pragma('synchronous = NORMAL');
    try {
      const id = this.db.transaction(() => this.assigner.next(user, params, draft)).immediate();
      this.assigner.adopt(draft);
      return id === null ? null : this.task(id);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** How many tasks `user` can still be given, the held ones included (queue-count.ts); capped at `cap` new ones. */
  queueLeft(user: number, cap = 1000): { left: number; capped: boolean } {
    return this.counter.left(user, this.assignParams(), cap);
  }

  /** The user's labels still editable (first stored within the edit window), newest first, with their tasks. */
  myLabels(user: number, limit = 10): MyLabel[] {
    const since = new Date(Date.now() - EDIT_WINDOW_MS).toISOString();
    return this.edits.recent(user, since, limit).map((r) => ({
      id: r.id, taskId: r.task_id, clientId: r.client_id, kind: r.kind as MyLabel['kind'], ranking: r.ranking === null ? null : (JSON.parse(r.ranking) as number[]),
      rationale: r.rationale, version: r.version, createdAt: r.created_at, task: this.task(r.task_id)!,
    }));
  }

  /** Every version of a label replaced by an edit, oldest first, as the audit log keeps them (label-edits.ts). */
  labelHistory(labelId: number): ReturnType<LabelEdits['history']> {
    return this.edits.history(labelId);
  }

  private assignParams(): AssignParams {
    const ttl = Number(this.setting('assignment_ttl_s'));
    return { fresh: new Date(Date.now() - ttl * 1000).toISOString(), overlap: Number(this.setting('overlap')) };
  }

  /** A task as shown. The view may be shared with other callers: read it, never change it. */
  task(id: number): TaskView | null {
    const hit = this.views.get(id);
    if (hit) return hit;
    const t = this.st.task.get(id) as { id: number; k: number; prompt: string; messages: string | null } | undefined;
    if (!t) return null;
    const completions = this.st.taskCompletions.all(id) as { position: number; text: string }[];
    const view: TaskView = t.messages === null ? { id: t.id, prompt: t.prompt, completions } : { id: t.id, prompt: t.prompt, messages: JSON.parse(t.messages) as Turn[], completions };
    // A task never changes once added, and with overlap > 1 several labelers are shown it: keep recent
    // views (up to ~4M characters) rather than run two queries each time.
    const size = view.prompt.length + (t.messages?.length ?? 0) + view.completions.reduce((n, c) => n + c.text.length, 0);
    if ((this.viewChars += size) > 4_000_000) {
      this.views.clear();
      this.viewChars = size;
    }
    this.views.set(id, view);
    return view;
  }

  /**
   * Store labels in one transaction (the server's group commit). Each is idempotent by (user, clientId):
   * a resubmit returns the stored label with created = false. Throws StoreError for the first bad one,
   * storing none of the batch; callers that batch unrelated requests validate each first with checkLabel.
   */
  submitLabels(user: number, labels: LabelInput[]): LabelResult[] {
    return this.db.transaction(() => labels.map((l) => this.submitOne(user, l))).immediate();
  }

  /**
   * Group commit for the server: labels from many requests in one transaction (one fsync). A label that
   * fails its checks fails alone (the checks run before it writes anything); an unexpected error rolls
   * back the whole batch. An item with `next` also gets the labeler's next assignment, committed in the
   * same transaction, so a labeler needs one round trip per label. Results are in input order.
   */
  submitEach(items: LabelItem[]): LabelOutcome[] {
    const params = items.some((i) => i.next || i.hold) ? this.assignParams() : null;
    const draft = this.assigner.draft();
    const out = this.db.transaction(() => items.map((it): LabelOutcome => {
      let ok: LabelResult | null = null;
      try {
        if (it.label) ok = this.submitOne(it.user, it.label);
      } catch (e) {
        if (e instanceof StoreError) return { error: e };
        throw e;
      }
      if (it.hold) {
        const held = this.assigner.hold(it.user, params!, draft, it.hold).map((id) => this.task(id)!);
        return { ok, next: held[0] ?? null, held };
      }
      if (!it.next) return { ok };
      const id = this.assigner.next(it.user, params!, draft);
      return { ok, next: id === null ? null : this.task(id) };
    })).immediate();
    this.assigner.adopt(draft);
    return out;
  }

  /**
   * Import preference pairs (HH-RLHF / TRL JSONL rows) as finished 2-way tasks labelled by `userName`
   * (created as a disabled labeler if missing). Returns the number of labels stored.
   */
  importPairs(rows: { prompt: string; chosen: string; rejected: string }[], userName: string): number {
    let user = this.db.prepare('SELECT id FROM users WHERE name = ?').pluck().get(userName) as number | undefined;
    return this.db.transaction(() => {
      if (user === undefined) {
        this.addUser(userName, 'labeler');
        this.disableUser(userName, null); // an import identity, not a login
        user = this.db.prepare('SELECT id FROM users WHERE name = ?').pluck().get(userName) as number;
      }
      const ids = this.addTasks(rows.map((r) => ({ prompt: r.prompt, completions: [{ text: r.chosen }, { text: r.rejected }], source: `import:${userName}` })));
      const at = now();
      ids.forEach((tid, i) => {
        const shown = this.task(tid)!.completions;
        const chosenPos = shown.findIndex((c) => c.text === rows[i].chosen);
        this.assigner.assign(tid, user!, at);
        this.submitOne(user!, { taskId: tid, clientId: `import-${tid}`, kind: 'ranking', ranking: [chosenPos, 1 - chosenPos] });
      });
      this.audit(null, 'import', { user: userName, labels: ids.length }, at);
      return ids.length;
    }).immediate();
  }

  /** The checks submitLabels makes, without writing: throws the StoreError it would; the stored id of a resubmit. */
  checkLabel(user: number, l: LabelInput): number | null {
    const prior = this.st.labelByClient.get(user, l.clientId) as { id: number; task_id: number; kind: string; ranking: string | null; rationale: string | null } | undefined;
    if (prior) {
      if (prior.task_id !== l.taskId) throw new StoreError('conflict', `client id '${l.clientId}' was already used for task ${prior.task_id}`);
      // A resend carries the same body; the same id with another answer is a client bug (or two labels
      // sharing an id), and "stored nothing new" would silently drop that answer. ms is left out: it is
      // timing, not the answer.
      const same = prior.kind === l.kind && prior.ranking === (l.ranking ? JSON.stringify(l.ranking) : null) && prior.rationale === (l.rationale ?? null);
      if (!same) throw new StoreError('conflict', `client id '${l.clientId}' was already used for a different label on task ${prior.task_id}`);
      return prior.id;
    }
    const t = this.st.taskFor.get(user, l.taskId) as { k: number; assigned: number; done: number; assigned_at: string | null } | undefined;
    if (!t) throw new StoreError('not_found', `no task ${l.taskId}`);
    if (l.replaces !== undefined) { // an edit (label-edits.ts); only its first version had to be assigned
      const again = this.edits.resent(user, l);
      if (again !== null) return again;
      rankingCheck(l, t.k);
      this.edits.check(user, l);
      return null;
    }
    if (!t.assigned) throw new StoreError('forbidden', `task ${l.taskId} is not assigned to you`);
    if (t.done) {
      const again = this.edits.resent(user, l); // a version an edit replaced, resent late: stored already
      if (again !== null) return again;
      throw new StoreError('conflict', `task ${l.taskId} already has your label (under another client id)`);
    }
    rankingCheck(l, t.k);
    // A hold past the TTL may have been handed to someone else (assignment.ts). A late label is still
    // taken while the task has room (finished labels plus live holds of others below the overlap): the
    // work is not wasted when nobody else took the task. Past that it is refused, so a task never gets
    // more than `overlap` labels and the labeler who holds it now is never the one turned away.
    const { fresh, overlap } = this.assignParams();
    if (t.assigned_at! <= fresh && (this.st.othersHolding.get(l.taskId, user, fresh) as number) >= overlap) {
      throw new StoreError('conflict', `task ${l.taskId}: assignment expired and the task was reassigned`);
    }
    return null;
  }

  /** Checks, then writes: a StoreError always comes before any write. */
  private submitOne(user: number, l: LabelInput): LabelResult {
    const prior = this.checkLabel(user, l);
    if (prior !== null) return { id: prior, created: false };
    const at = now();
    if (l.replaces !== undefined) return this.edits.apply(user, l, at);
    const id = Number(this.st.addLabel.run(l.taskId, user, l.clientId, l.kind, l.ranking ? JSON.stringify(l.ranking) : null, l.rationale ?? null, l.ms ?? null, at).lastInsertRowid);
    this.st.finishAssignment.run(at, l.taskId, user);
    return { id, created: true };
  }
}

function rankingCheck(l: LabelInput, k: number): void {
  if (l.kind === 'ranking') {
    const r = l.ranking ?? [];
    const ok = r.length === k && [...r].sort((a, b) => a - b).every((v, i) => v === i);
    if (!ok) throw new StoreError('invalid', `ranking must order all ${k} positions 0..${k - 1}, best first`);
  } else if (l.ranking !== undefined) throw new StoreError('invalid', `a ${l.kind} has no ranking`);
}

function validateTask(t: NewTask, i: number): void {
  if (typeof t.prompt !== 'string') throw new StoreError('invalid', 'prompt must be a string');
  if (t.messages != null) {
    const problem = turnsProblem(t.messages, `tasks[${i}].messages`);
    if (problem) throw new StoreError('invalid', problem);
  }
  if (!Array.isArray(t.completions) || t.completions.length < 2) throw new StoreError('invalid', 'a task needs at least 2 completions');
  if (t.completions.some((c) => typeof c.text !== 'string')) throw new StoreError('invalid', 'every completion needs a text');
  if (t.gold) {
    const k = t.completions.length;
    if (t.gold.length !== k || [...t.gold].sort((a, b) => a - b).some((v, i) => v !== i)) throw new StoreError('invalid', `gold must rank all ${k} completions`);
  }
}
