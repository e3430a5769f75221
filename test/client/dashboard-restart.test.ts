// The dashboard across a server restart, in chromium (Debian's, via playwright-core): the open page keeps
// its charts while the server is away (no script error), reconnects with its token when it is back, and
// fetches the steps it missed; then the bar linking the pages, who is signed in, and signing out.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { PageRig, pageHooks } from '../browser.js';
import { RunsStore } from '../../data/runs-store.js';
import { startServer } from '../../server/app.js';
import { until } from '../server/run-helpers.js';

describe('client: the dashboard across a server restart, page links and sign out', function () {
  this.timeout(120_000);
  let rig: PageRig;
  let page: Page;
  let errors: string[];

  pageHooks((r) => {
    rig = r;
    page = r.page;
    errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
  });

  const points = (m: string) => page.evaluate((n) => Number(document.querySelector(`figure[data-metric="${n}"]`)?.getAttribute('data-points') ?? 0), m);
  const steps = (from: number, to: number, t0: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ type: 'metrics' as const, step: from + i, time: t0 + (from + i) * 1000, metrics: { 'objective/kl': (from + i) / 10, 'loss/value_avg': 1 / (from + i) } }));

  it('keeps its charts while the server is away, reconnects with its token when it is back, and fetches what it missed', async () => {
    const { store } = rig;
    const rita = store.addUser('rita', 'researcher');
    const runs = new RunsStore(store.db);
    runs.create({ id: 'r1', kind: 'ppo', config: {}, origin: 'cli', state: 'running', pid: process.pid });
    const t0 = Date.now() - 100_000;
    runs.record('r1', steps(1, 20, t0));
    await page.goto(`${rig.srv.url}/dashboard#token=${rita}`);
    await until(async () => (await points('objective/kl')) === 20 && (await page.textContent('#live')) === 'live', 'the page live with its chart');
    const port = Number(new URL(rig.srv.url).port);
    await rig.srv.close();
    await until(async () => (await page.textContent('#live'))!.startsWith('reconnecting'), 'the page to notice');
    await page.waitForTimeout(3500); // several tries while the server is away
    expect(errors).to.deep.equal([]);
    expect(await points('objective/kl')).to.equal(20); // the chart stays
    expect(await page.locator('figure[data-metric="objective/kl"]').getAttribute('data-drawn')).to.not.equal('0');
    runs.record('r1', steps(21, 25, t0)); // the run went on while the page could not hear it
    rig.srv = await startServer({ store, port });
    await until(async () => (await page.textContent('#live')) === 'live', 'the page to reconnect', 20_000);
    await until(async () => (await points('objective/kl')) === 25, 'the missed steps fetched');
    expect(await points('loss/value_avg')).to.equal(25);
    expect(await page.textContent('#who')).to.equal('signed in as rita (researcher)'); // the same token, from its hello
    // and it is live again: a metric pushed now arrives over the new socket
    rig.srv.hub.broadcast({ type: 'metrics', run_id: 'r1', step: 26, time: t0 + 26_000, metrics: { 'objective/kl': 2.6 } }, 'researcher');
    await until(async () => (await points('objective/kl')) === 26, 'a live step after the restart');
    expect(errors).to.deep.equal([]);
  });

  it('links the pages, names who is signed in, and signs out (the token forgotten, the sign-in form shown)', async () => {
    const { store } = rig;
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${rig.srv.url}/dashboard#token=${rita}`);
    await until(async () => (await page.textContent('#who')) === 'signed in as rita (researcher)', 'the hello');
    const links = await page.$$eval('nav.pages a', (as) => as.map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('aria-current')]));
    expect(links).to.deep.equal([['Label', '/label', null], ['Project', '/project', null], ['Runs', '/dashboard', 'page']]);
    expect(await page.getAttribute('nav.pages', 'aria-label')).to.equal('pages');
    await page.click('#sign-out');
    await page.waitForSelector('#token');
    expect(await page.evaluate(() => localStorage.getItem('rlhf.token'))).to.equal(null);
    expect(await page.locator('#live').count()).to.equal(0);
    // signing in again from the form brings the dashboard back
    await page.fill('#token', rita);
    await page.click('button[type="submit"]');
    await until(async () => (await page.textContent('#who')) === 'signed in as rita (researcher)', 'signed in again');
    // a labeler's token on the dashboard: refused, with the links and a way to sign out
    const ann = store.addUser('ann', 'labeler');
    await page.evaluate((t) => localStorage.setItem('rlhf.token', t), ann);
    await page.reload();
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).to.include('needs a researcher or admin token');
    expect(await page.locator('nav.pages a[href="/label"]').count()).to.equal(1);
    await page.click('#sign-out');
    await page.waitForSelector('#token');
    expect(errors).to.deep.equal([]);
  });
});
