// The project page's review and figures in chromium, on the hand-worked store of review-fixture.ts:
// per-labeler kappa, pairwise kappa, alpha and the contested tasks as worked there; filters by labeler,
// gold, agreement and time; a task's labels side by side with model text shown as text; rejecting a label
// with a reason (the figures move, the downloaded export lacks it) and restoring it; a gold question made
// on the page; exports filtered by labeler and agreement; a labeler refused the page and the routes.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { fillReviewStore, labelId } from '../data/review-fixture.js';

describe('client: project page review and figures in chromium', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  let tasks: number[];
  let users: Record<string, { id: number; token: string }>;
  let lead: string;
  const errors: string[] = [];

  pageHooks((rig) => {
    ({ store, srv, page } = rig);
    ({ tasks, users } = fillReviewStore(store));
    lead = store.addUser('lead', 'researcher');
    errors.length = 0;
    page.on('pageerror', (e) => errors.push(String(e)));
  });

  const rows = () => page.locator('#review-list tr[data-label]');
  const cells = async (sel: string) => page.locator(sel).evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  const applied = async (count: string) => {
    await page.click('text=Apply filters');
    await page.waitForFunction((c) => document.querySelector('#review-count')?.textContent?.includes(c), count);
  };
  const download = async () => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click('text=Download JSONL')]);
    return readFileSync((await d.path())!, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };

  it('shows the worked figures, filters, a task side by side as text, and rejects a label out of the export', async () => {
    await page.goto(`${srv.url}/project#token=${lead}`);
    await page.waitForSelector('#review-list');
    const ann = await cells('#users tr[data-user="ann"]');
    expect(ann[0].slice(2, 10)).to.deep.equal(['5', '0', '0 (0.0%)', '0 (0.0%)', '2.0', '100.0% of 1', '57.1%', '0.25']);
    expect((await cells('#users tr[data-user="cat"]'))[0].slice(4, 6)).to.deep.equal(['2 (40.0%)', '1 (20.0%)']);
    expect(await cells('#pairwise tr:not(:first-child)')).to.deep.equal([['ann · bob', '4', '75.0%', '0.50'], ['ann · cat', '3', '33.3%', '0.00'], ['bob · cat', '3', '0.0%', '-0.50']]);
    expect(await page.textContent('#agreement')).to.include('4 tasks with several labels, 10 label pairs: 40.0% agree').and.include("alpha 0.118");
    expect((await cells('#contested tr:not(:first-child)')).map((r) => r[0])).to.deep.equal(tasks.slice(0, 3).map(String));

    expect(await page.textContent('#review-count')).to.include('of 15');
    await page.selectOption('#review-labeler', 'bob');
    await applied('of 5');
    expect(new Set((await cells('#review-list tr[data-label]')).map((r) => r[2]))).to.deep.equal(new Set(['bob']));
    await page.selectOption('#review-labeler', '');
    await page.selectOption('#review-gold', 'wrong');
    await applied('of 1');
    const bad = labelId(store, 'bob', tasks[0]);
    expect(await rows().getAttribute('data-label')).to.equal(String(bad));
    await page.selectOption('#review-gold', '');
    await page.selectOption('#review-agreement', 'single');
    await applied('of 3');
    expect(new Set((await cells('#review-list tr[data-label]')).map((r) => r[3]))).to.deep.equal(new Set([`task ${tasks[4]}`]));
    await page.selectOption('#review-agreement', '');
    await applied('of 15');

    // the contested list opens task 1 side by side: a column per label, a row per completion
    await page.getByRole('button', { name: `review task ${tasks[0]}` }).click();
    await page.waitForSelector('#side-by-side');
    const grid = await cells('#side-by-side tr');
    expect(grid[0].slice(1)).to.deep.equal(['annkept', 'bobkept', 'catkept', 'gold', 'consensus']);
    expect(grid[1]).to.deep.equal(['1yes <b>bold</b> (1)', '1st', '2nd', '1st', '1st', '1st']);
    expect(grid[2]).to.deep.equal(['2no (1)', '2nd', '1st', '2nd', '2nd', '2nd']);
    expect(await page.locator('#open-task b').count()).to.equal(0); // model text is text, never markup

    await page.locator('#open-task').getByRole('button', { name: `reject label ${bad}` }).click();
    await page.waitForSelector('dialog[open]');
    await page.fill('#reject-reason', 'guessed <i>fast</i>');
    await page.click('text=Reject label');
    await page.waitForFunction((id) => document.querySelector('#note')?.textContent === `rejected label ${id}`, bad);
    expect(store.db.prepare('SELECT reason FROM label_rejections WHERE label_id = ?').pluck().get(bad)).to.equal('guessed <i>fast</i>');
    await page.waitForSelector('#side-by-side th.rejected'); // the open task stays open and shows it
    expect(await page.textContent('#side-by-side th.rejected')).to.equal('bobrejected by lead: guessed <i>fast</i>');
    expect(await page.locator('#open-task i').count()).to.equal(0);
    expect(await page.textContent('#agreement')).to.include('alpha 0.333').and.include('1 rejected labels left out');
    expect((await cells('#users tr[data-user="bob"]'))[0][3]).to.equal('1');

    await page.selectOption('#export-format', 'full');
    const full = await download();
    expect(full).to.have.length(14);
    expect(full.map((l) => l.label_id)).to.not.include(bad);
    await page.selectOption('#export-labeler', 'ann');
    await page.fill('#export-minAgreement', '0.5');
    expect((await download()).map((l) => l.task_id)).to.deep.equal([tasks[0], tasks[3]]);
    await page.selectOption('#export-format', 'aggregated');
    await page.selectOption('#export-labeler', '');
    await page.fill('#export-minAgreement', '');
    await page.selectOption('#export-agreement', 'contested');
    expect((await download()).map((l) => [l.task_id, l.ranking])).to.deep.equal([[tasks[1], [1, 0]], [tasks[2], [0, 1, 2]]]);
    await page.fill('#export-minAgreement', '3'); // out of range: the form refuses to send it
    expect(await page.$eval('#export-form', (f) => (f as HTMLFormElement).checkValidity())).to.equal(false);

    // restore from the list of rejected labels
    await page.selectOption('#review-status', 'rejected');
    await applied('of 1');
    await page.locator('#review-list').getByRole('button', { name: `restore label ${bad}` }).click();
    await page.waitForFunction((id) => document.querySelector('#note')?.textContent === `restored label ${id}`, bad);
    expect(store.db.prepare('SELECT count(*) FROM label_rejections').pluck().get()).to.equal(0);
    await page.waitForFunction(() => document.querySelector('#review-count')?.textContent === 'No label matches these filters.');
    expect(errors).to.deep.equal([]);
  });

  it('makes a gold question on the page, filters by time, and refuses a labeler the page and the routes', async () => {
    store.db.prepare('UPDATE labels SET created_at = ? WHERE id = ?').run('2026-01-15T10:00:00.000Z', labelId(store, 'ann', tasks[4]));
    await page.goto(`${srv.url}/project#token=${lead}`);
    await page.waitForSelector('#review-list');
    expect(await page.textContent('#gold-count')).to.match(/^1 gold questions/);
    await page.fill('#gold-prompt', 'What is 2 + 2?');
    await page.fill('#gold-better', '4');
    await page.fill('#gold-worse', '4');
    await page.click('text=Add gold question');
    expect(await page.textContent('#note')).to.equal('error: the better and the worse answer are the same text');
    await page.fill('#gold-worse', '<script>alert(5)</script>');
    await page.click('text=Add gold question');
    await page.waitForFunction(() => document.querySelector('#note')?.textContent?.startsWith('added gold question'));
    const id = Number(/task (\d+)/.exec((await page.textContent('#note'))!)![1]);
    const view = store.task(id)!;
    const gold = JSON.parse(store.db.prepare('SELECT gold FROM tasks WHERE id = ?').pluck().get(id) as string) as number[];
    expect(view.completions[gold[0]].text).to.equal('4'); // the better answer is gold, wherever it is shown
    expect(await page.textContent('#gold-count')).to.match(/^2 gold questions/);

    await page.fill('#review-from', '2026-01-15');
    await page.fill('#review-to', '2026-01-15');
    await applied('of 1');
    // the rows can trail the count on a loaded machine: wait for the single row the filter leaves
    await page.waitForFunction(() => document.querySelectorAll('#review-list tr[data-label]').length === 1);
    expect((await cells('#review-list tr[data-label]'))[0].slice(1, 4)).to.deep.equal(['2026-01-15 10:00', 'ann', `task ${tasks[4]}`]);
    await page.getByRole('button', { name: `task ${tasks[4]} side by side` }).click();
    await page.waitForFunction(() => document.querySelector('#open-task')?.textContent?.includes('fewer than two labels'));
    expect(await cells('#side-by-side tr')).to.have.length(1 + 2 + 3); // heads, 2 completions, rationale, seconds, actions

    await page.evaluate((t) => localStorage.setItem('rlhf.token', t), users.ann.token);
    await page.goto(`${srv.url}/project`);
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).to.include('needs a researcher or admin token');
    expect(await page.locator('#review-list').count()).to.equal(0);
    const status = await page.evaluate(async (t) => Promise.all(['/api/review/labels', '/api/review/tasks/1', '/api/export?format=full', '/api/stats']
      .map((p) => fetch(p, { headers: { Authorization: `Bearer ${t}` } }).then((r) => r.status))), users.ann.token);
    expect(status).to.deep.equal([403, 403, 403, 403]);
    expect(errors).to.deep.equal([]);
  });
});
