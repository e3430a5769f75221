// Shared by the runs tests: the fake child's command line, and waiting for a condition.
import { join } from 'node:path';

export const FAKE = join(import.meta.dirname, 'fixtures', 'fake-run.ts');
export const fakeCommand = (): string[] => [process.execPath, '--import', 'tsx', FAKE];

/** Wait (polling) until fn returns something truthy; fails with `what` after `ms` (a minute). */
export async function until<T>(fn: () => T | Promise<T>, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}
