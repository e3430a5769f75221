// A #token= link for another user, opened where someone is signed in: the labeling page asks in a dialog
// of its own (keyboard only here), switches only on yes, and labels still waiting in the outbox are sent
// as the user who made them.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';

describe('client: signing in from a link when someone is signed in', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  let ann: string;
  let bob: string;

  pageHooks((rig) => {
    ({ store, srv, page } = rig);
    ann = store.addUser('ann', 'labeler');
    bob = store.addUser('bob', 'labeler');
    store.addTasks([1, 2, 3, 4, 5, 6].map((i) => ({ prompt: `Prompt ${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] })));
  });

  const stored = () => page.evaluate(() => localStorage.getItem('rlhf.token'));
  const openLink = async (token: string) => {
    await page.goto('about:blank'); // a real load: on the same page a changed #hash alone reloads nothing
    await page.goto(`${srv.url}/label#token=${token}`);
  };

  it('asks, naming both users; Escape keeps the signed-in user and the link is gone from the address bar', async () => {
    await openLink(ann);
    await page.waitForSelector('#prompt'); // nobody was signed in: the link signs in without a question
    expect(await stored()).to.equal(ann);
    await openLink(bob);
    await page.waitForSelector('dialog[open]');
    expect(await page.textContent('dialog h2')).to.equal("Sign in as the link's user?");
    const text = await page.textContent('dialog');
    expect(text).to.include('signed in as ann').and.include('signs in as bob');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Stay signed in as ann'); // the safe answer has focus
    expect(page.url()).to.not.include('token');
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog', { state: 'detached' });
    await page.waitForSelector('#prompt');
    expect(await stored()).to.equal(ann);
    expect(await page.textContent('#progress')).to.include('ann');
    expect(store.db.prepare('SELECT count(*) FROM assignments WHERE user_id = (SELECT id FROM users WHERE name = ?)').pluck().get('bob')).to.equal(0);
  });

  it('switches only on yes; an unsent label of the first user is still sent as that user', async () => {
    let blocked = true;
    await page.route('**/api/labels*', (route) => (blocked ? route.abort('internetdisconnected') : route.continue()));
    await openLink(ann);
    await page.waitForSelector('#prompt');
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#message')?.textContent?.startsWith('offline'));
    await openLink(bob);
    await page.waitForSelector('dialog[open]');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).to.equal('Sign in as bob');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog', { state: 'detached' });
    expect(await stored()).to.equal(bob);
    await page.waitForFunction(() => document.querySelector('#progress')?.textContent?.includes('bob'));
    blocked = false; // the retry goes out now, with ann's token
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('rlhf.outbox') ?? '[]').length === 0, null, { timeout: 15_000 });
    await page.waitForSelector('#prompt');
    const rows = store.db.prepare('SELECT u.name, l.task_id FROM labels l JOIN users u ON u.id = l.user_id').all();
    expect(rows).to.deep.equal([{ name: 'ann', task_id: 1 }]);
    expect(await page.textContent('#prompt')).to.equal('Prompt 4'); // bob's own next task (ann's page holds 1-3: it labels ahead)
    expect(await page.textContent('#progress')).to.include('bob · labeled 0');
    // and a link whose token is not valid changes nothing
    await openLink('not-a-real-token');
    await page.waitForSelector('dialog[open]');
    expect(await page.textContent('dialog')).to.include('You stay signed in as bob');
    await page.keyboard.press('Enter');
    expect(await stored()).to.equal(bob);
  });

  it('the project page asks as well, and reloads as the link\'s user on yes', async () => {
    const rita = store.addUser('rita', 'researcher');
    const boss = store.addUser('boss', 'admin');
    await page.goto(`${srv.url}/project#token=${rita}`);
    await page.waitForSelector('table');
    await page.goto('about:blank');
    await page.goto(`${srv.url}/project#token=${boss}`);
    await page.waitForSelector('dialog[open]');
    expect(await page.textContent('dialog')).to.include('signed in as rita').and.include('signs in as boss');
    expect(await stored()).to.equal(rita); // nothing changes before the answer
    await page.keyboard.press('Tab');
    await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
    expect(await stored()).to.equal(boss);
    await page.waitForSelector('table');
    expect(await page.locator('dialog').count()).to.equal(0);
  });

  it('a label queued before labels carried their user stays with the user signed in when the page loads', async () => {
    await openLink(ann);
    await page.waitForSelector('#prompt');
    let blocked = true;
    await page.route('**/api/labels*', (route) => (blocked ? route.abort('internetdisconnected') : route.continue()));
    await page.evaluate(() => localStorage.setItem('rlhf.outbox', JSON.stringify([{ taskId: 1, clientId: 'old-format', kind: 'tie' }])));
    await openLink(bob);
    await page.waitForSelector('dialog[open]');
    expect(await page.evaluate(() => JSON.parse(localStorage.getItem('rlhf.outbox')!)[0].token)).to.equal(ann); // tagged before the question
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    blocked = false;
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('rlhf.outbox') ?? '[]').length === 0, null, { timeout: 15_000 });
    expect(store.db.prepare("SELECT u.name FROM labels l JOIN users u ON u.id = l.user_id WHERE client_id = 'old-format'").pluck().get()).to.equal('ann');
  });
});
