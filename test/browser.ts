// One way to start the browser for the UI tests: Debian's chromium (CHROMIUM overrides the path) driven by
// playwright-core, headless, with the flags that keep it quiet and offline. launch() gives it a fresh
// temporary profile (its own --user-data-dir) every time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { Store } from '../data/store.js';
import { RunningServer, startServer } from '../server/app.js';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Where a UI test writes its screenshot: docs/NAME (the README's pictures) with RLHF_UPDATE_SCREENSHOTS=1,
 * else a temporary file, so that running the tests leaves the working tree as it was.
 */
export function screenshotPath(name: string): string {
  if (process.env.RLHF_UPDATE_SCREENSHOTS === '1') return join(import.meta.dirname, '..', 'docs', name);
  return join(mkdtempSync(join(tmpdir(), 'rlhf-shot-')), name);
}

/** What a page test works with: a fresh store, a server on it and a page, for each test. */
export interface PageRig {
  store: Store;
  srv: RunningServer;
  page: Page;
}

/**
 * The mocha hooks every page test has: one chromium for the file; per test a store in a temp folder, a
 * server on it and a new page, all closed after. `set` receives each test's rig before the test runs.
 */
export function pageHooks(set: (rig: PageRig) => void | Promise<void>): void {
  let browser: Browser;
  let rig: PageRig | null = null;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => browser?.close());
  beforeEach(async () => {
    const store = new Store(join(mkdtempSync(join(tmpdir(), 'rlhf-page-')), 'rlhf.db'));
    rig = { store, srv: await startServer({ store, port: 0 }), page: await browser.newPage() };
    await set(rig);
  });
  afterEach(async () => {
    if (!rig) return;
    await rig.page.close();
    await rig.srv.close();
    rig.store.close();
    rig = null;
  });
}
