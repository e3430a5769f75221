// Holding tasks ahead (Assigner.hold through submitEach's `hold`) and counting what is left in a labeler's
// queue (data/queue-count.ts) against a plain full scan, through labels, expired holds, overlap changes
// and tasks added by another connection.
import { expect } from 'chai';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const task = (i: number) => ({ prompt: `prompt ${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] });

/** What is left for `user` by a full scan: held unfinished + never had with room. */
function reference(store: Store, user: number): number {
  const overlap = Number(store.setting('overlap'));
  const fresh = new Date(Date.now() - Number(store.setting('assignment_ttl_s')) * 1000).toISOString();
  const held = store.db.prepare('SELECT count(*) FROM assignments WHERE user_id = ? AND done_at IS NULL AND assigned_at > ?').pluck().get(user, fresh) as number;
  const free = store.db.prepare(`SELECT count(*) FROM tasks t
    WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = t.id AND a.user_id = ?)
      AND (SELECT count(*) FROM assignments a WHERE a.task_id = t.id AND (a.done_at IS NOT NULL OR a.assigned_at > ?)) < ?`).pluck().get(user, fresh, overlap) as number;
  return held + free;
}

describe('data/queue-count and holding tasks ahead', () => {
  let store: Store;
  let file: string;
  beforeEach(() => (store = new Store((file = join(tempDir(), 'rlhf.db')))));
  afterEach(() => store.close());

  it('hold tops a labeler up to n distinct tasks, oldest first, and labelling one of them frees a place', () => {
    const [ann, bob] = ['ann', 'bob'].map((n, i) => (store.addUser(n, 'labeler'), i + 1));
    const ids = store.addTasks(Array.from({ length: 5 }, (_, i) => task(i)));
    const held = (user: number, n: number, label?: { taskId: number; clientId: string }) => {
      const [out] = store.submitEach([{ user, hold: n, ...(label ? { label: { ...label, kind: 'skip' as const } } : {}) }]);
      if ('error' in out) throw out.error;
      expect(out.next?.id ?? null).to.equal(out.held?.[0]?.id ?? null); // next is the oldest held
      return out.held!.map((t) => t.id);
    };
    expect(held(ann, 3)).to.deep.equal(ids.slice(0, 3));
    expect(held(ann, 3)).to.deep.equal(ids.slice(0, 3)); // asking again assigns nothing new
    expect(held(bob, 3)).to.deep.equal(ids.slice(3)); // overlap 1: the rest
    expect(held(ann, 3, { taskId: ids[1], clientId: 'x' })).to.deep.equal([ids[0], ids[2]]); // nothing left to top up with
    expect(store.nextTask(ann)!.id).to.equal(ids[0]); // the plain next task is the oldest hold
    expect(store.queueLeft(ann)).to.deep.equal({ left: 2, capped: false });
    expect(store.queueLeft(bob)).to.deep.equal({ left: 2, capped: false });
  });

  it('counts what a full scan counts, through labels, expiry, overlap changes and tasks from another process', () => {
    const users = Array.from({ length: 4 }, (_, i) => (store.addUser(`u${i}`, 'labeler'), i + 1));
    store.addTasks(Array.from({ length: 30 }, (_, i) => task(i)));
    const cli = new Store(file); // what rlhf tasks add does: its own connection
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const holds = new Map<number, number[]>();
    for (let step = 0; step < 300; step++) {
      if (step === 80) store.setSetting('overlap', '2', null);
      if (step === 150) store.setSetting('assignment_ttl_s', '0', null);
      if (step === 160) store.setSetting('assignment_ttl_s', '1800', null);
      if (step === 200) cli.addTasks(Array.from({ length: 8 }, (_, i) => task(100 + i)));
      if (step === 240) store.setSetting('overlap', '1', null);
      const u = users[Math.floor(rand() * users.length)];
      const mine = holds.get(u) ?? [];
      const r = rand();
      if (r < 0.4 && mine.length) {
        const t = mine.shift()!;
        const [out] = store.submitEach([{ user: u, label: { taskId: t, clientId: `${u}-${t}`, kind: 'skip' }, hold: 2 }]);
        if (!('error' in out)) holds.set(u, out.held!.map((x) => x.id));
      } else if (r < 0.7) {
        const [out] = store.submitEach([{ user: u, hold: 1 + Math.floor(rand() * 3) }]);
        if (!('error' in out)) holds.set(u, out.held!.map((x) => x.id));
      }
      for (const v of users) expect(store.queueLeft(v).left, `step ${step}, user ${v}`).to.equal(reference(store, v));
    }
    cli.close();
  });

  it('stops counting at the cap', () => {
    store.addUser('ann', 'labeler');
    store.addTasks(Array.from({ length: 12 }, (_, i) => task(i)));
    expect(store.queueLeft(1, 5)).to.deep.equal({ left: 5, capped: true });
    expect(store.queueLeft(1)).to.deep.equal({ left: 12, capped: false });
  });
});
