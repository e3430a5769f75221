// A page whose user is disabled while it is open (chromium through playwright-core): the server closes its
// WebSocket with WS_REVOKED and the page says it is signed out, instead of reconnecting with a dead token
// every few seconds.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';

describe('client: a page whose user is disabled signs out', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  let upgrades: number;

  pageHooks((rig) => {
    ({ store, srv, page } = rig);
    store.addUser('boss', 'admin');
    upgrades = 0;
    srv.server.prependListener('upgrade', () => upgrades++);
  });

  for (const [path, role, selector] of [['/dashboard', 'researcher', '#live'], ['/label', 'labeler', '#message']] as const) {
    it(`${path}: shows "signed out" and stops reconnecting`, async () => {
      const token = store.addUser('rita', role);
      await page.goto(`${srv.url}${path}#token=${token}`);
      await page.waitForFunction(() => !!document.querySelector('body'));
      await new Promise((r) => setTimeout(r, 300));
      expect(upgrades).to.equal(1);
      store.disableUser('rita', null);
      await page.waitForFunction((s) => document.querySelector(s)?.textContent?.startsWith('signed out'), selector, { timeout: 5000 });
      await new Promise((r) => setTimeout(r, 3500)); // longer than either page's reconnect delay
      expect(upgrades).to.equal(1);
      expect(await page.textContent(selector)).to.match(/^signed out/);
    });
  }
});
