// Shared by the runs tests: the fake child's command line, a tiny real SFT config, and waiting for a condition.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

const ROOT = join(import.meta.dirname, '..', '..');
const TOKENIZER = join(ROOT, 'data', 'models', 'starter', 'tokenizer.json');
const TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world. ';

/** A tiny SFT config: a fresh 1-layer model on a few sentences, a checkpoint every 2 steps (`dir` holds the store). */
export function tinySftConfig(dir: string, steps: number): Record<string, unknown> {
  const data = join(dir, 'data', 'text.txt'); // the data folder beside the store: inside the server's workspace
  mkdirSync(dirname(data), { recursive: true });
  if (!existsSync(data)) writeFileSync(data, TEXT.repeat(40));
  return {
    init: { tokenizer: TOKENIZER, nEmbd: 16, nLayer: 1, nHead: 2, nPositions: 32 },
    data: [data], steps, batchSize: 2, seqLen: 16, warmupSteps: 0, evalEvery: 2, evalBatches: 1, saveEvery: 2, heldOut: 0.1,
  };
}
