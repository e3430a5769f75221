// What a run's child process gets from the server, and what it may use: an environment built from an
// allow-list (never the server's whole environment, which may hold credentials or settings that change
// how node loads code, such as NODE_OPTIONS), and a bounded measure of the disk its folder takes.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Variables a child inherits: where programs are, the user's home and locale, and our own settings. */
const KEEP = (k: string): boolean => k === 'PATH' || k === 'HOME' || k === 'LANG' || k === 'TZ' || k.startsWith('LC_') || k.startsWith('RLHF_');

export function childEnv(from: NodeJS.ProcessEnv, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined && KEEP(k)) env[k] = v;
  return { ...env, ...extra };
}

/**
 * Bytes under a folder (files only, symlinks not followed), counting until `stopAt` is passed: a check
 * against a quota never walks more of a huge folder than it must. A missing folder is 0.
 */
export function folderBytes(dir: string, stopAt = Infinity): number {
  let total = 0;
  const stack = [dir];
  while (stack.length && total <= stopAt) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) stack.push(p);
      else total += st.size;
    }
  }
  return total;
}

/** Measure `dir` every `everyMs`; call `over` once when it passes `limit` bytes. Returns the stop function. */
export function watchDisk(dir: string, limit: number, everyMs: number, over: () => void): () => void {
  let fired = false;
  const t = setInterval(() => {
    if (fired || folderBytes(dir, limit) <= limit) return;
    fired = true;
    over();
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
