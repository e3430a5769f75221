// The dashboard's launch form in chromium: built from GET /api/run-kinds (one labelled input per field of
// the kind's config, description as help, default pre-filled, enums as selects, booleans as checkboxes),
// kept consistent with the JSON textarea both ways, and what it sets reaches the run (a fake child).
import { expect } from 'chai';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { fakeCommand, until } from '../server/run-helpers.js';

describe('client: the launch form in chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    browser = await launchChromium();
    store = new Store(join(tempDir(), 'rlhf.db'));
    srv = await startServer({ store, port: 0, runs: { command: fakeCommand } });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  });
  after(async () => {
    await page?.close();
    await browser?.close();
    await srv?.close();
    store?.close();
  });

  const json = async () => JSON.parse(await page.inputValue('#launch-config'));

  it('changes a field through the form, keeps the JSON in step both ways, and launches with it', async () => {
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.waitForSelector('#launch-form [data-field="steps"]', { state: 'attached' });
    await page.click('#launch-fields summary'); // folded at first
    await page.selectOption('#launch-kind', 'ppo');
    // one labelled input per field of the ppo config (out is the server's), with its help and default
    const fields = await page.$$eval('#launch-form [data-field]', (els) => els.map((e) => e.getAttribute('data-field')));
    expect(fields).to.include.members(['model', 'prompts', 'reward', 'steps', 'klCoef', 'klEstimator', 'whitenRewards', 'stop', 'lora', 'onlineFeedback']).and.not.include('out');
    expect(await page.textContent('label[for="launch-field-klCoef"]')).to.equal('klCoef');
    expect(await page.inputValue('#launch-field-klCoef')).to.equal('0.05'); // the default, pre-filled
    expect(await page.textContent('#launch-form .field:has(#launch-field-klCoef) .help')).to.include('KL coefficient').and.include('(default 0.05)');
    expect(await page.$eval('#launch-field-klEstimator', (e) => e.tagName)).to.equal('SELECT');
    expect(await page.$eval('#launch-field-whitenRewards', (e) => (e as HTMLInputElement).type)).to.equal('checkbox');
    expect(await page.inputValue('#launch-field-steps')).to.equal('100'); // the ppo template's value

    // the JSON drives the form: a fake run's config (fields the schema does not know stay in the JSON)
    await page.fill('#launch-config', JSON.stringify({ steps: 2, delayMs: 1 }));
    expect(await page.inputValue('#launch-field-steps')).to.equal('2');
    expect(await page.inputValue('#launch-field-model')).to.equal('');
    expect(await page.inputValue('#launch-field-klCoef')).to.equal('0.05');

    // the form drives the JSON
    await page.fill('#launch-field-steps', '3');
    await page.selectOption('#launch-field-klEstimator', 'k3');
    await page.check('#launch-field-whitenRewards');
    expect(await json()).to.deep.equal({ steps: 3, delayMs: 1, klEstimator: 'k3', whitenRewards: true });
    await page.fill('#launch-field-klCoef', '');
    expect(await json()).to.not.have.property('klCoef'); // emptied: the default applies

    await page.click('#launch');
    await page.waitForFunction(() => document.querySelector('#launch-note')?.textContent?.startsWith('started'));
    await until(async () => (await page.textContent('#run-state')) === 'done', 'the run to finish');
    const config = JSON.parse((await page.textContent('#config'))!);
    expect(config).to.include({ steps: 3, klEstimator: 'k3', whitenRewards: true, resolved: true }); // what the child was given
    await until(async () => Number(await page.getAttribute('figure[data-metric="objective/kl"]', 'data-points')) === 3, 'three steps on the chart');

    // another kind rebuilds the form from its schema
    await page.selectOption('#launch-kind', 'train-rm');
    expect(await page.$eval('#launch-field-ties', (e) => [...(e as HTMLSelectElement).options].map((o) => o.value))).to.deep.equal(['drop', 'equal', 'davidson', 'rao-kupper']);
    expect(await page.locator('#launch-field-klCoef').count()).to.equal(0);
    expect(errors).to.deep.equal([]);
  });
});
