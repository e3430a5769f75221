import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrations } from '../../data/db.js';
import { hashToken, Store, StoreError } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const task = (i: number, k = 2) => ({ prompt: `prompt ${i}`, completions: Array.from({ length: k }, (_, j) => ({ text: `completion ${i}.${j}` })) });

describe('data/store', () => {
  let store: Store;
  let file: string;
  beforeEach(() => {
    file = join(tempDir(), 'rlhf.db');
    store = new Store(file);
  });
  afterEach(() => store.close());

  it('applies the numbered migrations once, with WAL, FULL sync and foreign keys on', () => {
    expect(store.db.pragma('user_version', { simple: true })).to.equal(migrations().length);
    expect(store.db.pragma('journal_mode', { simple: true })).to.equal('wal');
    expect(store.db.pragma('synchronous', { simple: true })).to.equal(2); // FULL
    expect(store.db.pragma('foreign_keys', { simple: true })).to.equal(1);
    store.addUser('ann', 'labeler');
    store.close();
    store = new Store(file); // reopening keeps the data and applies nothing again
    expect(store.users().map((u) => u.name)).to.deep.equal(['ann']);
  });

  it('stores only a hash of each token; tokens authenticate until rotated', () => {
    const t = store.addUser('ann', 'labeler');
    expect(t).to.match(/^[\w-]{43}$/);
    expect(store.authenticate(t)).to.deep.include({ name: 'ann', role: 'labeler' });
    expect(store.authenticate(t + 'x')).to.equal(null);
    const raw = store.db.prepare('SELECT token_hash FROM users').pluck().get();
    expect(raw).to.equal(hashToken(t));
    const t2 = store.rotateToken('ann', null);
    expect(store.authenticate(t)).to.equal(null);
    expect(store.authenticate(t2)).to.not.equal(null);
    expect(() => store.addUser('ann', 'admin')).to.throw(StoreError, /already exists/);
    expect(() => store.addUser('x y', 'admin')).to.throw(StoreError, /name must be/);
    expect(() => store.addUser('bob', 'boss' as never)).to.throw(StoreError, /role must be/);
  });

  it('shows completions in a shuffled order and keeps gold answers against display positions', () => {
    const seq = [0.9, 0.1, 0.5];
    const [id] = store.addTasks([{ ...task(1, 3), gold: [2, 0, 1] }], () => seq.shift() ?? 0);
    const view = store.task(id)!;
    const shown = view.completions.map((c) => c.text);
    expect(shown).to.have.members(['completion 1.0', 'completion 1.1', 'completion 1.2']);
    const gold = JSON.parse(store.db.prepare('SELECT gold FROM tasks WHERE id = ?').pluck().get(id) as string) as number[];
    expect(gold.map((p) => shown[p])).to.deep.equal(['completion 1.2', 'completion 1.0', 'completion 1.1']);
  });

  it('assigns each task to `overlap` distinct labelers, never twice to one, and re-serves an unfinished one', () => {
    store.setSetting('overlap', '2', null);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => (store.addUser(n, 'labeler'), store.users().find((u) => u.name === n)!.id));
    const [t1, t2] = store.addTasks([task(1), task(2)]);
    expect(store.nextTask(a)!.id).to.equal(t1);
    expect(store.nextTask(a)!.id).to.equal(t1); // unfinished: the same task again
    expect(store.nextTask(b)!.id).to.equal(t1);
    expect(store.nextTask(c)!.id).to.equal(t2); // t1 is held by two already
    store.submitLabels(a, [{ taskId: t1, clientId: 'a1', kind: 'ranking', ranking: [1, 0] }]);
    expect(store.nextTask(a)!.id).to.equal(t2);
    store.submitLabels(a, [{ taskId: t2, clientId: 'a2', kind: 'tie' }]);
    expect(store.nextTask(a)).to.equal(null); // seen everything
  });

  it('a resubmit with the same client id stores one row; bad labels are refused with the reason', () => {
    const uid = (store.addUser('ann', 'labeler'), store.users()[0].id);
    const [t1, t2] = store.addTasks([task(1), task(2, 3)]);
    store.nextTask(uid);
    const first = store.submitLabels(uid, [{ taskId: t1, clientId: 'c-1', kind: 'ranking', ranking: [0, 1], ms: 1200 }]);
    const again = store.submitLabels(uid, [{ taskId: t1, clientId: 'c-1', kind: 'ranking', ranking: [0, 1], ms: 1200 }]);
    expect(first[0].created).to.equal(true);
    expect(again).to.deep.equal([{ id: first[0].id, created: false }]);
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(1);
    const err = (l: Parameters<Store['checkLabel']>[1]) => {
      try {
        store.submitLabels(uid, [l]);
      } catch (e) {
        return `${(e as StoreError).code}: ${(e as Error).message}`;
      }
      return 'stored';
    };
    expect(err({ taskId: t1, clientId: 'c-2', kind: 'tie' })).to.match(/^conflict: task \d+ already has your label/);
    expect(err({ taskId: t1, clientId: 'c-1', kind: 'ranking', ranking: [0, 1], ms: 5 })).to.equal('stored'); // idempotent: same id, same answer (ms is timing)
    expect(err({ taskId: 999, clientId: 'c-3', kind: 'skip' })).to.equal('not_found: no task 999');
    expect(err({ taskId: t2, clientId: 'c-4', kind: 'skip' })).to.match(/^forbidden: task \d+ is not assigned to you/);
    store.nextTask(uid);
    expect(err({ taskId: t2, clientId: 'c-5', kind: 'ranking', ranking: [0, 0, 1] })).to.match(/^invalid: ranking must order all 3 positions/);
    expect(err({ taskId: t2, clientId: 'c-6', kind: 'skip', ranking: [0, 1, 2] })).to.match(/^invalid: a skip has no ranking/);
    expect(err({ taskId: t2, clientId: 'c-1', kind: 'skip' })).to.match(/^conflict: client id 'c-1' was already used/);
    // a failing label in a batch stores none of it
    expect(() => store.submitLabels(uid, [{ taskId: t2, clientId: 'c-7', kind: 'skip' }, { taskId: 999, clientId: 'c-8', kind: 'skip' }])).to.throw(StoreError);
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(1);
  });

  it('submit-and-next: a label and the next assignment in one transaction; a refused label gets none', () => {
    const uid = (store.addUser('ann', 'labeler'), store.users()[0].id);
    const [t1, t2] = store.addTasks([task(1), task(2)]);
    const [first] = store.submitEach([{ user: uid, next: true }]); // no label: only the assignment
    expect(first).to.deep.include({ ok: null });
    expect(first).to.have.nested.property('next.id', t1);
    const out = store.submitEach([
      { user: uid, label: { taskId: t1, clientId: 'c1', kind: 'tie' }, next: true },
      { user: uid, label: { taskId: 999, clientId: 'c2', kind: 'skip' }, next: true },
    ]);
    expect(out[0]).to.have.nested.property('ok.created', true);
    expect(out[0]).to.have.nested.property('next.id', t2);
    expect(out[0]).to.have.nested.property('next.completions').with.length(2);
    expect(out[1]).to.have.nested.property('error.message', 'no task 999');
    expect(out[1]).to.not.have.property('next');
    expect(store.db.prepare('SELECT task_id FROM assignments WHERE user_id = ? AND done_at IS NULL').pluck().all(uid)).to.deep.equal([t2]);
    const [last] = store.submitEach([{ user: uid, label: { taskId: t2, clientId: 'c3', kind: 'skip' }, next: true }]);
    expect(last).to.deep.include({ next: null }); // nothing left
  });

  it('caches tokens and settings, and sees changes made through another connection', async () => {
    const other = new Store(file);
    try {
      const t = store.addUser('ann', 'labeler');
      expect(other.authenticate(t)).to.deep.include({ name: 'ann' }); // now cached in `other`
      expect(other.setting('overlap')).to.equal('1');
      store.disableUser('ann', null);
      store.setSetting('overlap', '3', null);
      await new Promise((r) => setTimeout(r, 5)); // the caches look for changes at most once a millisecond
      expect(other.authenticate(t)).to.equal(null);
      expect(other.setting('overlap')).to.equal('3');
      const t2 = other.rotateToken('ann', null); // its own writes show at once
      expect(other.authenticate(t2)).to.equal(null); // still disabled
      // label commits do not move the counter the caches watch (PRAGMA data_version would)
      const version = () => store.db.prepare('SELECT n FROM cache_version').pluck().get();
      const before = version();
      const uid = (store.addUser('bob', 'labeler'), store.users().find((u) => u.name === 'bob')!.id);
      expect(version()).to.equal((before as number) + 1);
      store.addTasks([task(1)]);
      other.submitEach([{ user: uid, next: true }]);
      other.submitLabels(uid, [{ taskId: 1, clientId: 'x', kind: 'skip' }]);
      expect(version()).to.equal((before as number) + 1);
    } finally {
      other.close();
    }
  });

  it('keeps the audit log append-only', () => {
    store.addUser('ann', 'admin');
    expect(() => store.db.prepare("UPDATE audit_log SET action = 'x'").run()).to.throw(/append-only/);
    expect(() => store.db.prepare('DELETE FROM audit_log').run()).to.throw(/append-only/);
  });

  it('never over-assigns when several processes ask for tasks at once', async function () {
    this.timeout(60_000);
    store.setSetting('overlap', '2', null);
    for (let i = 0; i < 8; i++) store.addUser(`u${i}`, 'labeler');
    store.addTasks(Array.from({ length: 40 }, (_, i) => task(i)));
    store.close();
    const worker = join(tempDir(), 'worker.ts');
    writeFileSync(worker, `
      import { Store } from '${join(import.meta.dirname, '..', '..', 'data', 'store.ts')}';
      const s = new Store(process.argv[2]);
      const uid = Number(process.argv[3]);
      for (let n = 0; n < 40; n++) {
        const t = s.nextTask(uid);
        if (!t) break;
        s.submitLabels(uid, [{ taskId: t.id, clientId: 'x' + t.id, kind: 'skip' }]);
      }
      s.close();
    `);
    const runs = Array.from({ length: 8 }, (_, i) => new Promise<number>((resolve) => {
      spawn(process.execPath, ['--import', 'tsx', worker, file, String(i + 1)], { stdio: 'inherit' }).on('exit', (code) => resolve(code ?? 1));
    }));
    expect(await Promise.all(runs)).to.deep.equal(new Array(8).fill(0));
    store = new Store(file);
    const counts = store.db.prepare('SELECT task_id, count(*) n FROM assignments GROUP BY task_id').all() as { n: number }[];
    expect(counts).to.have.length(40);
    expect(counts.every((c) => c.n === 2)).to.equal(true); // 8 labelers x 40 tasks, overlap 2: exactly 2 each
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(80);
  });
});
