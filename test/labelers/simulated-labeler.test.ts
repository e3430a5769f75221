// The simulated labeler as a client of a real server on loopback: it labels the queue through the HTTP
// API, counts ties and noise flips, stops at a count, keeps polling with waitMs until its signal aborts,
// and reports an API error as one line naming the call.
import { expect } from 'chai';
import { Store } from '../../data/store.js';
import { simulateLabeler } from '../../labelers/simulated-labeler.js';
import { loadRule } from '../../reward-models/rules.js';
import { RunningServer, startServer } from '../../server/app.js';

const tasks = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ prompt: `p${from + i}`, completions: [{ text: 'a'.repeat(i % 3 ? 2 : 1) }, { text: 'bb' }] }));

describe('labelers: the simulated labeler over HTTP', () => {
  let store: Store;
  let srv: RunningServer;
  let token: string;
  beforeEach(async () => {
    store = new Store(':memory:');
    token = store.addUser('sim', 'labeler');
    srv = await startServer({ store, host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it('labels every task by the rule, counts ties and flips, and stops when the queue is empty', async () => {
    store.addTasks(tasks(12));
    const rule = await loadRule('length');
    const seen: number[] = [];
    const r = await simulateLabeler({ url: srv.url + '/', token, rule, noise: 1, count: Infinity, seed: 0, onLabel: (n) => seen.push(n) });
    // i % 3 === 0: 'a' vs 'bb' is a ranking (flipped: noise 1); otherwise 'aa' vs 'bb' is a tie
    expect(r).to.deep.equal({ labels: 12, ties: 8, flipped: 4 });
    expect(seen).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
    const rows = store.db.prepare('SELECT task_id, kind, ranking FROM labels ORDER BY id').all() as { task_id: number; kind: string; ranking: string | null }[];
    expect(rows.filter((l) => l.kind === 'tie')).to.have.length(8);
    // every ranking was flipped (noise 1): the shorter completion, 'a', is ranked first, against the rule
    const textAt = store.db.prepare('SELECT c.text FROM task_completions tc JOIN completions c ON c.id = tc.completion_id WHERE tc.task_id = ? AND tc.position = ?').pluck();
    const firsts = rows.filter((l) => l.kind === 'ranking').map((l) => textAt.get(l.task_id, (JSON.parse(l.ranking!) as number[])[0]));
    expect(firsts).to.deep.equal(['a', 'a', 'a', 'a']);
  });

  it('stops after count labels', async () => {
    store.addTasks(tasks(5));
    const r = await simulateLabeler({ url: srv.url, token, rule: await loadRule('length'), noise: 0, count: 3, seed: 0 });
    expect(r.labels).to.equal(3);
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(3);
  });

  it('with waitMs keeps polling an empty queue, labels what arrives, and ends when its signal aborts', async () => {
    const stop = new AbortController();
    const working = simulateLabeler({ url: srv.url, token, rule: await loadRule('length'), noise: 0, count: Infinity, seed: 0, waitMs: 20, signal: stop.signal });
    await new Promise((r) => setTimeout(r, 100));
    store.addTasks(tasks(3, 100));
    for (let i = 0; i < 200 && (store.db.prepare('SELECT count(*) FROM labels').pluck().get() as number) < 3; i++) await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    expect((await working).labels).to.equal(3);
  });

  it('refuses noise outside [0, 1] and names the failing call', async () => {
    const rule = await loadRule('length');
    let err = '';
    await simulateLabeler({ url: srv.url, token, rule, noise: 1.5, count: 1, seed: 0 }).catch((e: Error) => (err = e.message));
    expect(err).to.equal('noise must be in [0, 1], got 1.5');
    await simulateLabeler({ url: srv.url, token: 'nope', rule, noise: 0, count: 1, seed: 0 }).catch((e: Error) => (err = e.message));
    expect(err).to.match(new RegExp(`^GET ${srv.url}/api/tasks/next: 401 `));
  });
});
