import { expect } from 'chai';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { krippendorffAlpha, projectStats } from '../../server/stats.js';
import { tempDir } from '../helpers.js';

describe('server/stats', () => {
  it("Krippendorff's alpha matches worked values", () => {
    // Perfect agreement.
    expect(krippendorffAlpha([['a', 'a'], ['b', 'b'], ['a', 'a']])).to.equal(1);
    // Two coders, 4 units: a/a, a/b, b/b, b/b. Coincidences: o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n = 8,
    // n_a = 3, n_b = 5. D_o = 2 (off-diagonal), D_e = (3·5 + 5·3) / 7 = 30/7, alpha = 1 - 2·7/30 = 0.5333…
    expect(krippendorffAlpha([['a', 'a'], ['a', 'b'], ['b', 'b'], ['b', 'b']])).to.be.closeTo(1 - 14 / 30, 1e-12);
    // Systematic disagreement is worse than chance.
    expect(krippendorffAlpha([['a', 'b'], ['b', 'a'], ['a', 'b'], ['b', 'a']])!).to.be.lessThan(0);
    expect(krippendorffAlpha([['a']])).to.equal(null); // nothing pairable
  });

  it('reports counts, per-labeler speed, agreement and gold accuracy; skips stay out of agreement', () => {
    const store = new Store(join(tempDir(), 'rlhf.db'));
    store.setSetting('overlap', '2', null);
    const ids = ['ann', 'bob'].map((n) => (store.addUser(n, 'labeler'), store.users().find((u) => u.name === n)!.id));
    const tasks = store.addTasks([
      { prompt: 'p1', completions: [{ text: 'x' }, { text: 'y' }], gold: [0, 1] },
      { prompt: 'p2', completions: [{ text: 'x' }, { text: 'y' }] },
      { prompt: 'p3', completions: [{ text: 'x' }, { text: 'y' }] },
    ], () => 0.99); // no shuffle: display order = input order
    const best = (t: number, uid: number, first: number, ms: number) => {
      store.nextTask(uid);
      store.submitLabels(uid, [{ taskId: t, clientId: `${uid}-${t}`, kind: 'ranking', ranking: [first, 1 - first], ms }]);
    };
    best(tasks[0], ids[0], 0, 1000); // ann right on gold
    best(tasks[0], ids[1], 1, 3000); // bob wrong on gold
    best(tasks[1], ids[0], 1, 2000);
    best(tasks[1], ids[1], 1, 2000); // agree
    store.nextTask(ids[0]);
    store.submitLabels(ids[0], [{ taskId: tasks[2], clientId: 'skip', kind: 'skip', ms: 500 }]);
    const s = projectStats(store);
    expect(s.tasks).to.equal(3);
    expect(s.labels).to.equal(5);
    expect(s.byKind).to.deep.equal({ ranking: 4, skip: 1 });
    expect(s.agreement.tasks).to.equal(2);
    expect(s.agreement.pairs).to.equal(2);
    expect(s.agreement.percent).to.equal(0.5);
    const ann = s.labelers.find((l) => l.name === 'ann')!;
    const bob = s.labelers.find((l) => l.name === 'bob')!;
    expect(ann.gold).to.deep.equal({ answered: 1, correct: 1, accuracy: 1 });
    expect(bob.gold).to.deep.equal({ answered: 1, correct: 0, accuracy: 0 });
    expect(ann.skips).to.equal(1);
    expect(ann.medianSeconds).to.equal(1);
    store.close();
  });
});
