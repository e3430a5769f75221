// The labeling page in a real browser: Debian's chromium driven by playwright-core.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';

describe('client: labeling page in chromium', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;

  pageHooks((rig) => void ({ store, srv, page } = rig));

  it('a labeler labels five tasks with the keyboard; a <script> completion stays inert text', async () => {
    const token = store.addUser('ann', 'labeler');
    const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    store.addTasks(Array.from({ length: 5 }, (_, i) => ({ prompt: `Prompt ${i}`, completions: [{ text: i === 0 ? evil : `plain ${i}` }, { text: `other ${i}` }] })));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${srv.url}/label#token=${token}`);
    for (let i = 0; i < 5; i++) {
      await page.waitForSelector('#prompt');
      const prompt = await page.textContent('#prompt');
      if (prompt === 'Prompt 0') {
        expect(await page.textContent('.completions')).to.include(evil); // shown as the characters it is
        expect(await page.locator('.completions script, .completions img').count()).to.equal(0);
      }
      await page.keyboard.press(i % 2 ? 'b' : 'a');
      await page.keyboard.press('Enter');
      await page.waitForFunction((p) => document.querySelector('#prompt')?.textContent !== p, prompt);
    }
    await page.waitForSelector('#empty');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    const labels = store.db.prepare('SELECT ranking FROM labels ORDER BY id').pluck().all();
    expect(labels).to.have.length(5);
    expect(errors).to.deep.equal([]);
    expect(await page.textContent('#progress')).to.include('labeled 5');
  });

  it('keeps a label through a network failure and sends it when the server is reachable again', async () => {
    const token = store.addUser('ann', 'labeler');
    store.addTasks([{ prompt: 'P', completions: [{ text: 'x' }, { text: 'y' }] }]);
    let blocked = true;
    await page.route('**/api/labels*', (route) => (blocked ? route.abort('internetdisconnected') : route.continue()));
    await page.goto(`${srv.url}/label#token=${token}`);
    await page.waitForSelector('#prompt');
    await page.keyboard.press('t');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#message')?.textContent?.startsWith('offline'));
    expect(await page.evaluate(() => JSON.parse(localStorage.getItem('rlhf.outbox') ?? '[]').length)).to.equal(1);
    expect(store.db.prepare('SELECT count(*) FROM labels').pluck().get()).to.equal(0);
    blocked = false;
    await page.waitForFunction(() => JSON.parse(localStorage.getItem('rlhf.outbox') ?? '[]').length === 0, null, { timeout: 15_000 });
    expect(store.db.prepare('SELECT kind FROM labels').pluck().all()).to.deep.equal(['tie']);
  });

  it('shows a conversation as turns in order, each with its role, HTML as text; the completions as the assistant\'s replies', async () => {
    const token = store.addUser('ann', 'labeler');
    const evil = '<img src=x onerror="window.__pwned = 1"><b>bold?</b>';
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'What is 2+2?' },
      { role: 'assistant' as const, content: '4.' },
      { role: 'user' as const, content: evil },
    ];
    store.addTasks([
      { prompt: '<|im_start|>system\nYou are terse.<|im_end|>\n...', messages, completions: [{ text: 'Six.' }, { text: '6' }] },
      { prompt: 'Plain prompt', completions: [{ text: 'x' }, { text: 'y' }] },
    ]);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${srv.url}/label#token=${token}`);
    await page.waitForSelector('ol.conversation');
    const list = page.getByRole('list', { name: 'conversation, 4 turns' });
    const turns = list.getByRole('listitem');
    expect(await turns.count()).to.equal(4);
    for (let i = 0; i < messages.length; i++) {
      const turn = turns.nth(i);
      expect(await turn.getAttribute('aria-label')).to.equal(messages[i].role);
      expect(await turn.locator('.role').textContent()).to.equal(messages[i].role); // the role is visible
      expect(await turn.locator('.role').isVisible()).to.equal(true);
      expect(await turn.textContent()).to.equal(messages[i].role + messages[i].content);
    }
    expect(await page.getByRole('listitem', { name: 'system' }).textContent()).to.include('You are terse.');
    expect(await page.locator('#prompt img, #prompt b').count()).to.equal(0); // markup in a turn is text
    expect(await page.textContent('#replies')).to.include('assistant');
    const replies = page.getByRole('group', { name: 'assistant: candidate replies' });
    const cards = await replies.locator('.completion').allTextContents();
    expect(cards.map((t) => t[0])).to.deep.equal(['A', 'B']);
    expect(cards.map((t) => t.slice(1)).sort()).to.deep.equal(['6', 'Six.']);
    expect(await page.textContent('body')).to.not.include('<|im_start|>'); // the rendered template text is not what labelers read
    await page.keyboard.press('a');
    await page.keyboard.press('Enter');
    await page.waitForSelector('div.prompt#prompt'); // the plain task: one block of text, as always
    expect(await page.textContent('#prompt')).to.equal('Plain prompt');
    expect(await page.locator('ol.conversation, #replies').count()).to.equal(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(errors).to.deep.equal([]);
  });

  it('ranks K completions with the digit keys', async () => {
    const token = store.addUser('ann', 'labeler');
    store.addTasks([{ prompt: 'P', completions: [{ text: 'one' }, { text: 'two' }, { text: 'three' }] }]);
    await page.goto(`${srv.url}/label#token=${token}`);
    await page.waitForSelector('#prompt');
    for (const k of ['2', '3', 'Backspace', '1', '3']) await page.keyboard.press(k);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#empty');
    expect(JSON.parse(store.db.prepare('SELECT ranking FROM labels').pluck().get() as string)).to.deep.equal([1, 0, 2]);
  });

  it('the project page shows counts and agreement, adds a labeler (token shown once) and refuses labelers', async () => {
    const lead = store.addUser('lead', 'researcher');
    const ann = store.addUser('ann', 'labeler');
    store.addTasks([{ prompt: 'P', completions: [{ text: 'x' }, { text: 'y' }] }]);
    await page.goto(`${srv.url}/project#token=${ann}`);
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).to.include('needs a researcher or admin token');
    await page.evaluate((t) => localStorage.setItem('rlhf.token', t), lead);
    await page.goto(`${srv.url}/project`);
    await page.waitForSelector('table');
    expect(await page.textContent('header')).to.include('1 tasks');
    await page.fill('#new-name', 'zed');
    await page.click('text=Add user');
    await page.waitForSelector('#note');
    expect(await page.textContent('#note')).to.match(/needs the admin role|error/); // researchers cannot add users
    const boss = store.addUser('boss', 'admin');
    await page.evaluate((t) => localStorage.setItem('rlhf.token', t), boss);
    await page.goto(`${srv.url}/project`);
    await page.waitForSelector('#new-name');
    await page.fill('#new-name', 'zed');
    await page.click('text=Add user');
    await page.waitForFunction(() => document.querySelector('#note')?.textContent?.startsWith('token'));
    const token = (await page.textContent('#note'))!.split(': ')[1];
    expect(store.authenticate(token)).to.deep.include({ name: 'zed', role: 'labeler' });
  });
});
