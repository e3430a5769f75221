// Runs the native addon's fuzz cases (native-fuzz-cases.ts) or its worker_threads check in a process of
// its own, for native-fuzz.test.ts: a segfault kills only this process, and the parent names the case.
//   node --import tsx test/backend/native-fuzz-child.ts <out-file> cases <from>
//   node --import tsx test/backend/native-fuzz-child.ts <out-file> random <seed> <count> <from>
//   node --import tsx test/backend/native-fuzz-child.ts <out-file> workers
// Appends `N <cases>`, then per case `S <i>` before the call and `R <json>` after it; `W <json>` for workers.
// A file, not stdout: a synchronous write to a full pipe throws EAGAIN, and each line must be out before
// the next call, which may crash.
import { openSync, writeSync } from 'node:fs';
import { loadNativeAddon, nativeAddonFile } from '../../backend/native-addon.js';
import { Addon, Guards } from './native-fuzz-args.js';
import { Case, randomCases, systematicCases } from './native-fuzz-cases.js';
import { runWorkers } from './native-fuzz-workers.js';

export interface CaseResult {
  i: number;
  name: string;
  expect: Case['expect'];
  pattern?: string;
  anyError?: boolean;
  threw: boolean;
  error?: string;
  message?: string;
  guards: boolean;
  setup?: string;
}

const [outFile, mode, ...rest] = process.argv.slice(2);
const fd = openSync(outFile, 'a');
const say = (line: string) => writeSync(fd, `${line}\n`);

function run(addon: Addon, c: Case, i: number): CaseResult {
  const base = { i, name: c.name, expect: c.expect, pattern: c.message?.source, anyError: c.anyError };
  const g = new Guards();
  let args: unknown[];
  try {
    args = c.make(g);
  } catch (e) {
    return { ...base, threw: false, guards: true, setup: String(e) };
  }
  const fn = addon[c.binding];
  let threw = false;
  let error: string | undefined;
  let message: string | undefined;
  try {
    const out = fn(...args);
    if (out instanceof ArrayBuffer) addon.releaseBuffer(out);
  } catch (e) {
    threw = true;
    error = e instanceof Error ? e.constructor.name : typeof e;
    message = e instanceof Error ? e.message : String(e);
  } finally {
    c.restore?.();
  }
  return { ...base, threw, error, message, guards: g.intact() };
}

const r = loadNativeAddon();
if (!r.ok) {
  writeSync(2, `the native addon is not available (${r.why})\n`);
  process.exit(3);
}
const addon = r.addon as unknown as Addon;
if (mode === 'workers') {
  say(`W ${JSON.stringify(await runWorkers(addon, nativeAddonFile()))}`);
} else {
  const cases = mode === 'random' ? randomCases(addon, Number(rest[0]), Number(rest[1])) : systematicCases(addon);
  const from = Number(mode === 'random' ? rest[2] : rest[0]) || 0;
  say(`N ${cases.length}`);
  for (let i = from; i < cases.length; i++) {
    say(`S ${i}`);
    say(`R ${JSON.stringify(run(addon, cases[i], i))}`);
  }
}
