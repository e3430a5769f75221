// Assignment with scan hints (data/assignment.ts) against the plain query it shortcuts: the same task
// every time, through overlap changes, expired holds, batches and a rolled-back batch.
import { expect } from 'chai';
import { join } from 'node:path';
import { Store, StoreError } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const task = (i: number) => ({ prompt: `prompt ${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] });

/** The task a full scan picks for `user`: the open one, else the first free one never had (no hints). */
function reference(store: Store, user: number): number | null {
  const overlap = Number(store.setting('overlap'));
  const fresh = new Date(Date.now() - Number(store.setting('assignment_ttl_s')) * 1000).toISOString();
  const open = store.db.prepare('SELECT task_id FROM assignments WHERE user_id = ? AND done_at IS NULL AND assigned_at > ? ORDER BY assigned_at LIMIT 1').pluck().get(user, fresh);
  if (open !== undefined) return open as number;
  const free = store.db.prepare(`SELECT t.id FROM tasks t
    WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = ?)
      AND (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND (a.done_at IS NOT NULL OR a.assigned_at > ?)) < ?
    ORDER BY t.id LIMIT 1`).pluck().get(user, fresh, overlap);
  return (free as number | undefined) ?? null;
}

describe('data/assignment', () => {
  let store: Store;
  beforeEach(() => (store = new Store(join(tempDir(), 'rlhf.db'))));
  afterEach(() => store.close());

  it('picks what a full scan picks, through overlap changes, expired holds and label batches', () => {
    const users = Array.from({ length: 6 }, (_, i) => (store.addUser(`u${i}`, 'labeler'), i + 1));
    store.addTasks(Array.from({ length: 40 }, (_, i) => task(i)));
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const held = new Map<number, number>();
    let checked = 0;
    for (let step = 0; step < 400; step++) {
      if (step === 120) store.setSetting('overlap', '3', null); // raises the bar: finished tasks may be free again
      if (step === 200) store.setSetting('assignment_ttl_s', '0', null); // every unfinished hold expires at once
      if (step === 260) store.setSetting('overlap', '2', null);
      if (step === 300) store.addTasks(Array.from({ length: 10 }, (_, i) => task(100 + i)));
      const u = users[Math.floor(rand() * users.length)];
      const r = rand();
      if (r < 0.5) {
        const want = reference(store, u);
        const got = store.nextTask(u)?.id ?? null;
        expect(got, `step ${step}, user ${u}`).to.equal(want);
        checked++;
        if (got !== null) held.set(u, got);
      } else if (r < 0.8 && held.has(u)) {
        const t = held.get(u)!;
        held.delete(u);
        const [out] = store.submitEach([{ user: u, label: { taskId: t, clientId: `${u}-${t}`, kind: 'skip' } }]);
        if ('error' in out) expect(out.error.message).to.match(/not assigned|already has your label|assignment expired and the task was reassigned/); // an expired hold may have gone
      } else {
        // submit-and-next for several labelers in one transaction; then every pick is checked again
        const batch = users.filter(() => rand() < 0.5).map((v) => ({ user: v, next: true }));
        for (const [i, out] of store.submitEach(batch).entries()) if (!('error' in out) && out.next) held.set(batch[i].user, out.next.id);
      }
    }
    expect(checked).to.be.greaterThan(150);
    for (const u of users) expect(store.nextTask(u)?.id ?? null).to.equal(reference(store, u));
  });

  it('a batch that rolls back leaves no trace in the hints', () => {
    const [ann, bob] = ['ann', 'bob'].map((n, i) => (store.addUser(n, 'labeler'), i + 1));
    const [t1, t2, t3] = store.addTasks([task(1), task(2), task(3), task(4)]);
    expect(store.nextTask(ann)!.id).to.equal(t1);
    expect(store.nextTask(bob)!.id).to.equal(t2);
    // Inside the batch ann finishes t1 and t3, so the hint "every task up to t1 is finished" is true there;
    // then bob's label cannot be bound (a TypeError-like failure, not a StoreError) and it all rolls back.
    const bad = { taskId: t2, clientId: 'b', kind: 'skip' as const, rationale: {} as never };
    expect(() => store.submitEach([
      { user: ann, label: { taskId: t1, clientId: 'a1', kind: 'skip' }, next: true },
      { user: ann, label: { taskId: t3, clientId: 'a3', kind: 'skip' }, next: true },
      { user: bob, label: bad },
    ])).to.throw().that.is.not.instanceOf(StoreError);
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(0);
    store.setSetting('assignment_ttl_s', '0', null); // the holds lapse: t1 is free again, for bob
    expect(reference(store, bob)).to.equal(t1);
    expect(store.nextTask(bob)!.id).to.equal(t1);
    const want = reference(store, ann);
    expect(store.nextTask(ann)!.id).to.equal(want);
  });
});
