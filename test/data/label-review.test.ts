// A lead's review in the store: filters (labeler, task, time, gold, agreement, status) over the hand-worked
// store of review-fixture.ts, rejecting a label so that every export leaves it out (and with it what
// train-rm and dpo read: readComparisonsDb), restoring it, the ranked-pairs export, refusals of bad
// filters, and a reader of a store file from before the review table.
import { expect } from 'chai';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrations } from '../../data/db.js';
import { exportLines, openReader } from '../../data/export.js';
import { labelFilter } from '../../data/label-filter.js';
import { rejectLabel, restoreLabel, reviewLabels, reviewTask } from '../../data/label-review.js';
import { Store } from '../../data/store.js';
import { readComparisonsDb } from '../../reward-models/comparisons.js';
import { tempDir } from '../helpers.js';
import { fillReviewStore, labelId } from './review-fixture.js';

describe('data: label review, filters and exports', () => {
  let store: Store;
  let tasks: number[];
  const lines = (format: 'pairs' | 'full' | 'aggregated', q = {}) => {
    const db = openReader(store.db.name);
    try {
      return [...exportLines(db, format, labelFilter(q))].map((l) => JSON.parse(l));
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    ({ tasks } = fillReviewStore(store));
  });
  afterEach(() => store.close());

  it('filters by labeler, task, gold, agreement and time', () => {
    const ids = (q: object) => reviewLabels(store, q).labels.map((l) => `${l.labeler}${tasks.indexOf(l.taskId) + 1}`).sort();
    expect(reviewLabels(store, {}).total).to.equal(15);
    expect(ids({ labeler: 'bob' })).to.deep.equal(['bob1', 'bob2', 'bob3', 'bob4', 'bob5']);
    expect(ids({ task: String(tasks[3]) })).to.deep.equal(['ann4', 'bob4', 'cat4']);
    expect(ids({ gold: 'wrong' })).to.deep.equal(['bob1']);
    expect(ids({ gold: 'correct' })).to.deep.equal(['ann1', 'cat1']);
    expect(reviewLabels(store, { gold: 'none' }).total).to.equal(12);
    expect(ids({ agreement: 'unanimous' })).to.deep.equal(['ann4', 'bob4', 'cat4']); // cat's skip rides with its task
    expect(ids({ agreement: 'single' })).to.deep.equal(['ann5', 'bob5', 'cat5']);
    expect(reviewLabels(store, { agreement: 'contested' }).total).to.equal(9);
    const page = reviewLabels(store, { labeler: 'ann', task: String(tasks[0]) }).labels[0];
    expect(page).to.deep.include({ labeler: 'ann', kind: 'ranking', ranking: [0, 1], gold: [0, 1], goldCorrect: true, taskLabels: 3, rejected: null, prompt: 'Which is kinder?' });
    expect(page.taskAgreement).to.be.closeTo(1 / 3, 1e-12);
    store.db.prepare('UPDATE labels SET created_at = ? WHERE id = ?').run('2026-01-15T10:00:00.000Z', labelId(store, 'ann', tasks[4]));
    store.db.prepare('UPDATE labels SET created_at = ? WHERE id = ?').run('2026-01-16T00:00:00.000Z', labelId(store, 'bob', tasks[4]));
    expect(ids({ from: '2026-01-15', to: '2026-01-15' })).to.deep.equal(['ann5']); // a date alone as `to`: through that day
    expect(ids({ from: '2026-01-15', to: '2026-01-16T00:00:01Z' })).to.deep.equal(['ann5', 'bob5']);
    expect(ids({ to: '2026-01-15T10:00Z' })).to.deep.equal([]); // `to` is exclusive
    expect(reviewLabels(store, {}, 10, 10).labels).to.have.length(5);
    expect(reviewLabels(store, {}).labels[0].id).to.be.greaterThan(reviewLabels(store, {}).labels[1].id); // newest first
  });

  it('a rejected label leaves every export, readComparisonsDb and the agreement; restoring it brings it back', () => {
    const bad = labelId(store, 'bob', tasks[0]);
    store.addUser('lead', 'researcher');
    const lead = store.users().find((u) => u.name === 'lead')!.id;
    const before = readComparisonsDb(store.db.name);
    expect(before.filter((c) => c.prompt === 'Which is kinder?').map((c) => c.ranking)).to.deep.equal([[0, 1], [1, 0], [0, 1]]);
    expect(rejectLabel(store, bad, lead, 'answered without reading')).to.deep.equal({ id: bad, rejected: true });

    expect(lines('full').map((l) => l.label_id)).to.not.include(bad);
    expect(lines('full')).to.have.length(14);
    expect(lines('pairs').filter((p) => p.prompt === 'Which is kinder?')).to.deep.equal([
      { prompt: 'Which is kinder?', chosen: 'yes <b>bold</b> (1)', rejected: 'no (1)' }, { prompt: 'Which is kinder?', chosen: 'yes <b>bold</b> (1)', rejected: 'no (1)' }]);
    const after = readComparisonsDb(store.db.name);
    expect(after).to.have.length(before.length - 1);
    expect(after.filter((c) => c.prompt === 'Which is kinder?').map((c) => c.ranking)).to.deep.equal([[0, 1], [0, 1]]);
    // the task is unanimous now; the review still lists the rejected label, marked
    expect(reviewLabels(store, { agreement: 'unanimous' }).labels.map((l) => l.taskId)).to.include(tasks[0]);
    expect(reviewLabels(store, { status: 'rejected' }).labels.map((l) => [l.id, l.rejected?.by, l.rejected?.reason])).to.deep.equal([[bad, 'lead', 'answered without reading']]);
    expect(reviewLabels(store, { status: 'kept' }).total).to.equal(14);
    expect(reviewTask(store, tasks[0])!.labels.map((l) => [l.labeler, l.rejected !== null])).to.deep.equal([['ann', false], ['bob', true], ['cat', false]]);
    expect(reviewTask(store, tasks[0])!.agreement).to.equal(1);

    expect(restoreLabel(store, bad, lead)).to.deep.equal({ id: bad, rejected: false });
    expect(lines('full')).to.have.length(15);
    expect(readComparisonsDb(store.db.name)).to.have.length(before.length);
    const audit = store.db.prepare("SELECT action, detail FROM audit_log WHERE action LIKE 'label.%' ORDER BY id").all();
    expect(audit).to.deep.equal([
      { action: 'label.reject', detail: JSON.stringify({ id: bad, reason: 'answered without reading' }) }, { action: 'label.restore', detail: JSON.stringify({ id: bad }) }]);
    expect(() => rejectLabel(store, 9999, null)).to.throw(/no label 9999/);
    expect(() => restoreLabel(store, 9999, null)).to.throw(/no label 9999/);
  });

  it('exports filtered by date, labeler and agreement; aggregated by ranked pairs, one line per task', () => {
    expect(lines('full', { labeler: 'cat' }).map((l) => l.kind)).to.deep.equal(['ranking', 'tie', 'ranking', 'skip', 'skip']);
    expect(lines('full', { minAgreement: '1' }).map((l) => l.labeler)).to.deep.equal(['ann', 'bob', 'cat']); // task 4
    // tasks 1-4 (agreement 1/3 or 1): 3 rankings of 2, 2 of 2 (cat's tie gives none), 3 of 3 (3 pairs each), 2 of 2
    expect(lines('pairs', { minAgreement: '0.3' })).to.have.length(3 + 2 + 9 + 2);
    expect(lines('pairs', { minAgreement: '0.5' })).to.have.length(2);
    store.db.prepare('UPDATE labels SET created_at = ? WHERE task_id = ?').run('2025-06-01T12:00:00.000Z', tasks[1]);
    expect(lines('full', { from: '2025-06-01', to: '2025-06-01' }).map((l) => l.labeler)).to.deep.equal(['ann', 'bob', 'cat']);
    const agg = lines('aggregated');
    expect(agg.map((l) => [l.task_id, l.kind, l.ranking, l.labels])).to.deep.equal([
      [tasks[0], 'ranking', [0, 1], 3], [tasks[1], 'ranking', [1, 0], 3], [tasks[2], 'ranking', [0, 1, 2], 3], [tasks[3], 'ranking', [0, 1], 2], [tasks[4], 'ranking', [1, 0], 1]]);
    expect(agg[2]).to.deep.include({ ranked: ['first (3)', 'second (3)', 'third (3)'], labelers: ['ann', 'bob', 'cat'], messages: null });
    expect(agg[0].agreement).to.be.closeTo(1 / 3, 1e-12);
    // one ranking against another cancel out: the consensus is a tie
    rejectLabel(store, labelId(store, 'cat', tasks[0]), null);
    expect(lines('aggregated', { task: String(tasks[0]) })[0]).to.deep.include({ kind: 'tie', ranking: null, labels: 2 });
    expect(lines('aggregated', { labeler: 'cat' }).map((l) => l.kind)).to.deep.equal(['tie', 'ranking']); // task 2's tie, task 3
  });

  it('refuses bad filters with the field named', () => {
    const bad: [object, RegExp][] = [
      [{ from: '2026-02-31' }, /from: 2026-02-31 is not a date on the calendar/], [{ to: 'yesterday' }, /to: expected a date/],
      [{ minAgreement: '1.5' }, /minAgreement: a number from 0 to 1/], [{ minAgreement: 'NaN' }, /minAgreement/], [{ gold: 'maybe' }, /gold: must be one of/],
      [{ agreement: 'most' }, /agreement: must be one of/], [{ task: '0' }, /task: a task id/], [{ task: '1e3' }, /task/], [{ labeler: 'a b' }, /labeler/],
      [{ status: 'gone' }, /status/], [{ from: '2026-01-01T25:00Z' }, /from/],
    ];
    for (const [q, msg] of bad) expect(() => labelFilter(q), JSON.stringify(q)).to.throw(msg);
    expect(() => reviewLabels(store, {}, -1)).to.throw(/offset/);
    expect(() => reviewLabels(store, {}, 0, 201)).to.throw(/limit/);
    expect(reviewTask(store, 999)).to.equal(null);
  });

  it('a reader of a store file from before the review table exports all its labels', () => {
    const file = join(tempDir(), 'old.db');
    const old = new Database(file);
    for (const [n, sql] of migrations().filter(([n]) => n <= 7)) (old.exec(sql), old.pragma(`user_version = ${n}`));
    const at = new Date().toISOString();
    old.prepare("INSERT INTO users (id, name, role, token_hash, created_at) VALUES (1, 'ann', 'labeler', 'h', ?)").run(at);
    old.prepare("INSERT INTO prompts (id, text, created_at) VALUES (1, 'p', ?)").run(at);
    old.prepare("INSERT INTO completions (id, prompt_id, text, created_at) VALUES (1, 1, 'x', ?), (2, 1, 'y', ?)").run(at, at);
    old.prepare("INSERT INTO tasks (id, prompt_id, k, created_at) VALUES (1, 1, 2, ?)").run(at);
    old.prepare('INSERT INTO task_completions (task_id, position, completion_id) VALUES (1, 0, 1), (1, 1, 2)').run();
    old.prepare("INSERT INTO labels (task_id, user_id, client_id, kind, ranking, created_at) VALUES (1, 1, 'c', 'ranking', '[1,0]', ?)").run(at);
    old.close();
    const db = openReader(file);
    try {
      expect([...exportLines(db, 'pairs')].map((l) => JSON.parse(l))).to.deep.equal([{ prompt: 'p', chosen: 'y', rejected: 'x' }]);
      expect([...exportLines(db, 'aggregated', labelFilter({ minAgreement: '0' }))]).to.deep.equal([]); // one label: no agreement
    } finally {
      db.close();
    }
  });
});
