// The dashboard's run panels in chromium (Debian's, via playwright-core): names, tags and notes saved from
// the page; the run table's filter and sort; the legend and the config diff of the shown runs; alerts and
// system figures; the samples' search, step filter and one prompt followed across steps; a double-clicked
// launch starting one run; a resume of a run without a checkpoint saying so.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { PageRig, pageHooks } from '../browser.js';
import { RunsStore } from '../../data/runs-store.js';
import { startServer } from '../../server/app.js';
import { fakeCommand, until } from '../server/run-helpers.js';

describe('client: dashboard run panels in chromium', function () {
  this.timeout(120_000);
  let rig: PageRig;
  let page: Page;
  let runs: RunsStore;
  let errors: string[];

  pageHooks(async (r) => {
    rig = r;
    page = r.page;
    await page.setViewportSize({ width: 1400, height: 1000 });
    runs = new RunsStore(r.store.db);
    errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
  });

  const t0 = Date.now() - 1_000_000;
  const metrics = (id: string, n: number, f: (step: number) => Record<string, number>) =>
    runs.record(id, Array.from({ length: n }, (_, i) => ({ type: 'metrics' as const, step: i + 1, time: t0 + (i + 1) * 1000, metrics: f(i + 1) })));
  const open = async () => {
    const rita = rig.store.addUser('rita', 'researcher');
    await page.goto(`${rig.srv.url}/dashboard#token=${rita}`);
    await page.waitForSelector('table.runs tbody tr');
    return rita;
  };
  const tableIds = () => page.$$eval('table.runs tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-run')));
  const created = (s: number) => new Date(t0 + s * 1000).toISOString();

  it('saves a name, tags and notes from the page; filters and sorts the run table; a legend and config diff of the shown runs', async () => {
    for (const [id, kind, lr, at] of [['ppo-a', 'ppo', 1e-4, 1], ['ppo-b', 'ppo', 3e-4, 2], ['grpo-c', 'grpo', 3e-4, 3]] as const) {
      runs.create({ id, kind, config: { lr, steps: 10, out: `/runs/${id}`, lora: { rank: id === 'ppo-b' ? 16 : 8 } }, origin: 'cli', state: 'done' });
      rig.store.db.prepare('UPDATE runs SET created_at = ? WHERE id = ?').run(created(at), id);
      metrics(id, 5, (s) => ({ 'objective/kl': s * (id === 'ppo-a' ? 1 : 2) }));
    }
    await open();
    expect(await tableIds()).to.deep.equal(['grpo-c', 'ppo-b', 'ppo-a']); // newest first
    await page.click('tr[data-run="ppo-a"] td:nth-child(2) a');
    await until(async () => (await page.textContent('#details h2')) === 'ppo-a', 'the run focused');
    await page.fill('#run-name', 'baseline');
    await page.fill('#run-tags', 'sweep, lr-1e-4,');
    await page.fill('#run-notes', 'the first <b>try</b>');
    await page.click('#meta-save');
    await until(async () => (await page.textContent('#meta-note')) === 'saved', 'saved');
    // the panel re-renders after the save's answer; on a loaded machine that can trail the note by a moment
    await until(async () => (await page.textContent('#details h2')) === 'baseline', 'the panel renamed');
    expect(await page.inputValue('#run-tags')).to.equal('sweep, lr-1e-4');
    expect(await page.$$eval('tr[data-run="ppo-a"] .tag', (ts) => ts.map((t) => t.textContent))).to.deep.equal(['sweep', 'lr-1e-4']);
    expect(runs.get('ppo-a')).to.include({ name: 'baseline', notes: 'the first <b>try</b>' });
    await page.reload(); // kept by the server
    await page.waitForSelector('tr[data-run="ppo-a"] .tag');
    expect(await page.textContent('tr[data-run="ppo-a"] td:nth-child(2)')).to.equal('baseline');
    // filter
    await page.fill('#run-filter', 'tag:sweep');
    await until(async () => (await tableIds()).join() === 'ppo-a', 'the tag filter');
    expect(await page.textContent('#run-count')).to.equal('1 of 3 runs');
    await page.fill('#run-filter', 'kind:ppo');
    await until(async () => (await tableIds()).join() === 'ppo-b,ppo-a', 'the kind filter');
    await page.fill('#run-filter', '-base');
    await until(async () => (await tableIds()).join() === 'grpo-c,ppo-b', 'a negated word');
    await page.fill('#run-filter', '');
    // sort by name: baseline, grpo-c, ppo-b; again for the reverse
    await page.click('button[data-sort="name"]');
    await until(async () => (await tableIds()).join() === 'ppo-a,grpo-c,ppo-b', 'sorted by name');
    expect(await page.getAttribute('th:has(button[data-sort="name"])', 'aria-sort')).to.equal('ascending');
    await page.click('button[data-sort="name"]');
    await until(async () => (await tableIds()).join() === 'ppo-b,grpo-c,ppo-a', 'reversed');
    // the focused run (the newest) is on the charts; two more: a legend in their colours, and the config diff
    await page.check('tr[data-run="ppo-a"] input.overlay');
    await page.check('tr[data-run="ppo-b"] input.overlay');
    const legend = () => page.$$eval('#legend li', (lis) => lis.map((li) => [li.getAttribute('data-run'), li.querySelector('.legend-name')!.textContent, (li.querySelector('.swatch') as HTMLElement).style.background]));
    await until(async () => (await legend()).length === 3, 'three runs in the legend');
    expect((await legend()).map((l) => l.slice(0, 2))).to.deep.equal([['grpo-c', 'grpo-c'], ['ppo-a', 'baseline'], ['ppo-b', 'ppo-b']]);
    expect(new Set((await legend()).map((l) => l[2])).size).to.equal(3);
    const diff = () => page.$$eval('#config-diff tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    await until(async () => (await diff()).length === 3, 'the config diff');
    expect(await diff()).to.deep.equal([['field', 'grpo-c', 'baseline', 'ppo-b'], ['lora.rank', '8', '8', '16'], ['lr', '0.0003', '0.0001', '0.0003']]); // out is left out
    await page.click('#legend li[data-run="grpo-c"] button.legend-hide');
    await until(async () => (await legend()).length === 2 && !(await page.isChecked('tr[data-run="grpo-c"] input.overlay')), 'grpo-c taken off');
    await until(async () => (await diff())[0]?.length === 3, 'two runs compared');
    expect(await diff()).to.deep.equal([['field', 'baseline', 'ppo-b'], ['lora.rank', '8', '16'], ['lr', '0.0001', '0.0003']]);
    await page.uncheck('tr[data-run="ppo-b"] input.overlay');
    await until(async () => !(await page.isVisible('#config-diff')), 'no diff for one run');
    expect(await page.locator('#details b').count()).to.equal(0); // the notes are text
    expect(errors).to.deep.equal([]);
  });

  it('raises alerts (KL, entropy collapse, reward hacking, a NaN stop) and shows system figures per run', async () => {
    runs.create({ id: 'hack', kind: 'ppo', config: {}, origin: 'cli', state: 'done' });
    metrics('hack', 30, (s) => ({
      'objective/kl': s / 2, 'objective/entropy': 3 * Math.exp(-s / 4), 'objective/scores': s / 10, 'objective/gold_scores': 1 - s / 20,
      'sys/cpu_percent': 150, 'sys/rss_mb': 420.4, 'perf/rollout_tokens_per_sec': 1234,
    }));
    runs.create({ id: 'nan', kind: 'grpo', config: {}, origin: 'cli', state: 'failed' });
    runs.setState('nan', 'failed', { error: 'step 7: loss is NaN; training stopped, the last good checkpoint is /r/step-5' });
    metrics('nan', 6, (s) => ({ kl: 0.1 * s, reward: 1 }));
    await open();
    await page.check('tr[data-run="hack"] input.overlay');
    await page.check('tr[data-run="nan"] input.overlay');
    const alerts = () => page.$$eval('#alerts li', (lis) => lis.map((li) => [li.getAttribute('data-run'), li.getAttribute('data-kind'), li.textContent]));
    await until(async () => (await alerts()).length === 4, 'four alerts');
    const got = await alerts();
    expect(got.map((a) => a.slice(0, 2))).to.have.deep.members([['hack', 'kl'], ['hack', 'entropy-collapse'], ['hack', 'reward-hacking'], ['nan', 'nan']]);
    expect(got.find((a) => a[1] === 'kl')![2]).to.equal('hack: objective/kl is 15 at step 30, above 10 (above it since step 21)');
    expect(got.find((a) => a[1] === 'nan')![2]).to.equal('nan: stopped on a non-finite value: step 7: loss is NaN; training stopped, the last good checkpoint is /r/step-5');
    expect(got.find((a) => a[1] === 'reward-hacking')![2]).to.match(/objective\/scores rose .* while objective\/gold_scores fell .* over steps 11–30/);
    expect(await page.getAttribute('#alerts', 'aria-live')).to.equal('polite');
    await page.fill('#kl-threshold', '20');
    await page.dispatchEvent('#kl-threshold', 'change');
    await until(async () => (await alerts()).length === 3, 'the KL alert gone above a higher threshold');
    expect(await page.textContent('#legend .sys[data-run="hack"]')).to.equal('CPU 150% · RSS 420 MB · 1,234 tokens/s');
    expect(await page.textContent('#legend .sys[data-run="nan"]')).to.equal('no system figures');
    expect(await page.$$eval('.chart-group[data-group="sys"] figure', (fs) => fs.map((f) => f.getAttribute('data-metric')))).to.deep.equal(['sys/cpu_percent', 'sys/rss_mb']);
    expect(errors).to.deep.equal([]);
  });

  it('searches the samples, filters them by step, and follows one prompt across every step it was sampled at', async () => {
    runs.create({ id: 's', kind: 'ppo', config: {}, origin: 'cli', state: 'done' });
    metrics('s', 30, (s) => ({ 'objective/scores': s }));
    runs.record('s', Array.from({ length: 15 }, (_, k) => ({
      type: 'samples' as const, step: 2 * (k + 1), time: t0, rows: [{ prompt: 'The sea', completion: ` wave ${2 * (k + 1)}`, score: k }, { prompt: 'A <i>whale</i>', completion: ` spout ${2 * (k + 1)}`, score: -k }],
    })));
    await open();
    const rows = () => page.$$eval('table.samples tbody tr', (trs) => trs.map((tr) => [...tr.children].slice(0, 3).map((c) => c.textContent)));
    await until(async () => (await rows()).length === 20, 'the latest 10 steps of samples');
    expect((await rows())[0]).to.deep.equal(['30', 'The sea', ' wave 30']); // the follow button adds no text to the cell
    await page.fill('#sample-search', 'WHALE spout');
    await until(async () => (await rows()).length === 10, 'the search');
    expect((await rows()).every((r) => r[1] === 'A <i>whale</i>')).to.equal(true);
    expect(await page.locator('table.samples i').count()).to.equal(0);
    await page.selectOption('#sample-step', '24');
    await until(async () => (await rows()).length === 1, 'one step');
    expect((await rows())[0]).to.deep.equal(['24', 'A <i>whale</i>', ' spout 24']);
    expect(await page.textContent('#samples-mode')).to.match(/^1 of 20 rows · the latest 10 steps with samples/);
    await page.fill('#sample-search', '');
    await page.selectOption('#sample-step', '');
    await page.click('table.samples tbody tr:first-child button.follow');
    await until(async () => (await page.getAttribute('#samples-mode', 'data-mode')) === 'prompt', 'following the prompt');
    const followed = await rows();
    expect(followed).to.have.length(15); // every step, older ones than the page had loaded too
    expect(followed.map((r) => r[0])).to.deep.equal(Array.from({ length: 15 }, (_, i) => String(30 - 2 * i)));
    expect(followed.every((r) => r[1] === 'The sea')).to.equal(true);
    expect(await page.textContent('#samples-mode')).to.include('one prompt across 15 steps');
    await page.click('#samples-latest');
    await until(async () => (await rows()).length === 20, 'back to the latest');
    expect(errors).to.deep.equal([]);
  });

  it('starts one run for a double-clicked launch; a resume of a run without a checkpoint says it starts again from step 0', async () => {
    const { store } = rig;
    await rig.srv.close();
    rig.srv = await startServer({ store, port: 0, runs: { command: fakeCommand } });
    await page.goto(`${rig.srv.url}/dashboard#token=${store.addUser('rita', 'researcher')}`);
    await page.waitForSelector('#launch-config');
    await page.selectOption('#launch-kind', 'ppo');
    await page.fill('#launch-config', JSON.stringify({ steps: 3, crashAt: 2 }));
    // a slow network: each launch request takes 400 ms to leave, so the clicks below all land while one is out
    await page.route('**/api/runs', (route) => (route.request().method() === 'POST' ? void setTimeout(() => void route.continue(), 400) : void route.continue()));
    await page.dblclick('#launch');
    await page.evaluate(() => {
      const b = document.querySelector<HTMLButtonElement>('#launch')!;
      b.click(); // and twice more at once, as an impatient user's Enter key might
      b.click();
    });
    await page.waitForFunction(() => document.querySelector('#launch-note')?.textContent?.startsWith('started'));
    await page.waitForTimeout(500);
    expect(runs.list()).to.have.length(1);
    expect(await page.isDisabled('#launch')).to.equal(false); // ready for the next one
    const id = runs.list()[0].id;
    await page.waitForFunction(() => document.querySelector('#run-state')?.textContent === 'failed');
    expect(await page.textContent('#resume')).to.equal('Start again (no checkpoint)');
    expect(await page.textContent('#resume-note')).to.equal('This run has no checkpoint: resuming starts it again from step 0.');
    await page.click('#resume');
    await until(async () => (await page.textContent('#launch-note')) === 'resume requested: it has no checkpoint, so it starts again from step 0', 'the resume note');
    await page.waitForFunction(() => document.querySelector('#run-state')?.textContent === 'failed'); // the fake crashes at step 2 again
    await until(async () => (await page.textContent('#log'))!.includes('resume (no checkpoint: it starts again from step 0)'), 'the log line');
    // with a checkpoint (out/latest, as publishCheckpoint leaves it) the button resumes from it
    writeFileSync(join(runs.get(id)!.dir!, 'latest'), 'step-0000001\n');
    await page.click(`tr[data-run="${id}"] td:nth-child(2) a`);
    await until(async () => (await page.textContent('#resume')) === 'Resume', 'the resume button');
    expect(await page.textContent('#resume-note')).to.equal('Resume continues from its checkpoint step-0000001.');
    expect(errors).to.deep.equal([]);
  });
});
