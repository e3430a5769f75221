// The labeling page keeps labelling while the network is down (it holds tasks ahead; the outbox queues
// every label, an undo too), clears its "offline" notice when the outbox drains, and a labeler waiting on
// an empty queue gets tasks that the CLI writes to the store directly. Chromium.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { openLabel, outboxSize } from './label-helpers.js';

const run = promisify(execFile);
const RLHF = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

describe('client: labeling page offline, and tasks from the CLI', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  pageHooks((rig) => void ({ store, srv, page } = rig));

  const pair = (i: number) => ({ prompt: `Prompt ${i}`, completions: [{ text: `first ${i}` }, { text: `second ${i}` }] });
  const promptIs = (p: string) => page.waitForFunction((want) => document.querySelector('#prompt')?.textContent === want, p);
  const message = () => page.textContent('#message');

  it('labels three tasks and undoes one with the network down; all are sent once it is back, and the notice clears', async () => {
    store.addTasks([1, 2, 3, 4].map(pair));
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await promptIs('Prompt 1'); // the page holds tasks 1-3 now
    await page.route('**/api/**', (route) => route.abort('internetdisconnected'));
    for (const [i, key] of [[1, 'a'], [2, 'b'], [3, 'a']] as const) {
      await promptIs(`Prompt ${i}`);
      await page.keyboard.press(key);
      await page.keyboard.press('Enter');
    }
    await page.waitForSelector('#empty'); // the held tasks are done; nothing more without the network
    await page.waitForFunction(() => document.querySelector('#message')?.textContent?.startsWith('offline: 3 label(s) kept'));
    await page.keyboard.press('u'); // undo works offline too: task 3 again, as a tie this time
    await promptIs('Prompt 3');
    await page.keyboard.press('t');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#empty');
    expect(await outboxSize(page)).to.equal(4);
    expect(await page.textContent('#progress')).to.include('waiting to send 4');
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(0);
    await page.unroute('**/api/**');
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('rlhf.outbox') ?? '[]').length === 0, null, { timeout: 15_000 });
    await promptIs('Prompt 4'); // and on with the next task
    expect(await message()).to.equal('back online: every label sent');
    const rows = store.db.prepare('SELECT task_id, kind, ranking FROM labels ORDER BY task_id').all();
    expect(rows).to.deep.equal([
      { task_id: 1, kind: 'ranking', ranking: '[0,1]' }, { task_id: 2, kind: 'ranking', ranking: '[1,0]' }, { task_id: 3, kind: 'tie', ranking: null },
    ]);
    expect(store.labelHistory(3).map((v) => v.ranking)).to.deep.equal([[0, 1]]); // the undone answer, kept
    expect(await page.textContent('#progress')).to.include('labeled 3 · waiting to send 0');
  });

  it('a labeler waiting on an empty queue gets the tasks `rlhf tasks gold` writes to the store', async () => {
    await openLabel(page, srv.url, store.addUser('ann', 'labeler'));
    await page.waitForSelector('#empty');
    expect(await page.textContent('#empty')).to.include('No task right now');
    const data = join(dirname(store.db.name), 'gold.jsonl');
    writeFileSync(data, JSON.stringify({ prompt: 'From the CLI', chosen: 'yes', rejected: 'no' }) + '\n');
    await run(process.execPath, [RLHF, 'tasks', 'gold', '--db', store.db.name, '--data', data]);
    const t0 = Date.now();
    await promptIs('From the CLI'); // no reload, no API call by anyone: the server noticed the store change
    expect(Date.now() - t0).to.be.below(10_000);
    await page.waitForFunction(() => document.querySelector('#left')?.textContent === '1 left in the queue');
  });
});
