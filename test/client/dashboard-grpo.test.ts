// GRPO and RLOO on the run dashboard in chromium (Debian's, via playwright-core): a researcher launches a
// tiny real GRPO run from the page (the starter model on the include-word task, its reward module in a
// registered folder) and sees TRL's groups of charts fill and the samples table gain the reward's column
// and the column it logged, live. A stored run with every GRPO metric shows each in its group, and a
// logged column that looks like markup stays text.
import { expect } from 'chai';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, Page } from 'playwright-core';
import { launchChromium } from '../browser.js';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { until } from '../server/run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('client: GRPO runs on the dashboard in chromium', function () {
  this.timeout(300_000);
  let browser: Browser;
  let dir: string;
  let task: string;
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
    task = join(dir, 'data', 'include-word');
    mkdirSync(task, { recursive: true });
    for (const f of ['train.jsonl', 'reward.ts']) copyFileSync(join(ROOT, 'data', 'tasks', 'include-word', f), join(task, f));
    store = new Store(join(dir, 'rlhf.db'));
    srv = await startServer({ store, port: 0, runs: { rewardModules: [task] } });
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
  const groups = () => page.evaluate(() => [...document.querySelectorAll('.chart-group summary')].map((e) => e.textContent));
  const inGroup = (g: string) => page.evaluate((x) => [...document.querySelectorAll(`.chart-group[data-group="${x}"] figure`)].map((f) => f.getAttribute('data-metric')), g);
  const sampleHead = () => page.evaluate(() => [...document.querySelectorAll('table.samples thead th')].map((e) => e.textContent));
  const sampleRows = () => page.evaluate(() => [...document.querySelectorAll('table.samples tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent)));

  it('a researcher launches a tiny GRPO run from the page: its charts fill in TRL\'s groups and its samples show the reward columns', async () => {
    const rita = store.addUser('rita', 'researcher');
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await page.waitForSelector('#launch-config');
    expect(await page.$$eval('#launch-kind option', (os) => os.map((o) => (o as HTMLOptionElement).value))).to.include.members(['grpo', 'rloo']);
    await page.selectOption('#launch-kind', 'grpo');
    expect(await page.locator('#launch-form [data-field="numGenerations"]').count()).to.equal(1); // the form is GRPO's schema
    expect(JSON.parse(await page.inputValue('#launch-config')).reward).to.deep.equal(['sentiment']); // the template: a list of rewards
    const config = {
      model: join(ROOT, 'data', 'models', 'starter'), prompts: join(task, 'train.jsonl'), reward: [join(task, 'reward.ts')],
      steps: 3, promptsPerStep: 2, numGenerations: 2, maxCompletionLength: 8, lr: 1e-4, sampleEvery: 1, sampleRows: 2, saveEvery: 3,
    };
    // a refusal shows its message and starts nothing
    await page.fill('#launch-config', JSON.stringify({ ...config, reward: [`${join(task, 'reward.ts')}#9`] }));
    await page.click('#launch');
    await page.waitForFunction(() => document.querySelector('#launch-note')?.textContent?.startsWith('error:'));
    expect(await page.textContent('#launch-note')).to.match(/body\.config\.reward\[0\]: the export named after '#' must be a JavaScript identifier/);
    await page.fill('#launch-config', JSON.stringify(config));
    await page.click('#launch');
    await page.waitForFunction(() => document.querySelector('#launch-note')?.textContent?.startsWith('started'));
    await until(async () => {
      const state = await page.textContent('#run-state');
      if (state === 'failed') throw new Error(`the run failed: ${await page.textContent('#run-error')}`);
      return state === 'done' && (await points('reward')) === 3 && (await sampleRows()).length === 6;
    }, 'the GRPO run to finish on the page', 240_000);
    const shown = await groups();
    expect(shown.slice(0, 5)).to.deep.equal(['reward', 'completions', 'clip_ratio', 'policy', 'loss']);
    expect(shown).to.include('time');
    expect((await inGroup('reward')).slice(0, 3)).to.deep.equal(['reward', 'reward_std', 'frac_reward_zero_std']);
    expect(await inGroup('reward')).to.include.members(['rewards/include-word/mean', 'rewards/include-word/std']);
    expect(await inGroup('loss')).to.deep.equal(['loss', 'grad_norm', 'lr']);
    expect(await inGroup('time')).to.include.members(['num_tokens', 'step_time', 'time/rollout']);
    for (const m of ['rewards/include-word/mean', 'completions/mean_length', 'clip_ratio/region_mean', 'entropy', 'num_tokens']) expect(await points(m), m).to.equal(3);
    // the samples arrived over the socket, with the reward's own column and the word it logged
    expect(await sampleHead()).to.deep.equal(['step', 'prompt', 'completion', 'reward', 'gold', 'include-word', 'word']);
    for (const row of await sampleRows()) {
      expect(row[5]).to.be.oneOf(['0', '1']);
      expect(row[1]).to.include(`Use the word "${row[6]}".`);
    }
    expect(errors).to.deep.equal([]);
  });

  it("shows a stored GRPO run's every metric in its group, and logged columns that look like markup as text", async () => {
    const rita = store.addUser('rita', 'researcher');
    const runs = new RunsStore(store.db);
    runs.create({ id: 'grpo-stored', kind: 'grpo', config: { reward: ['format.ts', 'include-word/reward.ts'] }, origin: 'cli', state: 'done' });
    const t0 = Date.now() - 60_000;
    const names = [
      'reward', 'reward_std', 'frac_reward_zero_std', 'rewards/format/mean', 'rewards/format/std', 'rewards/include-word/mean', 'rewards/include-word/std',
      'completions/mean_length', 'completions/min_length', 'completions/max_length', 'completions/mean_terminated_length', 'completions/clipped_ratio',
      'clip_ratio/region_mean', 'clip_ratio/low_mean', 'clip_ratio/low_min', 'clip_ratio/high_mean', 'clip_ratio/high_max', 'kl', 'entropy',
      'loss', 'grad_norm', 'lr', 'num_tokens', 'step_time', 'time/rollout', 'time/reward', 'time/update',
    ];
    runs.record('grpo-stored', Array.from({ length: 5 }, (_, i) => ({ type: 'metrics' as const, step: i + 1, time: t0 + i * 1000, metrics: Object.fromEntries(names.map((n, j) => [n, (i + 1) * (j + 1) / 10])) })));
    runs.record('grpo-stored', [{ type: 'samples', step: 5, time: Date.now(), rows: [
      { prompt: 'Use the word "time".', completion: 'in time', score: 1.5, columns: { format: 0.5, 'include-word': 1, word: '<img src=x onerror="window.__pwned=1">', exact: true } },
      { prompt: 'Use the word "sea".', completion: 'no', score: 0, columns: { format: null, 'include-word': 0, word: 'sea' } },
    ] }]);
    await page.goto(`${srv.url}/dashboard#token=${rita}`);
    await until(async () => (await points('reward')) === 5, 'the run loaded');
    expect(await groups()).to.deep.equal(['reward', 'completions', 'clip_ratio', 'policy', 'loss', 'time']);
    expect(await inGroup('reward')).to.deep.equal(['reward', 'reward_std', 'frac_reward_zero_std', 'rewards/format/mean', 'rewards/format/std', 'rewards/include-word/mean', 'rewards/include-word/std']);
    expect(await inGroup('completions')).to.have.length(5);
    expect(await inGroup('clip_ratio')).to.have.length(5);
    expect(await inGroup('policy')).to.deep.equal(['kl', 'entropy']);
    expect(await inGroup('time')).to.deep.equal(['num_tokens', 'step_time', 'time/reward', 'time/rollout', 'time/update']);
    for (const n of names) expect(await points(n), n).to.equal(5);
    await until(async () => (await sampleRows()).length === 2, 'the samples table');
    expect(await sampleHead()).to.deep.equal(['step', 'prompt', 'completion', 'reward', 'gold', 'format', 'include-word', 'word', 'exact']);
    expect(await sampleRows()).to.deep.equal([
      ['5', 'Use the word "time".', 'in time', '1.500', '–', '0.5', '1', '<img src=x onerror="window.__pwned=1">', 'true'],
      ['5', 'Use the word "sea".', 'no', '0.000', '–', '–', '0', 'sea', '–'], // a null reward and a column the row lacks: a dash
    ]);
    expect(await page.locator('table.samples img').count()).to.equal(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(errors).to.deep.equal([]);
  });
});
