// Shared test setup: one backend per mocha process (RLHF_TEST_BACKEND, default wasm), temp folders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendName, currentBackend, initBackend } from '../backend/backend.js';
import { GPTConfig, validateConfig } from '../lm/config.js';

/** Select the test backend (RLHF_TEST_BACKEND, default wasm) unless it is already the current one. */
export async function useBackend(): Promise<void> {
  const want = (process.env.RLHF_TEST_BACKEND ?? 'wasm') as BackendName;
  if (currentBackend()?.name !== want) await initBackend(want, { quiet: true });
}

const dirs: string[] = [];
export function tempDir(prefix = 'rlhf-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A tiny GPT-2 config for fast tests. */
export function tinyConfig(over: Partial<GPTConfig> = {}): GPTConfig {
  return validateConfig({ vocabSize: 37, nPositions: 24, nEmbd: 16, nLayer: 2, nHead: 4, ...over });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

