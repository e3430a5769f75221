// The labeling page's undo and edit (a new version of one's own label, the old one in the audit log),
// the count of what is left in the queue, and guidelines that stay open beside the task. Chromium.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { openLabel } from './label-helpers.js';

describe('client: labeling page, undo, edit, queue count and guidelines', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  pageHooks((rig) => void ({ store, srv, page } = rig));

  const pair = (i: number) => ({ prompt: `Prompt ${i}`, completions: [{ text: `first ${i}` }, { text: `second ${i}` }] });
  const promptIs = (p: string) => page.waitForFunction((want) => document.querySelector('#prompt')?.textContent === want, p);
  const labels = () => store.db.prepare('SELECT task_id, client_id, kind, ranking FROM labels ORDER BY task_id').all() as { task_id: number; client_id: string; kind: string; ranking: string | null }[];
  const waitLabels = async (n: number, kind?: string) => {
    for (let t0 = Date.now(); Date.now() - t0 < 10_000; await page.waitForTimeout(50)) {
      const rows = labels();
      if (rows.length === n && (!kind || rows.some((r) => r.kind === kind))) return rows;
    }
    throw new Error(`labels: ${JSON.stringify(labels())}`);
  };

  it('undoes the last label with the button: the task comes back with its answer, a new answer is a new version', async () => {
    const ids = store.addTasks([1, 2, 3].map(pair));
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('Prompt 1');
    expect(await page.locator('#undo').count()).to.equal(0); // nothing to undo yet
    await page.click('#choice-a');
    await page.click('#submit');
    await promptIs('Prompt 2');
    const [first] = await waitLabels(1);
    await page.click('#undo');
    await promptIs('Prompt 1');
    expect(await page.textContent('#editing')).to.include('Editing your label on task 1 (version 1)');
    expect(await page.getAttribute('#choice-a', 'aria-pressed')).to.equal('true'); // the answer it had
    await page.click('#choice-b');
    await page.click('#submit');
    await promptIs('Prompt 2'); // back to where the labeler was
    const rows = await waitLabels(1, 'ranking');
    for (let t0 = Date.now(); labels()[0].ranking !== '[1,0]' && Date.now() - t0 < 10_000;) await page.waitForTimeout(50);
    expect(labels()).to.deep.equal([{ task_id: ids[0], client_id: labels()[0].client_id, kind: 'ranking', ranking: '[1,0]' }]);
    expect(rows[0].client_id).to.not.equal(first.client_id);
    const old = store.labelHistory(store.db.prepare('SELECT id FROM labels').pluck().get() as number);
    expect(old.map((v) => [v.version, v.client_id, v.kind, v.ranking])).to.deep.equal([[1, first.client_id, 'ranking', [0, 1]]]);
    expect(await page.textContent('#progress')).to.include('labeled 1'); // an edit is not another label
  });

  it('edits an older label from the recent list (also after a reload), and cancelling an edit keeps the label', async () => {
    store.addTasks([1, 2, 3, 4].map(pair));
    const token = store.addUser('ann', 'labeler');
    await openLabel(page, srv.url, token);
    for (const [i, key] of [[1, 'a'], [2, 'b'], [3, 't']] as const) {
      await promptIs(`Prompt ${i}`);
      await page.keyboard.press(key);
      await page.keyboard.press('Enter');
    }
    await promptIs('Prompt 4');
    await waitLabels(3);
    await page.reload(); // the list comes from the server now
    await promptIs('Prompt 4');
    await page.click('#recent summary');
    const items = await page.locator('#recent li').allTextContents();
    expect(items.map((t) => t.replace(/\s+Edit$/, ''))).to.deep.equal(['Task 3: a tie', 'Task 2: B is better', 'Task 1: A is better']);
    await page.getByRole('button', { name: 'Edit your label on task 2' }).click();
    await promptIs('Prompt 2');
    await page.click('#cancel-edit');
    await promptIs('Prompt 4');
    await page.getByRole('button', { name: 'Edit your label on task 2' }).click();
    await promptIs('Prompt 2');
    await page.click('#choice-skip');
    await page.click('#submit');
    await promptIs('Prompt 4');
    await waitLabels(3, 'skip');
    expect(labels().map((l) => l.kind)).to.deep.equal(['ranking', 'skip', 'tie']);
    await page.waitForFunction(() => document.querySelector('#recent')?.textContent?.includes('Task 2: skipped (version 2)'));
    expect(store.db.prepare("SELECT count(*) FROM audit_log WHERE action = 'label.edit'").pluck().get()).to.equal(1);
  });

  it('shows what is left in the queue, and it follows labels and new tasks', async () => {
    store.addTasks([1, 2, 3, 4, 5].map(pair));
    const rita = store.addUser('rita', 'researcher');
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('Prompt 1');
    await page.waitForFunction(() => document.querySelector('#left')?.textContent === '5 left in the queue');
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#left')?.textContent === '4 left in the queue');
    const res = await fetch(`${srv.url}/api/tasks`, { method: 'POST', headers: { Authorization: `Bearer ${rita}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ tasks: [pair(6), pair(7)] }) });
    expect(res.status).to.equal(201);
    await page.waitForFunction(() => document.querySelector('#left')?.textContent === '6 left in the queue');
  });

  it('keeps the guidelines open beside the task while labelling, and after a reload', async () => {
    store.setSetting('guidelines', 'Prefer **correct** answers.\nThen the `shorter` one.', null);
    store.addTasks([1, 2].map(pair));
    await page.setViewportSize({ width: 1280, height: 800 });
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('Prompt 1');
    const toggle = page.getByRole('button', { name: 'Guidelines', exact: true });
    expect(await toggle.getAttribute('aria-expanded')).to.equal('false');
    expect(await page.isVisible('#guidelines')).to.equal(false);
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).to.equal('true');
    const panel = page.getByRole('complementary', { name: 'Guidelines' });
    expect(await panel.locator('strong').textContent()).to.equal('correct'); // markdown, as DOM
    expect(await panel.locator('code').textContent()).to.equal('shorter');
    const beside = async () => {
      const [g, t] = [(await page.locator('#guidelines').boundingBox())!, (await page.locator('#task').boundingBox())!];
      expect(g.x, 'the panel is to the right of the task').to.be.at.least(t.x + t.width - 1);
      expect(g.y).to.be.below(t.y + t.height); // side by side, not under it
    };
    await beside();
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await promptIs('Prompt 2');
    expect(await page.isVisible('#guidelines')).to.equal(true);
    await beside();
    await page.reload();
    await promptIs('Prompt 2');
    expect(await page.isVisible('#guidelines')).to.equal(true);
    await page.click('#guidelines-close');
    expect(await page.isVisible('#guidelines')).to.equal(false);
    expect(await toggle.getAttribute('aria-expanded')).to.equal('false');
  });
});
