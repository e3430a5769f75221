// The writer thread (server/label-writer.ts): commits through its own connection, errors come back as
// StoreErrors, and once the thread is gone commits go on through the main thread's store.
import { expect } from 'chai';
import { join } from 'node:path';
import { Store, StoreError } from '../../data/store.js';
import { threadCommitter } from '../../server/label-writer.js';
import { tempDir } from '../helpers.js';

describe('server/label-writer', () => {
  it('commits batches on its own thread, returns refusals as StoreErrors, and falls back when it is gone', async () => {
    const file = join(tempDir(), 'rlhf.db');
    const store = new Store(file);
    const uid = (store.addUser('ann', 'labeler'), store.users()[0].id);
    const [t1, t2, t3] = store.addTasks(['a', 'b', 'c'].map((p) => ({ prompt: p, completions: [{ text: `${p}1` }, { text: `${p}2` }] })));
    const writer = threadCommitter(file, store);
    try {
      const [first] = await writer.commit([{ user: uid, next: true }]);
      expect(first).to.have.nested.property('next.id', t1);
      const out = await writer.commit([
        { user: uid, label: { taskId: t1, clientId: 'c1', kind: 'ranking', ranking: [1, 0] }, next: true },
        { user: uid, label: { taskId: 999, clientId: 'c2', kind: 'skip' } },
      ]);
      expect(out[0]).to.have.nested.property('ok.created', true);
      expect(out[0]).to.have.nested.property('next.id', t2);
      const refused = (out[1] as { error: StoreError }).error;
      expect(refused).to.be.instanceOf(StoreError);
      expect([refused.code, refused.message]).to.deep.equal(['not_found', 'no task 999']);
      // committed by the thread's connection: the main connection reads it
      expect(store.db.prepare('SELECT client_id FROM labels').pluck().all()).to.deep.equal(['c1']);
      await writer.close();
      const [after] = await writer.commit([{ user: uid, label: { taskId: t2, clientId: 'c3', kind: 'tie' }, next: true }]);
      expect(after).to.have.nested.property('next.id', t3); // through the main thread's store now
      expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(2);
    } finally {
      await writer.close();
      store.close();
    }
  });
});
