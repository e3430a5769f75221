// Editing one's own labels (data/label-edits.ts): a new version in the labels row, the replaced one whole
// in the audit log, resends of either version stored once, and the refusals (someone else's label, a
// stale version, an old label, a bad ranking), all before anything is written.
import { expect } from 'chai';
import { join } from 'node:path';
import { Store, StoreError } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const task = (i: number, k = 2) => ({ prompt: `prompt ${i}`, completions: Array.from({ length: k }, (_, j) => ({ text: `c${i}.${j}` })) });

describe('data/label-edits', () => {
  let store: Store;
  let ann: number;
  let bob: number;
  beforeEach(() => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    [ann, bob] = ['ann', 'bob'].map((n) => (store.addUser(n, 'labeler'), store.users().find((u) => u.name === n)!.id));
  });
  afterEach(() => store.close());

  const row = (id: number) => store.db.prepare('SELECT id, client_id, kind, ranking, rationale FROM labels WHERE id = ?').get(id);
  const one = (user: number, l: Parameters<Store['submitLabels']>[1][0]) => store.submitLabels(user, [l])[0];

  it('an edit is a new version of the same label; every replaced version stays in the audit log', () => {
    const [t] = store.addTasks([task(1, 3)]);
    store.nextTask(ann);
    const first = one(ann, { taskId: t, clientId: 'v1', kind: 'ranking', ranking: [0, 1, 2], rationale: 'first', ms: 900 });
    expect(first).to.deep.equal({ id: first.id, created: true });
    const second = one(ann, { taskId: t, clientId: 'v2', kind: 'ranking', ranking: [2, 1, 0], replaces: 'v1', ms: 400 });
    expect(second).to.deep.equal({ id: first.id, created: true, version: 2 });
    const third = one(ann, { taskId: t, clientId: 'v3', kind: 'skip', replaces: 'v2' });
    expect(third).to.deep.equal({ id: first.id, created: true, version: 3 });
    expect(row(first.id)).to.deep.equal({ id: first.id, client_id: 'v3', kind: 'skip', ranking: null, rationale: null });
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(1); // one label: exports and training see its current version
    const history = store.labelHistory(first.id);
    expect(history.map((v) => [v.version, v.client_id, v.kind, v.ranking, v.rationale, v.ms, v.replaced_by])).to.deep.equal([
      [1, 'v1', 'ranking', [0, 1, 2], 'first', 900, 'v2'],
      [2, 'v2', 'ranking', [2, 1, 0], null, 400, 'v3'],
    ]);
    const audit = store.db.prepare("SELECT user_id FROM audit_log WHERE action = 'label.edit'").pluck().all();
    expect(audit).to.deep.equal([ann, ann]);
    expect(() => store.db.prepare("DELETE FROM audit_log WHERE action = 'label.edit'").run()).to.throw(/append-only/);
    const mine = store.myLabels(ann);
    expect(mine.map((m) => [m.id, m.clientId, m.kind, m.version, m.task.id])).to.deep.equal([[first.id, 'v3', 'skip', 3, t]]);
  });

  it('resending any version stores nothing new, and a different answer under a used id is a conflict', () => {
    const [t] = store.addTasks([task(1)]);
    store.nextTask(ann);
    const { id } = one(ann, { taskId: t, clientId: 'v1', kind: 'ranking', ranking: [0, 1] });
    one(ann, { taskId: t, clientId: 'v2', kind: 'tie', replaces: 'v1' });
    expect(one(ann, { taskId: t, clientId: 'v2', kind: 'tie', replaces: 'v1' })).to.deep.equal({ id, created: false }); // the edit again
    expect(one(ann, { taskId: t, clientId: 'v1', kind: 'ranking', ranking: [0, 1] })).to.deep.equal({ id, created: false }); // the first version, late
    expect(() => one(ann, { taskId: t, clientId: 'v1', kind: 'ranking', ranking: [1, 0] })).to.throw(StoreError, /already used for a different label/);
    expect(row(id)).to.deep.include({ client_id: 'v2', kind: 'tie' });
    expect(store.labelHistory(id)).to.have.length(1);
  });

  it('refuses edits of labels one does not have, of a version edited since, of old labels, and bad rankings, writing nothing', () => {
    const [t1, t2] = store.addTasks([task(1), task(2, 3)]);
    store.nextTask(ann);
    one(ann, { taskId: t1, clientId: 'a1', kind: 'ranking', ranking: [0, 1] });
    store.nextTask(ann);
    one(ann, { taskId: t2, clientId: 'a2', kind: 'skip' });
    const fail = (user: number, l: Parameters<typeof one>[1], code: StoreError['code'], msg: RegExp) => {
      const before = store.db.prepare('SELECT count(*) FROM audit_log').pluck().get();
      expect(() => one(user, l)).to.throw(StoreError, msg).with.property('code', code);
      expect(store.db.prepare('SELECT count(*) FROM audit_log').pluck().get()).to.equal(before);
    };
    fail(bob, { taskId: t1, clientId: 'b1', kind: 'tie', replaces: 'a1' }, 'not_found', /no label of yours/);
    fail(ann, { taskId: 99, clientId: 'x', kind: 'tie', replaces: 'a1' }, 'not_found', /no task 99/);
    fail(ann, { taskId: t1, clientId: 'x', kind: 'tie', replaces: 'nope' }, 'conflict', /changed since version 'nope'/);
    fail(ann, { taskId: t2, clientId: 'x', kind: 'ranking', ranking: [0, 1], replaces: 'a2' }, 'invalid', /all 3 positions/);
    fail(ann, { taskId: t2, clientId: 'x', kind: 'tie', ranking: [0, 1, 2], replaces: 'a2' }, 'invalid', /a tie has no ranking/);
    one(ann, { taskId: t1, clientId: 'a1b', kind: 'tie', replaces: 'a1' });
    fail(ann, { taskId: t1, clientId: 'x', kind: 'skip', replaces: 'a1' }, 'conflict', /changed since version 'a1'/); // stale: a1b is current
    store.db.prepare("UPDATE labels SET created_at = '2000-01-01T00:00:00.000Z' WHERE client_id = 'a2'").run();
    fail(ann, { taskId: t2, clientId: 'x', kind: 'tie', replaces: 'a2' }, 'conflict', /older than 24 hours/);
    expect(store.myLabels(ann).map((m) => m.clientId)).to.deep.equal(['a1b']); // only the editable one is listed
  });

  it('an edit in a group commit fails alone; the others of the batch are stored', () => {
    const [t1, t2] = store.addTasks([task(1), task(2)]);
    store.nextTask(ann);
    one(ann, { taskId: t1, clientId: 'a1', kind: 'skip' });
    store.nextTask(bob);
    const out = store.submitEach([
      { user: ann, label: { taskId: t1, clientId: 'bad', kind: 'tie', replaces: 'zzz' } },
      { user: bob, label: { taskId: t2, clientId: 'b2', kind: 'tie' } },
      { user: ann, label: { taskId: t1, clientId: 'a1b', kind: 'ranking', ranking: [1, 0], replaces: 'a1' } },
    ]);
    expect('error' in out[0] && out[0].error.code).to.equal('conflict');
    expect(out.slice(1).map((o) => ('ok' in o ? o.ok : o))).to.deep.equal([{ id: 2, created: true }, { id: 1, created: true, version: 2 }]);
  });
});
