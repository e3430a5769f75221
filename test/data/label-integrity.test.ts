// Labels that must not be stored as sent: a late label on an expired hold that was handed on, a client
// id reused for another answer, a completion naming a run that does not exist.
import { expect } from 'chai';
import { join } from 'node:path';
import { LabelInput, Store, StoreError } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const task = (i: number) => ({ prompt: `prompt ${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] });

describe('data/store: label integrity', () => {
  let store: Store;
  let ann: number;
  let bob: number;
  let cid: number;
  beforeEach(() => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    [ann, bob, cid] = ['ann', 'bob', 'cid'].map((n) => (store.addUser(n, 'labeler'), store.users().find((u) => u.name === n)!.id));
  });
  afterEach(() => store.close());

  const expire = (user: number) => store.db.prepare("UPDATE assignments SET assigned_at = '2000-01-01T00:00:00.000Z' WHERE user_id = ? AND done_at IS NULL").run(user);
  const submit = (user: number, l: LabelInput): string => {
    try {
      return store.submitLabels(user, [l])[0].created ? 'created' : 'resubmit';
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      return `${e.code}: ${e.message}`;
    }
  };
  const labels = (t: number) => store.db.prepare('SELECT count(*) FROM labels WHERE task_id = ?').pluck().get(t);

  it('refuses a late label once its expired hold was handed to another labeler (overlap 1)', () => {
    const [t1] = store.addTasks([task(1)]);
    expect(store.nextTask(ann)!.id).to.equal(t1);
    expire(ann);
    expect(store.nextTask(bob)!.id).to.equal(t1); // the lapsed hold is handed on
    expect(submit(ann, { taskId: t1, clientId: 'a1', kind: 'skip' })).to.equal(`conflict: task ${t1}: assignment expired and the task was reassigned`);
    expect(submit(bob, { taskId: t1, clientId: 'b1', kind: 'tie' })).to.equal('created'); // the live holder is never the one turned away
    expect(labels(t1)).to.equal(1);
  });

  it('takes a late label while the task still has room, and counts it against the overlap', () => {
    const [t1, t2] = store.addTasks([task(1), task(2)]);
    store.nextTask(ann);
    expire(ann);
    expect(submit(ann, { taskId: t1, clientId: 'a1', kind: 'skip' })).to.equal('created'); // nobody else took it
    // held by bob and then lapsed too: the first late label fills the task, the second is refused
    store.setSetting('overlap', '2', null);
    expect(store.nextTask(bob)!.id).to.equal(t1);
    expire(bob);
    expect(store.nextTask(cid)!.id).to.equal(t1);
    expire(cid);
    expect(submit(cid, { taskId: t1, clientId: 'c1', kind: 'tie' })).to.equal('created');
    expect(submit(bob, { taskId: t1, clientId: 'b1', kind: 'tie' })).to.match(/^conflict: .*assignment expired and the task was reassigned/);
    expect(labels(t1)).to.equal(2);
    expect(store.nextTask(bob)!.id).to.equal(t2);
  });

  it('a reused client id with another answer is a conflict; the same answer is a resubmit', () => {
    const [t1, t2] = store.addTasks([task(1), { prompt: 'three', completions: [{ text: 'x' }, { text: 'y' }, { text: 'z' }] }]);
    store.nextTask(ann);
    expect(submit(ann, { taskId: t1, clientId: 'c', kind: 'ranking', ranking: [1, 0], rationale: 'clearer' })).to.equal('created');
    expect(submit(ann, { taskId: t1, clientId: 'c', kind: 'ranking', ranking: [1, 0], rationale: 'clearer', ms: 10 })).to.equal('resubmit');
    for (const other of [
      { kind: 'ranking', ranking: [0, 1], rationale: 'clearer' },
      { kind: 'tie', rationale: 'clearer' },
      { kind: 'ranking', ranking: [1, 0] },
      { kind: 'ranking', ranking: [1, 0], rationale: 'shorter' },
    ] as Omit<LabelInput, 'taskId' | 'clientId'>[]) {
      expect(submit(ann, { taskId: t1, clientId: 'c', ...other }), JSON.stringify(other)).to.equal(`conflict: client id 'c' was already used for a different label on task ${t1}`);
    }
    expect(submit(ann, { taskId: t2, clientId: 'c', kind: 'skip' })).to.equal(`conflict: client id 'c' was already used for task ${t1}`);
    expect(store.db.prepare('SELECT kind, ranking, rationale FROM labels').all()).to.deep.equal([{ kind: 'ranking', ranking: '[1,0]', rationale: 'clearer' }]);
  });

  it('refuses a completion whose run id names no run, naming the field, and stores nothing of the batch', () => {
    store.db.prepare("INSERT INTO runs (id, kind, state, config, created_at, updated_at) VALUES ('r1', 'ppo', 'done', '{}', '', '')").run();
    expect(() => store.addTasks([
      { prompt: 'p0', completions: [{ text: 'a', runId: 'r1' }, { text: 'b' }] },
      { prompt: 'p1', completions: [{ text: 'a', runId: 'r1' }, { text: 'b', runId: 'nope' }] },
    ])).to.throw(StoreError, 'tasks[1].completions[1].run_id: no run "nope"');
    expect(store.db.prepare('SELECT count(*) FROM tasks').pluck().get()).to.equal(0);
    expect(store.db.prepare('SELECT count(*) FROM prompts').pluck().get()).to.equal(0);
    expect(store.addTasks([{ prompt: 'p', completions: [{ text: 'a', runId: 'r1' }, { text: 'b' }] }])).to.have.length(1);
  });
});
