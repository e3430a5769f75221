// DPO on the run dashboard in chromium (Debian's, via playwright-core): a researcher launches a tiny real
// DPO run from the page on the server's labels (seeded by simulated labelers, demo/simulated-labels.ts) and
// sees TRL's DPO groups of charts fill (rewards, logps, logits, loss, eval) and the samples table list
// validation pairs with their implicit rewards. A stored online DPO run shows its rounds as markers on every
// chart and as rows of the events table, as reward-model switches are shown.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser.js';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { collectSimulatedLabels } from '../../demo/simulated-labels.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir, useBackend } from '../helpers.js';
import { until } from '../server/run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const STARTER = join(ROOT, 'data', 'models', 'starter');

describe('client: DPO runs on the dashboard in chromium', function () {
  this.timeout(300_000);
  before(useBackend);
  let browser: Browser;
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  let errors: string[];

  before(async () => {
    browser = await launchChromium();
    const db = join(tempDir(), 'rlhf.db');
    const prompts = readFileSync(join(ROOT, 'data', 'prompts', 'demo.txt'), 'utf8').split('\n').filter(Boolean);
    await collectSimulatedLabels({ db, model: STARTER, prompts, tasksPerPrompt: 2, k: 2, maxNewTokens: 10, temperature: 1, labelers: 2, rule: 'sentiment', noise: 0, seed: 5 });
    store = new Store(db);
    srv = await startServer({ store, port: 0 });
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
    store?.close();
  });
  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
  });
  afterEach(async () => page.close());

  const points = (metric: string) => page.evaluate((m) => Number(document.querySelector(`figure[data-metric="${m}"]`)?.getAttribute('data-points') ?? 0), metric);
  const groups = () => page.evaluate(() => [...document.querySelectorAll('.chart-group summary')].map((e) => e.textContent));
  const inGroup = (g: string) => page.evaluate((x) => [...document.querySelectorAll(`.chart-group[data-group="${x}"] figure`)].map((f) => f.getAttribute('data-metric')), g);
  const sampleHead = () => page.evaluate(() => [...document.querySelectorAll('table.samples thead th')].map((e) => e.textContent));
  const sampleRows = () => page.evaluate(() => [...document.querySelectorAll('table.samples tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)));
  // a chart is drawn when it comes near the screen: scroll to it first
  const markers = async (metric: string) => (await page.locator(`figure[data-metric="${metric}"]`).scrollIntoViewIfNeeded(), page.evaluate((m) => {
    const c = document.querySelector(`figure[data-metric="${m}"] canvas`) as HTMLCanvasElement | null;
    return { drawn: Number(c?.dataset.markers ?? -1), labels: c?.dataset.markerLabels ?? '' };
  }, metric));

  it("a researcher launches a tiny DPO run from the page: TRL's DPO groups fill and the samples table lists validation pairs", async () => {
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.waitForSelector('#launch-config');
    await page.selectOption('#launch-kind', 'dpo');
    expect(await page.locator('#launch-form [data-field="beta"]').count()).to.equal(1); // the form is DPO's schema
    expect(await page.locator('#launch-form [data-field="onlineFeedback"]').count()).to.equal(1);
    expect(JSON.parse(await page.inputValue('#launch-config'))).to.include({ model: 'data/models/starter', beta: 0.1 }).and.not.have.property('db'); // the server's labels
    const config = { model: STARTER, epochs: 1, batchSize: 2, lr: 1e-3, loggingSteps: 1, evalEvery: 0, valFraction: 0.25, sampleRows: 3 };
    // a refusal shows its message and starts nothing
    await page.fill('#launch-config', JSON.stringify({ ...config, beta: 0 }));
    await page.click('#launch');
    await page.waitForFunction(() => document.querySelector('#launch-note')?.textContent?.startsWith('error:'));
    expect(await page.textContent('#launch-note')).to.equal('error: body.config: beta must be a number in (0, 1000], got 0');
    await page.fill('#launch-config', JSON.stringify(config));
    await page.click('#launch');
    await page.waitForFunction(() => document.querySelector('#launch-note')?.textContent?.startsWith('started'));
    await until(async () => {
      const state = await page.textContent('#run-state');
      if (state === 'failed') throw new Error(`the run failed: ${await page.textContent('#run-error')}`);
      return state === 'done' && (await points('eval/loss')) === 1 && (await sampleRows()).length > 0;
    }, 'the DPO run to finish on the page', 240_000);
    expect(await groups()).to.deep.equal(['rewards', 'logps', 'logits', 'policy', 'loss', 'eval', 'time', 'sys', 'other']);
    expect(await inGroup('sys')).to.deep.equal(['sys/cpu_percent', 'sys/rss_mb']); // the child's own CPU and memory
    expect(await inGroup('rewards')).to.deep.equal(['rewards/accuracies', 'rewards/chosen', 'rewards/margins', 'rewards/rejected']);
    expect(await inGroup('logps')).to.deep.equal(['logps/chosen', 'logps/rejected']);
    expect(await inGroup('logits')).to.deep.equal(['logits/chosen', 'logits/rejected']);
    expect(await inGroup('loss')).to.deep.equal(['loss', 'grad_norm', 'lr']);
    expect(await inGroup('eval')).to.include.members(['eval/loss', 'eval/rewards/accuracies', 'eval/rewards/margins', 'eval/logps/chosen', 'eval/logits/rejected', 'eval/num_tokens']);
    expect(await inGroup('time')).to.deep.equal(['num_tokens']);
    const steps = await points('loss');
    expect(steps).to.be.at.least(2);
    for (const m of ['rewards/chosen', 'rewards/margins', 'logps/rejected', 'logits/chosen', 'grad_norm', 'lr', 'num_tokens']) expect(await points(m), m).to.equal(steps);
    expect(await sampleHead()).to.deep.equal(['step', 'prompt', 'chosen', 'chosen reward', 'gold', 'rejected', 'rejected_reward', 'margin', 'correct']);
    for (const row of await sampleRows()) {
      expect(row[0]).to.equal(String(steps));
      expect(Number(row[7])).to.be.closeTo(Number(row[3]) - Number(row[6]), 2e-3);
      expect(row[8]).to.equal(String(Number(row[7]) > 0));
    }
    expect(errors).to.deep.equal([]);
  });

  it("marks a stored online DPO run's rounds on each of its charts and lists them in the events table", async () => {
    const rita = store.addUser('rose', 'researcher');
    const runs = new RunsStore(store.db);
    runs.create({ id: 'dpo-online', kind: 'dpo', config: { onlineFeedback: { rounds: 2 } }, origin: 'cli', state: 'done' });
    const t0 = Date.now() - 60_000;
    const at = (step: number) => t0 + step * 1000;
    runs.record('dpo-online', Array.from({ length: 8 }, (_, i) => ({
      type: 'metrics' as const, step: i + 1, time: at(i + 1), metrics: { loss: 0.7 - i / 50, 'rewards/margins': i / 10, 'logps/chosen': -20 + i, grad_norm: 1, lr: 1e-3 },
    })));
    runs.record('dpo-online', [
      ...Array.from({ length: 55 }, (_, i) => ({ type: 'event' as const, step: i % 8, time: at(i % 8), kind: 'feedback-tasks', data: { added: 8, total: 8 * (i + 1) } })),
      { type: 'event', step: 3, time: at(3) + 500, kind: 'dpo-round', data: { round: 1, labels: 8, accuracy: 0.5 } },
      { type: 'metrics', step: 3, time: at(3) + 500, metrics: { 'online/round': 1, 'online/round_accuracy': 0.5, 'online/labels': 8 } },
      { type: 'event', step: 8, time: at(8) + 500, kind: 'dpo-round', data: { round: 2, labels: 9, accuracy: 0.75 } },
      { type: 'metrics', step: 8, time: at(8) + 500, metrics: { 'online/round': 2, 'online/round_accuracy': 0.75, 'online/labels': 17 } },
    ]);
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.click('tr[data-run="dpo-online"] a');
    await until(async () => (await points('loss')) === 8 && (await markers('loss')).drawn === 2, 'the run and its two round markers');
    const both = { drawn: 2, labels: 'DPO round 1|DPO round 2' };
    for (const m of ['rewards/margins', 'logps/chosen', 'grad_norm', 'online/round', 'online/round_accuracy']) expect(await markers(m), m).to.deep.equal(both);
    expect((await groups()).slice(0, 4)).to.deep.equal(['online', 'rewards', 'logps', 'loss']);
    // 55 feedback-task events would push the rounds out of a 50-row table: they stay, newest first
    const rounds = await page.evaluate(() => [...document.querySelectorAll('table.events tr.dpo-round')].map((tr) => [...tr.children].slice(0, 2).map((td) => td.textContent)));
    expect(rounds).to.deep.equal([['8', 'dpo-round: DPO round 2'], ['3', 'dpo-round: DPO round 1']]);
    // hovering on a marker names it
    const canvas = page.locator('figure[data-metric="loss"] canvas');
    await canvas.scrollIntoViewIfNeeded();
    const px = (await canvas.getAttribute('data-marker-px'))!.split(',').map(Number);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + px[0], box.y + box.height / 2);
    await until(async () => (await canvas.getAttribute('title')) === 'DPO round 1 (run dpo-online, from step 3)', 'the marker tooltip');
    expect(errors).to.deep.equal([]);
  });
});
