// One way to start the browser for the UI tests: Debian's chromium (CHROMIUM overrides the path) driven by
// playwright-core, headless, with the flags that keep it quiet and offline. launch() gives it a fresh
// temporary profile (its own --user-data-dir) every time.
import { Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
