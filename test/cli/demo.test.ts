// The one-command demo, quick mode, watched in a real browser: while PPO trains, the demo's dashboard shows
// the PPO run's charts gaining points (the README's screenshot is taken then); at the end the gold reward
// must be higher than it started, and the loop must have closed (the policy's samples came back labelled).
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, screenshotPath } from '../browser.js';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'rlhf.js');
const SCREENSHOT = screenshotPath('dashboard-demo.png');

describe('cli: rlhf demo --quick, watched on its dashboard', function () {
  this.timeout(15 * 60_000);

  it('labels, trains a reward model, runs PPO with online feedback live on the dashboard, and raises the gold reward', async () => {
    const out = join(tempDir(), 'demo');
    const child = spawn(process.execPath, [BIN, 'demo', '--quick', '--out', out, '--json', '--backend', process.env.RLHF_TEST_BACKEND ?? 'wasm'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const waitFor = async (re: RegExp, what: string): Promise<RegExpMatchArray> => {
      for (;;) {
        const m = stderr.match(re);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`the demo ended before ${what}: ${stderr.slice(-1500)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    // Watch the PPO run on the demo's own dashboard while it trains.
    const [, url] = await waitFor(/watch it at (\S+)/, 'printing its dashboard address');
    await waitFor(/ppo [3-9]\/16/, 'PPO reached step 3');
    const browser = await launchChromium();
    const live: number[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(url);
      await page.click('tr[data-run="demo-ppo"] a');
      const points = () => page.evaluate(() => Number(document.querySelector('figure[data-metric="objective/gold_scores"]')?.getAttribute('data-points') ?? 0));
      while (child.exitCode === null && live.length < 40) {
        const state = await page.textContent('#run-state').catch(() => null);
        if (state !== 'running') break;
        live.push(await points());
        if (new Set(live.filter((p) => p > 0)).size >= 2) break;
        await page.waitForTimeout(500);
      }
      for (const sel of ['details.launch summary', ...['perf', 'time', 'other'].map((g) => `.chart-group[data-group="${g}"] summary`)]) {
        if (await page.locator(sel).count()) await page.click(sel);
      }
      await page.waitForTimeout(400); // one redraw before the picture; not an assertion
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1400, height: 1600 }, fullPage: true });
      expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).to.equal('PNG');
      expect(errors).to.deep.equal([]);
    } finally {
      await browser.close();
    }
    // The gold-reward chart grew while PPO was still running (metrics reached the page live).
    expect(new Set(live.filter((p) => p > 0)).size, JSON.stringify(live)).to.be.at.least(2);

    expect(await exited, stderr.slice(-1500)).to.equal(0);
    const s = JSON.parse(stdout.trim().split('\n').at(-1)!) as { reward: number[]; gold: number[]; kl: number[]; labels: number; rewardModels: number; seconds: number };
    process.stderr.write(`      ${s.seconds.toFixed(0)} s: gold ${s.gold[0].toFixed(3)} -> ${s.gold[1].toFixed(3)}, reward ${s.reward[0].toFixed(3)} -> ${s.reward[1].toFixed(3)}, KL ${s.kl[1].toFixed(2)}, ${s.labels} labels, ${s.rewardModels} reward model(s)\n`);
    expect(s.gold[1]).to.be.above(s.gold[0]);
    expect(s.reward[1]).to.be.above(s.reward[0]);
    expect(s.kl[1]).to.be.above(0).and.below(20);

    const db = new Database(join(out, 'rlhf.db'), { readonly: true });
    try {
      const fromPolicy = db.prepare("SELECT count(*) FROM labels l JOIN tasks t ON t.id = l.task_id WHERE t.source = 'run:demo-ppo'").pluck().get() as number;
      expect(fromPolicy).to.be.above(0);
      expect(s.labels).to.equal(db.prepare('SELECT count(*) FROM labels').pluck().get());
      expect(db.prepare("SELECT id, state FROM runs WHERE id IN ('demo-rm', 'demo-ppo') ORDER BY id").all()).to.deep.equal([{ id: 'demo-ppo', state: 'done' }, { id: 'demo-rm', state: 'done' }]);
      expect(db.prepare("SELECT count(DISTINCT step) FROM metrics WHERE run_id = 'demo-ppo' AND name = 'objective/gold_scores'").pluck().get()).to.equal(16);
    } finally {
      db.close();
    }
  });
});
