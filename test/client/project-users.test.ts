// The project page's user buttons in a real browser (Debian's chromium through playwright-core): a disabled
// user gets an Enable button that works through the API, and disabling the last admin shows the refusal.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';

describe('client: project page user management in chromium', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;

  pageHooks((rig) => void ({ store, srv, page } = rig));

  it('a disabled user has an Enable button that gives their token back; the last admin cannot be disabled', async () => {
    const boss = store.addUser('boss', 'admin');
    const ann = store.addUser('ann', 'labeler');
    store.disableUser('ann', null);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${srv.url}/project#token=${boss}`);
    const annRow = page.locator('tr', { hasText: 'ann' });
    await annRow.locator('button', { hasText: 'enable' }).click();
    await page.waitForFunction(() => document.querySelector('#note')?.textContent === 'saved');
    expect(store.authenticate(ann)).to.deep.include({ name: 'ann' });
    expect(await annRow.locator('button', { hasText: 'disable' }).count()).to.equal(1); // re-rendered as enabled
    expect(await page.locator('tr', { hasText: 'ann' }).textContent()).to.not.include('(disabled)');
    await page.locator('tr', { hasText: 'boss' }).locator('button', { hasText: 'disable' }).click();
    await page.waitForFunction(() => document.querySelector('#note')?.textContent?.startsWith('error'));
    expect(await page.textContent('#note')).to.match(/last enabled admin/);
    expect(store.authenticate(boss)).to.deep.include({ role: 'admin' });
    expect(errors).to.deep.equal([]);
  });
});
