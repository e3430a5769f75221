// The project page's invite links in chromium: a new user's /label#token=... link with a copy button that
// puts it on the clipboard, shown through other actions until dismissed, and signing its user in; a
// rotated token's new link (asked first; the old token stops working); re-enabling a disabled user; a
// researcher refused. The token is never written to the page's storage, the console or the audit log.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';

describe('client: project page invite links in chromium', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  const logged: string[] = [];

  pageHooks(async (rig) => {
    ({ store, srv, page } = rig);
    logged.length = 0;
    page.on('console', (m) => logged.push(m.text()));
    page.on('pageerror', (e) => logged.push(`pageerror: ${e}`));
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  });

  const invite = (name: string) => page.locator(`.invite[data-user="${name}"]`);

  it('a new user gets an invite link with a copy button, kept until dismissed, that signs them in', async () => {
    const boss = store.addUser('boss', 'admin');
    store.addUser('old', 'labeler');
    store.disableUser('old', null);
    await page.goto(`${srv.url}/project#token=${boss}`);
    await page.fill('#new-name', 'zed');
    await page.click('text=Add user');
    await invite('zed').waitFor();
    const link = await invite('zed').locator('input').inputValue();
    const token = /\/label#token=([\w-]{43})$/.exec(link)![1];
    expect(link.startsWith(`${srv.url}/label#token=`)).to.equal(true);
    expect(store.authenticate(token)).to.deep.include({ name: 'zed', role: 'labeler' });

    await invite('zed').getByRole('button', { name: 'Copy link for zed' }).click();
    await invite('zed').getByText('copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(link);

    // other actions re-read the page: the link stays (and a second user's joins it)
    await page.locator('#users tr[data-user="old"]').getByRole('button', { name: 'enable old' }).click();
    await page.waitForFunction(() => document.querySelector('#note')?.textContent === 'saved');
    expect(await page.locator('#users tr[data-user="old"]').textContent()).to.not.include('(disabled)');
    await page.fill('#new-name', 'rita');
    await page.selectOption('#new-role', 'researcher');
    await page.click('text=Add user');
    await invite('rita').waitFor();
    expect(await invite('rita').locator('input').inputValue()).to.match(new RegExp(`^${srv.url}/project#token=[\\w-]{43}$`));
    expect(await invite('zed').locator('input').inputValue()).to.equal(link);

    // the link signs zed in on the labeling page
    const other = await page.context().browser()!.newContext();
    const zedPage = await other.newPage();
    await zedPage.goto(link);
    await zedPage.waitForFunction(() => localStorage.getItem('rlhf.token') !== null);
    expect(await zedPage.evaluate(() => localStorage.getItem('rlhf.token'))).to.equal(token);
    expect(zedPage.url()).to.equal(`${srv.url}/label`); // the token left the address bar
    await other.close();

    await invite('zed').getByRole('button', { name: 'Dismiss link for zed' }).click();
    expect(await invite('zed').count()).to.equal(0);
    expect(await invite('rita').count()).to.equal(1);
    // nowhere but the page's memory and the server's hash
    const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + location.href);
    expect(kept).to.not.include(token);
    expect(logged.join('\n')).to.not.include(token);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM audit_log').all())).to.not.include(token);
  });

  it('rotates a token from the page after asking: a new link, the old token dead; a researcher may not', async () => {
    const boss = store.addUser('boss', 'admin');
    const ann = store.addUser('ann', 'labeler');
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${srv.url}/project#token=${boss}`);
    const row = page.locator('#users tr[data-user="ann"]');
    await row.getByRole('button', { name: 'new token for ann' }).click();
    await page.waitForSelector('dialog[open]');
    expect(await page.textContent('dialog')).to.include("Replace ann's token?");
    await page.getByRole('button', { name: 'Keep the current token' }).click();
    expect(store.authenticate(ann)).to.deep.include({ name: 'ann' });
    expect(await invite('ann').count()).to.equal(0);

    await row.getByRole('button', { name: 'new token for ann' }).click();
    await page.getByRole('button', { name: "Replace ann's token" }).click();
    await invite('ann').waitFor();
    expect(await invite('ann').textContent()).to.include('New sign-in link for ann');
    const fresh = /token=([\w-]+)$/.exec(await invite('ann').locator('input').inputValue())![1];
    expect(store.authenticate(ann)).to.equal(null);
    expect(store.authenticate(fresh)).to.deep.include({ name: 'ann' });
    expect(await page.textContent('#note')).to.equal('new token for ann, in the sign-in link below');
    expect(logged.join('\n')).to.not.include(fresh);

    // a researcher sees the page but cannot mint tokens
    await page.evaluate((t) => localStorage.setItem('rlhf.token', t), rita);
    await page.goto(`${srv.url}/project`);
    await page.locator('#users tr[data-user="ann"]').getByRole('button', { name: 'new token for ann' }).click();
    await page.getByRole('button', { name: "Replace ann's token" }).click();
    await page.waitForFunction(() => document.querySelector('#note')?.textContent?.startsWith('error'));
    expect(await page.textContent('#note')).to.include('needs the admin role');
    expect(await page.locator('.invite').count()).to.equal(0);
    expect(store.authenticate(fresh)).to.deep.include({ name: 'ann' });
    expect(logged.filter((l) => l.startsWith('pageerror'))).to.deep.equal([]);
  });
});
