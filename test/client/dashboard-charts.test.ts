// The dashboard's charts in chromium (Debian's, via playwright-core), on a stored run: a constant series
// drawn flat under smoothing, drag to zoom and its resets, a chart's own log scale beside the global one,
// the tooltip's raw and smoothed values and time, metric search, pinning (kept across a reload), and a
// click on a point opening that step's samples.
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { pageHooks } from '../browser.js';
import { RunsStore } from '../../data/runs-store.js';
import type { Store } from '../../data/store.js';
import type { RunningServer } from '../../server/app.js';
import { until } from '../server/run-helpers.js';

const STEPS = 200;

describe('client: dashboard charts in chromium', function () {
  this.timeout(120_000);
  let store: Store;
  let srv: RunningServer;
  let page: Page;
  let errors: string[];

  pageHooks(async (rig) => {
    ({ store, srv, page } = rig);
    await page.setViewportSize({ width: 1400, height: 1000 });
    errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const runs = new RunsStore(store.db);
    runs.create({ id: 'ppo-a', kind: 'ppo', config: { lr: 1e-4 }, origin: 'cli', state: 'done' });
    const t0 = Date.now() - STEPS * 1000;
    runs.record('ppo-a', Array.from({ length: STEPS }, (_, i) => ({
      type: 'metrics' as const, step: i + 1, time: t0 + i * 1000,
      metrics: { 'objective/kl_coef': 0.05, 'objective/kl': 0.01 * (i + 1) + 0.02 * Math.sin(i), 'objective/scores': Math.sin(i / 9) + i / 100, 'loss/value_avg': 1 / (i + 1), 'policy/entropy_avg': 2 - i / 200 },
    })));
    runs.record('ppo-a', Array.from({ length: STEPS / 10 }, (_, k) => ({
      type: 'samples' as const, step: 10 * (k + 1), time: t0 + 10 * k * 1000, rows: [{ prompt: 'The sea', completion: ` wave ${10 * (k + 1)}`, score: k }, { prompt: 'A whale', completion: ` spout ${10 * (k + 1)}`, score: -k }],
    })));
  });

  const fig = (m: string) => page.locator(`figure[data-metric="${m}"]`);
  const attr = (m: string, a: string) => fig(m).getAttribute(a);
  const open = async () => {
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await until(async () => (await attr('objective/kl', 'data-points')) === String(STEPS) && Number(await attr('objective/kl', 'data-drawn')) > 0, 'the charts drawn');
  };
  /** The plot area of a chart's canvas in page pixels (inside the axes): from the canvas box, less generous margins. */
  const plot = async (m: string) => {
    const b = (await fig(m).locator('canvas').boundingBox())!;
    return { left: b.x + 60, right: b.x + b.width - 10, mid: b.y + b.height / 2, box: b };
  };

  it('draws a constant series flat under any smoothing, and the others with their spread', async () => {
    await open();
    expect(await attr('objective/kl_coef', 'data-y-range')).to.equal('0.05,0.05');
    for (const s of ['0.95', '0.3']) {
      await page.fill('#smoothing', s);
      await page.dispatchEvent('#smoothing', 'input');
      await until(async () => (await page.textContent('.controls label span')) === Number(s).toFixed(2), 'the slider');
      await page.waitForTimeout(300); // one redraw (at most every 150 ms)
      expect(await attr('objective/kl_coef', 'data-y-range'), `smoothing ${s}`).to.equal('0.05,0.05');
    }
    const [lo, hi] = (await attr('objective/kl', 'data-y-range'))!.split(',').map(Number);
    expect(hi - lo).to.be.above(1);
    expect(errors).to.deep.equal([]);
  });

  it('zooms by dragging across a chart, redrawn from every point in the span; a double click and the reset button undo it', async () => {
    await open();
    const p = await plot('objective/kl');
    await page.mouse.move(p.left + (p.right - p.left) * 0.3, p.mid);
    await page.mouse.down();
    await page.mouse.move(p.left + (p.right - p.left) * 0.45, p.mid, { steps: 4 });
    await page.mouse.move(p.left + (p.right - p.left) * 0.6, p.mid, { steps: 4 });
    await page.mouse.up();
    await until(async () => (await attr('objective/kl', 'data-zoom')) !== null, 'the zoom');
    const [a, b] = (await attr('objective/kl', 'data-zoom'))!.split(',').map(Number);
    expect(a).to.be.within(40, 110);
    expect(b).to.be.within(a + 20, 160);
    // the span's every point is drawn (raw and smoothed lines), plus one either side
    const inSpan = Math.floor(b) - Math.ceil(a) + 1;
    expect(Number(await attr('objective/kl', 'data-drawn'))).to.be.within(2 * inSpan, 2 * (inSpan + 2));
    expect(await attr('objective/kl', 'data-points')).to.equal(String(STEPS)); // the page's copy is whole
    expect(await attr('objective/scores', 'data-zoom')).to.equal(null); // other charts keep their range
    const reset = fig('objective/kl').locator('button.reset-zoom');
    expect(await reset.isVisible()).to.equal(true);
    await page.mouse.dblclick(p.left + 50, p.mid);
    await until(async () => (await attr('objective/kl', 'data-zoom')) === null, 'the double click to reset');
    expect(await reset.isVisible()).to.equal(false);
    // a short drag is a click, not a zoom
    await page.mouse.move(p.left + 100, p.mid);
    await page.mouse.down();
    await page.mouse.move(p.left + 102, p.mid);
    await page.mouse.up();
    await until(async () => (await page.getAttribute('#samples-mode', 'data-mode')) === 'step', "the click opening that step's samples");
    expect(await attr('objective/kl', 'data-zoom')).to.equal(null);
    await fig('objective/kl').scrollIntoViewIfNeeded(); // the click scrolled to the samples
    const q = await plot('objective/kl');
    await page.mouse.move(q.left + 40, q.mid);
    await page.mouse.down();
    await page.mouse.move(q.left + 200, q.mid, { steps: 5 });
    await page.mouse.up();
    await until(async () => (await attr('objective/kl', 'data-zoom')) !== null, 'a second zoom');
    await reset.click();
    await until(async () => (await attr('objective/kl', 'data-zoom')) === null, 'the reset button');
    expect(errors).to.deep.equal([]);
  });

  it("sets one chart's log scale with its button; the global checkbox sets all of them", async () => {
    await open();
    const logButton = fig('loss/value_avg').locator('button.log');
    await logButton.click();
    await until(async () => (await attr('loss/value_avg', 'data-scale')) === 'logarithmic', 'the log scale');
    expect(await logButton.getAttribute('aria-pressed')).to.equal('true');
    expect(await attr('objective/kl', 'data-scale')).to.equal('linear');
    await page.check('#log-scale');
    await until(async () => (await attr('objective/kl', 'data-scale')) === 'logarithmic', 'every chart on a log scale');
    expect(await attr('loss/value_avg', 'data-scale')).to.equal('logarithmic');
    await logButton.click(); // this one back to linear, the rest stay
    await until(async () => (await attr('loss/value_avg', 'data-scale')) === 'linear', 'the one chart back');
    expect(await attr('objective/scores', 'data-scale')).to.equal('logarithmic');
    await page.uncheck('#log-scale');
    await until(async () => (await attr('objective/scores', 'data-scale')) === 'linear', 'all linear');
    expect(await attr('loss/value_avg', 'data-scale')).to.equal('linear');
    expect(errors).to.deep.equal([]);
  });

  it('shows a tooltip with the step, its time, and the smoothed and raw values; a click on a point opens that step\'s samples', async () => {
    await open();
    const p = await plot('objective/scores');
    const x = p.left + (p.right - p.left) * 0.5;
    await page.mouse.move(x, p.mid);
    const tip = fig('objective/scores').locator('.chart-tip');
    await until(async () => tip.isVisible(), 'the tooltip');
    const title = (await tip.locator('.tip-title').textContent())!;
    const m = /^step (\d+) · \d\d:\d\d:\d\d \(\+(\d+):(\d\d)\)$/.exec(title);
    expect(m, title).to.not.equal(null);
    const step = Number(m![1]);
    expect(step).to.be.within(80, 120);
    expect(Number(m![2]) * 60 + Number(m![3])).to.equal(step - 1); // a second per step since the first
    const row = (await tip.locator('.tip-row').textContent())!;
    const raw = Math.sin((step - 1) / 9) + (step - 1) / 100;
    const r = /^ppo-a: (-?[\d.]+) smoothed · (-?[\d.]+) raw$/.exec(row);
    expect(r, row).to.not.equal(null);
    expect(Number(r![2])).to.be.closeTo(raw, 1e-5);
    expect(Number(r![1])).to.not.equal(Number(r![2])); // smoothing 0.6 by default
    // the samples of that step: the latest step with samples at or before it
    await page.mouse.click(x, p.mid);
    const want = Math.floor(step / 10) * 10;
    await until(async () => (await page.getAttribute('#samples-mode', 'data-mode')) === 'step', 'the samples of the clicked step');
    expect(await page.textContent('#samples-mode')).to.include(`step ${want}`);
    const steps = await page.$$eval('table.samples tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    expect(steps).to.deep.equal([String(want), String(want)]);
    await page.click('#samples-latest');
    await until(async () => (await page.getAttribute('#samples-mode', 'data-mode')) === 'latest', 'back to the latest');
    expect(errors).to.deep.equal([]);
  });

  it('searches charts by metric name and pins charts to the top, kept across a reload', async () => {
    await open();
    await page.fill('#metric-search', 'kl');
    await until(async () => (await page.textContent('#metric-count')) === '2 charts', 'the search');
    const visible = () => page.$$eval('figure.chart', (fs) => fs.filter((f) => !(f as HTMLElement).hidden).map((f) => f.getAttribute('data-metric')));
    expect(await visible()).to.deep.equal(['objective/kl', 'objective/kl_coef']);
    const groupsShown = () => page.$$eval('.chart-group', (gs) => gs.filter((g) => !(g as HTMLElement).hidden).map((g) => g.getAttribute('data-group')));
    expect(await groupsShown()).to.deep.equal(['objective']);
    await page.fill('#metric-search', '^(loss|policy)/');
    await until(async () => (await page.textContent('#metric-count')) === '2 charts', 'a regex');
    expect(await visible()).to.deep.equal(['policy/entropy_avg', 'loss/value_avg']);
    await page.fill('#metric-search', '');
    await until(async () => (await visible()).length === 5, 'all charts again');
    await fig('loss/value_avg').locator('button.pin').click();
    const groups = () => page.$$eval('.chart-group', (gs) => gs.map((g) => [g.getAttribute('data-group'), [...g.querySelectorAll('figure')].map((f) => f.getAttribute('data-metric'))]));
    await until(async () => (await groups())[0][0] === 'pinned', 'the pinned group');
    expect((await groups())[0]).to.deep.equal(['pinned', ['loss/value_avg']]);
    expect((await groups()).map((g) => g[0])).to.deep.equal(['pinned', 'objective', 'policy']); // loss had only that chart
    expect(await fig('loss/value_avg').locator('button.pin').getAttribute('aria-pressed')).to.equal('true');
    await page.reload();
    await until(async () => (await groups())[0]?.[0] === 'pinned', 'the pin after a reload');
    await fig('loss/value_avg').locator('button.pin').click();
    await until(async () => (await groups())[0][0] === 'objective', 'unpinned');
    expect(errors).to.deep.equal([]);
  });
});
