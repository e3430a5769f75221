// One way to start the browser for the UI tests: Debian's chromium (CHROMIUM overrides the path) driven by
// playwright-core, headless, with the flags that keep it quiet and offline. launch() gives it a fresh
// temporary profile (its own --user-data-dir) every time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';

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
