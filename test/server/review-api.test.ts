// The review routes and the filtered export over HTTP: roles (a labeler sees no one's labels, not even
// through the export or the stats), bad input answered 4xx with the field named (never a 5xx), a label
// rejected through the API absent from GET /api/export and from `rlhf export`, and back after a restore.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { fillReviewStore, labelId } from '../data/review-fixture.js';
import { tempDir } from '../helpers.js';
import { apiClient } from './api-client.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
// Not spawnSync: the server runs in this process and must keep answering (and keep its sockets) meanwhile.
const rlhf = (...args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
  execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 }, (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }));
});
const jsonl = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('server: review routes and filtered exports', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let tasks: number[];
  let users: Record<string, { id: number; token: string }>;
  let lead: string;
  const call = apiClient(() => srv.url);
  // NDJSON: the client would parse it as one JSON document
  const exported = async (query: string) => {
    const res = await fetch(`${srv.url}/api/export?${query}`, { headers: { Authorization: `Bearer ${lead}` } });
    expect(res.status).to.equal(200);
    return jsonl(await res.text());
  };

  before(async () => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    ({ tasks, users } = fillReviewStore(store));
    lead = store.addUser('lead', 'researcher');
    srv = await startServer({ store, port: 0 });
  });
  after(async () => {
    await srv.close();
    store.close();
  });

  it("a labeler gets 403 on every review route, the export and the stats: never another's labels", async () => {
    const ann = users.ann.token;
    const id = labelId(store, 'bob', tasks[0]);
    for (const [m, p, b] of [['GET', '/api/review/labels'], ['GET', `/api/review/tasks/${tasks[0]}`], ['POST', `/api/review/labels/${id}/reject`, {}],
      ['POST', `/api/review/labels/${id}/restore`], ['GET', '/api/export?format=full'], ['GET', '/api/stats']] as [string, string, unknown?][]) {
      const r = await call(ann, m, p, b);
      expect(r.status, `${m} ${p}`).to.equal(403);
      expect(r.text).to.not.include('kinder');
    }
    expect((await call('nope', 'GET', '/api/review/labels')).status).to.equal(401);
    expect(store.db.prepare('SELECT count(*) FROM label_rejections').pluck().get()).to.equal(0);
  });

  it('bad input is a 4xx naming the field, never a 5xx', async () => {
    const id = labelId(store, 'ann', tasks[0]);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['GET', '/api/review/labels?from=2026-02-31', undefined, 400, /from: 2026-02-31 is not a date/],
      ['GET', '/api/review/labels?to=soon', undefined, 400, /to: expected a date/],
      ['GET', '/api/review/labels?limit=0', undefined, 400, /limit/],
      ['GET', '/api/review/labels?limit=abc', undefined, 400, /query.limit/],
      ['GET', '/api/review/labels?offset=-1', undefined, 400, /query.offset/],
      ['GET', '/api/review/labels?labeler=a&labeler=b', undefined, 400, /query.labeler: expected a string/],
      ['GET', '/api/review/labels?labeler=%00x', undefined, 400, /labeler/],
      ['GET', '/api/review/labels?gold=maybe', undefined, 400, /query.gold/],
      ['GET', '/api/review/labels?task=-3', undefined, 400, /task/],
      ['GET', '/api/review/labels?minAgreement=1e400', undefined, 400, /minAgreement/],
      ['GET', '/api/review/labels?status=gone', undefined, 400, /query.status/],
      ['GET', '/api/review/tasks/abc', undefined, 400, /id: a positive integer/],
      ['GET', '/api/review/tasks/99999999999999999999', undefined, 400, /id/],
      ['GET', '/api/review/tasks/99999', undefined, 404, /no task 99999/],
      ['POST', '/api/review/labels/0/reject', {}, 400, /id/],
      ['POST', '/api/review/labels/99999/reject', {}, 404, /no label 99999/],
      ['POST', `/api/review/labels/${id}/reject`, { reason: 5 }, 400, /body.reason: expected a string/],
      ['POST', `/api/review/labels/${id}/reject`, { reason: 'x'.repeat(501) }, 400, /body.reason: longer than 500/],
      ['POST', `/api/review/labels/${id}/reject`, { reason: '\ud800' }, 400, /surrogate/],
      ['POST', `/api/review/labels/${id}/reject`, { why: 'x' }, 400, /body.why: unknown field/],
      ['POST', `/api/review/labels/${id}/reject`, '{"reason": ', 400, /malformed JSON/],
      ['POST', '/api/review/labels/99999/restore', undefined, 404, /no label/],
      ['GET', '/api/export?format=xml', undefined, 400, /query.format/],
      ['GET', '/api/export?minAgreement=2', undefined, 400, /minAgreement: a number from 0 to 1/],
      ['GET', '/api/export?from=2026-13-01', undefined, 400, /from/],
      ['GET', '/api/export?agreement=most', undefined, 400, /query.agreement/],
    ];
    for (const [m, p, b, status, msg] of cases) {
      const r = await call(lead, m, p, b);
      expect(r.status, `${m} ${p} ${r.text}`).to.equal(status);
      expect(r.data?.error, `${m} ${p}`).to.match(msg);
    }
    expect(store.db.prepare('SELECT count(*) FROM label_rejections').pluck().get()).to.equal(0);
  });

  it('a label rejected through the API is absent from GET /api/export and from rlhf export until restored', async () => {
    const bad = labelId(store, 'bob', tasks[0]);
    const list = await call(lead, 'GET', `/api/review/labels?gold=wrong`);
    expect(list.status).to.equal(200);
    expect(list.data.labels.map((l: { id: number }) => l.id)).to.deep.equal([bad]);
    const side = await call(lead, 'GET', `/api/review/tasks/${tasks[0]}`);
    expect(side.data.labels.map((l: { labeler: string }) => l.labeler)).to.deep.equal(['ann', 'bob', 'cat']);
    expect(side.data).to.deep.include({ gold: [0, 1], consensus: [0, 1] });
    expect(side.data.task.completions[0].text).to.equal('yes <b>bold</b> (1)'); // JSON text, shown as text by the page

    const r = await call(lead, 'POST', `/api/review/labels/${bad}/reject`, { reason: '  guessed  ' });
    expect([r.status, r.data]).to.deep.equal([200, { id: bad, rejected: true }]);
    expect(store.db.prepare('SELECT reason FROM label_rejections WHERE label_id = ?').pluck().get(bad)).to.equal('guessed');
    const ids = (await exported('format=full')).map((l) => l.label_id);
    expect(ids).to.have.length(14);
    expect(ids).to.not.include(bad);
    const cli = await rlhf('export', '--db', store.db.name, '--format', 'full');
    expect(cli.code, cli.err).to.equal(0);
    expect(jsonl(cli.out).map((l) => l.label_id)).to.deep.equal(ids);
    const pairs = jsonl((await rlhf('export', '--db', store.db.name)).out).filter((p) => p.prompt === 'Which is kinder?');
    expect(pairs.map((p) => p.chosen)).to.deep.equal(['yes <b>bold</b> (1)', 'yes <b>bold</b> (1)']); // bob's (no first) is gone

    // filters, over HTTP and the CLI alike
    expect((await exported('format=full&labeler=ann&minAgreement=0.5')).map((l) => l.task_id)).to.deep.equal([tasks[0], tasks[3]]); // task 1 is unanimous without bob's
    const agg = jsonl((await rlhf('export', '--db', store.db.name, '--format', 'aggregated', '--agreement', 'contested')).out);
    expect(agg.map((l) => [l.task_id, l.ranking])).to.deep.equal([[tasks[1], [1, 0]], [tasks[2], [0, 1, 2]]]);
    const bad2 = await rlhf('export', '--db', store.db.name, '--from', '2026-02-30');
    expect([bad2.code, bad2.err]).to.deep.equal([1, 'error: from: 2026-02-30 is not a date on the calendar\n']);

    expect((await call(lead, 'POST', `/api/review/labels/${bad}/restore`)).data).to.deep.equal({ id: bad, rejected: false });
    expect(jsonl((await rlhf('export', '--db', store.db.name, '--format', 'full')).out)).to.have.length(15);
    const audit = store.db.prepare("SELECT a.action, u.name FROM audit_log a JOIN users u ON u.id = a.user_id WHERE a.action LIKE 'label.%'").all();
    expect(audit).to.deep.equal([{ action: 'label.reject', name: 'lead' }, { action: 'label.restore', name: 'lead' }]);
  });
});
