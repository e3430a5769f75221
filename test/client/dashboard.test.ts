// The run dashboard in a real browser (Debian's chromium via playwright-core): a researcher starts a quick
// real PPO run (`rlhf ppo`, the starter model against the sentiment rule, length as the gold reward) from
// the page and watches its charts gain points and its samples table fill live; a second run overlays the
// first; the screenshot for the README is taken here. Then 10k points per series, inert model text, the CSV
// download, and the refusal of a labeler token. A run with online feedback (a fake child, and rows in the
// store) shows its reward-model switches as markers on its charts and in its events table.
import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { launchChromium, screenshotPath } from '../browser.js';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { fakeCommand, until } from '../server/run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SCREENSHOT = screenshotPath('dashboard.png');
const ONLINE_RUN = join(import.meta.dirname, 'fixtures', 'online-run.ts');

/** A quick PPO run: batches of 8 completions of 12 tokens, one epoch, a samples table every step. */
// The server picks each run's folder (a launch config never names one).
const quickPpo = (steps: number, lr: number) => ({
  model: join(ROOT, 'data', 'models', 'starter'), prompts: join(ROOT, 'data', 'prompts', 'demo.txt'), reward: 'sentiment', goldReward: 'length',
  steps, batchSize: 8, miniBatchSize: 4, ppoEpochs: 1, maxNewTokens: 12, lr, sampleEvery: 1, sampleRows: 3, saveEvery: 10,
});

describe('client: run dashboard in chromium', function () {
  this.timeout(300_000);
  let browser: Browser;
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  let errors: string[];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  beforeEach(async () => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    srv = await startServer({ store, port: 0 });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
  });
  afterEach(async () => {
    await page.close();
    await srv.close();
    store.close();
  });

  const points = (metric: string) => page.evaluate((m) => Number(document.querySelector(`figure[data-metric="${m}"]`)?.getAttribute('data-points') ?? 0), metric);

  it('a researcher starts a quick PPO run from the page and sees its charts gain points live; a second run overlays it', async () => {
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.waitForSelector('#launch-config');
    const start = async (steps: number, lr: number) => {
      await page.selectOption('#launch-kind', 'ppo');
      await page.fill('#launch-config', JSON.stringify(quickPpo(steps, lr)));
      const before = await page.textContent('#launch-note');
      await page.click('#launch');
      await page.waitForFunction((b) => document.querySelector('#launch-note')?.textContent?.startsWith('started') && document.querySelector('#launch-note')?.textContent !== b, before);
      return (await page.textContent('#launch-note'))!.slice('started '.length);
    };
    const first = await start(24, 3e-4);
    // Watch the chart while the run trains: it must show points before the run is over.
    const seen: { points: number; state: string | null }[] = [];
    let samplesWhileRunning = 0;
    await until(async () => {
      const p = await points('objective/scores');
      const state = await page.textContent('#run-state');
      seen.push({ points: p, state });
      if (state === 'running') samplesWhileRunning = Math.max(samplesWhileRunning, await page.locator('table.samples tbody tr').count());
      if (state === 'failed') throw new Error(`the run failed: ${await page.textContent('#run-error')}`);
      return state === 'done' && p === 24;
    }, 'the run to finish on the page', 240_000);
    const live = seen.filter((s) => s.state === 'running' && s.points > 0 && s.points < 24).map((s) => s.points);
    expect(live.length, JSON.stringify(seen)).to.be.at.least(2);
    expect(new Set(live).size).to.be.at.least(2); // it grew while running, without reloading
    expect(samplesWhileRunning).to.be.above(0); // sample rows arrived over the socket during the run
    const groups = await page.evaluate(() => [...document.querySelectorAll('.chart-group summary')].map((e) => e.textContent));
    expect(groups.slice(0, 4)).to.deep.equal(['objective', 'policy', 'loss', 'val']);
    expect(await page.locator('figure[data-metric="objective/gold_scores"]').count()).to.equal(1);
    expect(await page.textContent('#config')).to.include('"lr": 0.0003').and.include('"cliprange"'); // the resolved config
    expect(await page.textContent('table.events')).to.include('checkpoint').and.include('final');
    const second = await start(12, 1e-3);
    await page.check(`tr[data-run="${first}"] input.overlay`);
    await until(async () => (await page.textContent('#details h2')) === second && (await page.textContent('#run-state')) === 'done', 'the second run', 240_000);
    await until(async () => (await points('objective/scores')) === 36, 'both runs overlaid');
    expect(second).to.not.equal(first);
    await page.fill('#smoothing', '0.8');
    await page.dispatchEvent('#smoothing', 'input');
    await page.waitForTimeout(400); // one redraw (the page redraws at most every 150 ms); not an assertion
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    // Fold the form and the timing groups for the picture: TRL's groups and the samples are what it shows.
    for (const sel of ['details.launch summary', ...['perf', 'time', 'other'].map((g) => `.chart-group[data-group="${g}"] summary`)]) {
      if (await page.locator(sel).count()) await page.click(sel);
    }
    // Charts off screen are drawn when scrolled to: pass over the page once so the full-page picture has them all.
    const pageHeight = await page.evaluate(() => document.body.scrollHeight);
    for (let y = 0; y <= pageHeight; y += 600) {
      await page.evaluate((to) => window.scrollTo(0, to), y);
      await page.waitForTimeout(100);
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(400);
    expect(await page.evaluate(() => [...document.querySelectorAll('details[open] figure.chart')].every((f) => Number(f.getAttribute('data-drawn')) > 0))).to.equal(true);
    const height = await page.evaluate(() => document.querySelector('table.samples')!.getBoundingClientRect().bottom + window.scrollY + 16);
    await page.screenshot({ path: SCREENSHOT, fullPage: true, clip: { x: 0, y: 0, width: 1400, height: Math.min(height, 3000) } });
    expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).to.equal('PNG');
    expect(errors).to.deep.equal([]);
  });

  it('stops and resumes a run from the page (a fake child that waits on a file)', async () => {
    await srv.close();
    srv = await startServer({ store, port: 0, runs: { command: fakeCommand } });
    const rita = store.addUser('rita', 'researcher');
    const go = join(dir, 'go');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.selectOption('#launch-kind', 'ppo');
    await page.fill('#launch-config', JSON.stringify({ steps: 4, waitFile: go, waitAfter: 2 }));
    await page.click('#launch');
    await page.waitForFunction(() => document.querySelector('#run-state')?.textContent === 'running');
    await until(async () => (await points('objective/kl')) === 2, 'two steps on the chart');
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#run-state')?.textContent === 'stopped');
    writeFileSync(go, '');
    await page.click('#resume');
    await page.waitForFunction(() => document.querySelector('#run-state')?.textContent === 'done');
    await until(async () => (await points('objective/kl')) === 4, 'all four steps on the chart');
    expect(await page.textContent('#log')).to.include('resumed from step 2');
    expect(errors).to.deep.equal([]);
  });

  it('draws 10k points per series downsampled, keeps model text inert, downloads CSV, and refuses labelers', async () => {
    const rita = store.addUser('rita', 'researcher');
    const ann = store.addUser('ann', 'labeler');
    const runs = new RunsStore(store.db);
    runs.create({ id: 'big', kind: 'ppo', config: { note: '<img src=x onerror="window.__pwned=1">' }, origin: 'cli', state: 'done' });
    const t0 = Date.now() - 10_000 * 1000;
    runs.record('big', Array.from({ length: 10_000 }, (_, i) => ({ type: 'metrics' as const, step: i + 1, time: t0 + i * 1000, metrics: { 'objective/kl': Math.exp(-i / 3000) + (i % 97) / 500, 'loss/value_avg': 1 / (i + 1) } })));
    runs.record('big', [{ type: 'samples', step: 10_000, time: Date.now(), rows: [{ prompt: 'say <b>hi</b>', completion: '<script>window.__pwned=2</script>', score: 0.5, gold: 1 }] }]);
    await page.goto(`${srv.url}/dashboard#token=${ann}`);
    await page.waitForSelector('.error');
    expect(await page.textContent('.error')).to.include('needs a researcher or admin token');
    await page.evaluate((t) => localStorage.setItem('rlhf.token', t), rita);
    await page.goto(`${srv.url}/dashboard`);
    await until(async () => (await points('objective/kl')) === 10_000, '10k points loaded');
    const drawn = await page.evaluate(() => [...document.querySelectorAll('figure.chart')].map((f) => ({ drawn: Number(f.getAttribute('data-drawn')), width: f.clientWidth })));
    for (const d of drawn) expect(d.drawn).to.be.above(0).and.at.most(2 * d.width); // raw + smoothed lines, one point per pixel each
    expect(await page.evaluate(() => [...document.querySelectorAll('.chart-group summary')].map((e) => e.textContent))).to.deep.equal(['objective', 'loss']);
    await page.check('#log-scale');
    await page.selectOption('#x-axis', 'wall');
    await page.waitForTimeout(400); // let a redraw happen; errors would land in `errors`
    expect(await page.textContent('table.samples')).to.include('<script>window.__pwned=2</script>').and.include('say <b>hi</b>');
    expect(await page.locator('table.samples script, table.samples b, #config img').count()).to.equal(0);
    expect(await page.textContent('#config')).to.include('onerror');
    const download = page.waitForEvent('download');
    await page.click('#csv');
    const file = await (await download).path();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).to.equal('step,time,loss/value_avg,objective/kl');
    expect(lines).to.have.length(10_001);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(errors).to.deep.equal([]);
  });

  /** What the switch-marker plugin drew on a chart's canvas, and the labels it was given. */
  const markers = (metric: string) => page.evaluate((m) => {
    const c = document.querySelector(`figure[data-metric="${m}"] canvas`) as HTMLCanvasElement | null;
    return { drawn: Number(c?.dataset.markers ?? -1), labels: c?.dataset.markerLabels ?? '' };
  }, metric);
  const switchRows = () => page.evaluate(() => [...document.querySelectorAll('table.events tr.reward-switch')].map((tr) => [...tr.children].map((td) => td.textContent)));

  it("marks a live run's reward-model switch on each of its charts and in its events table (fake child over the socket)", async () => {
    await srv.close();
    srv = await startServer({ store, port: 0, runs: { command: () => [process.execPath, '--import', 'tsx', ONLINE_RUN] } });
    const rita = store.addUser('rita', 'researcher');
    const go = join(dir, 'go');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.selectOption('#launch-kind', 'ppo');
    await page.fill('#launch-config', JSON.stringify({ steps: 8, switchAt: 3, waitFile: go, waitAfter: 5 }));
    await page.click('#launch');
    await until(async () => (await points('objective/scores')) === 5, 'five steps on the chart');
    // the switch came at step 3, before the run paused after step 5: it is on every chart while the run is still running
    expect(await page.textContent('#run-state')).to.equal('running');
    await until(async () => (await markers('objective/scores')).drawn === 1, 'the switch marker on objective/scores');
    for (const m of ['objective/kl', 'online/labels', 'online/rm_version']) expect(await markers(m), m).to.deep.equal({ drawn: 1, labels: 'reward model v1' });
    expect(await page.evaluate(() => [...document.querySelectorAll('.chart-group summary')].map((e) => e.textContent))).to.deep.equal(['objective', 'online', 'loss']);
    await until(async () => (await switchRows()).length === 1, 'the switch in the events table');
    expect((await switchRows())[0].slice(0, 2)).to.deep.equal(['3', 'reward-switch: reward model v1']);
    writeFileSync(go, '');
    await page.waitForFunction(() => document.querySelector('#run-state')?.textContent === 'done');
    await until(async () => (await points('objective/scores')) === 8, 'all eight steps');
    expect(await markers('objective/scores')).to.deep.equal({ drawn: 1, labels: 'reward model v1' });
    expect(errors).to.deep.equal([]);
  });

  it("marks a stored run's switches on every chart, on a step or wall-time axis, and lists them all in the events table", async () => {
    const rita = store.addUser('rita', 'researcher');
    const runs = new RunsStore(store.db);
    runs.create({ id: 'online', kind: 'ppo', config: { online_feedback: { everySteps: 1 } }, origin: 'cli', state: 'done' });
    const t0 = Date.now() - 100_000;
    const at = (step: number) => t0 + step * 1000;
    const rm = (v: number) => `/runs/online/reward-models/v${v}/final`;
    runs.record('online', Array.from({ length: 12 }, (_, i) => {
      const step = i + 1;
      const version = step > 9 ? 2 : step > 5 ? 1 : 0;
      return { type: 'metrics' as const, step, time: at(step), metrics: {
        'objective/scores': Math.sin(step), 'loss/value_avg': 1 / step, 'online/labels': 10 * step, 'online/tasks_sent': 4 * step, 'online/rm_version': version,
        ...(version ? { 'online/rm_accuracy': 0.6 + version / 10 } : {}),
      } };
    }));
    runs.record('online', [
      ...Array.from({ length: 60 }, (_, i) => ({ type: 'event' as const, step: 1 + (i % 12), time: at(1 + (i % 12)), kind: 'feedback-tasks', data: { added: 4, total: 4 * (i + 1) } })),
      { type: 'event', step: 4, time: at(4) + 500, kind: 'reward-model-ready', data: { version: 1, labels: 40, accuracy: 0.7, path: rm(1) } },
      { type: 'event', step: 5, time: at(5) + 500, kind: 'reward-switch', data: { name: `reward-model:${rm(1)}` } },
      { type: 'event', step: 8, time: at(8) + 500, kind: 'reward-model-ready', data: { version: 2, labels: 80, accuracy: 0.8, path: rm(2) } },
      { type: 'event', step: 9, time: at(9) + 500, kind: 'reward-switch', data: { name: `reward-model:${rm(2)}` } },
    ]);
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await until(async () => (await points('objective/scores')) === 12, 'the run loaded');
    await until(async () => (await markers('objective/scores')).drawn === 2, 'two switch markers');
    const both = { drawn: 2, labels: 'reward model v1|reward model v2' };
    for (const m of ['loss/value_avg', 'online/labels', 'online/rm_accuracy']) expect(await markers(m), m).to.deep.equal(both);
    expect(await page.evaluate(() => [...document.querySelectorAll('.chart-group summary')].map((e) => e.textContent))).to.deep.equal(['objective', 'online', 'loss']);
    expect(await page.evaluate(() => [...document.querySelectorAll('.chart-group[data-group="online"] figure')].map((f) => f.getAttribute('data-metric'))))
      .to.deep.equal(['online/labels', 'online/rm_accuracy', 'online/rm_version', 'online/tasks_sent']);
    // 60 feedback-task events would push the switches out of a 50-row table: they stay, newest first
    expect((await switchRows()).map((r) => r.slice(0, 2))).to.deep.equal([['9', 'reward-switch: reward model v2'], ['5', 'reward-switch: reward model v1']]);
    expect(await page.locator('table.events tbody tr').count()).to.equal(52);
    // hovering on a marker names it in the canvas's tooltip
    const canvas = page.locator('figure[data-metric="objective/scores"] canvas');
    const px = (await canvas.getAttribute('data-marker-px'))!.split(',').map(Number);
    expect(px).to.have.length(2);
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + px[1], box.y + box.height / 2);
    await until(async () => (await canvas.getAttribute('title')) === 'reward model v2 (run online, from step 9)', 'the marker tooltip');
    await page.mouse.move(box.x + (px[0] + px[1]) / 2, box.y + box.height / 2);
    await until(async () => (await canvas.getAttribute('title')) === '', 'no marker tooltip between markers');
    const markerX = (m: string) => page.evaluate((n) => document.querySelector(`figure[data-metric="${n}"]`)?.getAttribute('data-marker-x'), m);
    expect(await markerX('online/rm_accuracy')).to.equal('5,9');
    await page.selectOption('#x-axis', 'wall');
    await until(async () => (await markerX('objective/scores')) === `${at(5) + 500},${at(9) + 500}`, 'the markers at their times on a wall-time axis');
    expect(await markers('objective/scores')).to.deep.equal(both);
    expect(errors).to.deep.equal([]);
  });
});
