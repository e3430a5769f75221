// Hostile calls to every binding of the native addon, run in child processes (native-fuzz-child.ts) so
// that a segfault fails a test instead of killing mocha: sizes of 2^31, 2^32, 2^53, -1, NaN, 1.5 and
// Infinity, products that overflow 64 bits, arrays shorter than the sizes claim or of the wrong type,
// out-of-range indices, a seeded random mix, and the addon in several worker_threads at once.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadNativeAddon } from '../../backend/native-addon.js';
import type { CaseResult } from './native-fuzz-child.js';
import type { WorkersSummary } from './native-fuzz-workers.js';

const CHILD = join(import.meta.dirname, 'native-fuzz-child.ts');

interface Run { total: number; results: CaseResult[]; crashes: string[] }

function child(args: string[]): { status: number | null; signal: string | null; lines: string[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-native-fuzz-'));
  const out = join(dir, 'results.txt');
  try {
    const p = spawnSync(process.execPath, ['--import', 'tsx', CHILD, out, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 });
    let text = '';
    try {
      text = readFileSync(out, 'utf8');
    } catch {
      // no line written: the child failed before its first case
    }
    return { status: p.status, signal: p.signal, lines: text.split('\n'), stderr: `${p.error ?? ''}${(p.stderr ?? '').slice(-2000)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs cases from `from` on; after a crash (or a hang past the timeout) it starts again after the case that
 * crashed, so that one run lists every crashing case (up to 25).
 */
function runCases(args: (from: number) => string[]): Run {
  const run: Run = { total: 0, results: [], crashes: [] };
  for (let from = 0, tries = 0; tries < 25; tries++) {
    const p = child(args(from));
    let started = -1;
    for (const line of p.lines) {
      if (line.startsWith('N ')) run.total = Number(line.slice(2));
      else if (line.startsWith('S ')) started = Number(line.slice(2));
      else if (line.startsWith('R ')) run.results.push(JSON.parse(line.slice(2)) as CaseResult);
    }
    if (p.status === 0) break;
    if (started < 0) throw new Error(`the fuzz child failed before any case (status ${p.status}, ${p.signal}): ${p.stderr}`);
    run.crashes.push(`case ${started} (${p.signal ?? `exit ${p.status}`}): ${p.stderr.split('\n').filter(Boolean).slice(-2).join(' | ')}`);
    from = started + 1;
    if (from >= run.total) break;
  }
  return run;
}

/** What each result broke: a crash shows as a missing result. */
function violations(run: Run): string[] {
  const out = run.crashes.map((c) => `crashed at ${c}`);
  const seen = new Set(run.results.map((r) => r.i));
  for (let i = 0; i < run.total; i++) if (!seen.has(i) && !run.crashes.some((c) => c.startsWith(`case ${i} `))) out.push(`case ${i}: no result`);
  for (const r of run.results) {
    const why: string[] = [];
    if (r.setup) why.push(`setup failed: ${r.setup}`);
    if (!r.guards) why.push('wrote outside its arrays');
    if (r.expect === 'returns' && r.threw) why.push(`threw ${r.error}: ${r.message}`);
    if (r.expect === 'throws') {
      if (!r.threw) why.push('returned instead of throwing');
      else if (!r.anyError && r.error !== 'TypeError' && r.error !== 'RangeError') why.push(`threw a ${r.error}, not a TypeError or RangeError: ${r.message}`);
      else if (r.pattern && !new RegExp(r.pattern).test(r.message ?? '')) why.push(`message "${r.message}" does not match /${r.pattern}/`);
    }
    if (why.length) out.push(`${r.name}: ${why.join('; ')}`);
  }
  return out;
}

function expectClean(run: Run): void {
  const bad = violations(run);
  expect(bad.length, `${bad.length} of ${run.total} cases failed:\n  ${bad.slice(0, 40).join('\n  ')}`).to.equal(0);
  expect(run.results.length).to.equal(run.total);
}

describe('backend/native-fuzz (hostile arguments to every native binding, in child processes)', function () {
  this.timeout(120_000);
  let exported: string[] = [];
  before(function () {
    const r = loadNativeAddon();
    if (!r.ok) throw new Error(`the native addon is not available (${r.why}); it is built by \`npm ci\` (scripts/build-native.mjs)`);
    exported = Object.keys(r.addon).filter((k) => typeof (r.addon as unknown as Record<string, unknown>)[k] === 'function');
  });

  it('every binding throws a TypeError or RangeError naming the argument for hostile sizes, strides, offsets, indices and array types, and never crashes or writes outside its arrays', function () {
    const run = runCases((from) => ['cases', String(from)]);
    expectClean(run);
    // Every function the addon exports is fuzzed: a binding added later without cases fails here.
    const covered = new Set(run.results.map((r) => r.name.split(':')[0]));
    expect(exported.filter((f) => !covered.has(f)), 'bindings without fuzz cases').to.deep.equal([]);
    const hostile = run.results.filter((r) => r.expect === 'throws');
    expect(hostile.length).to.be.above(1500);
    expect(run.results.find((r) => /M = N = K = 2\^32/.test(r.name))?.message).to.match(/overflows 64 bits/);
  });

  it('a seeded random fuzz of 5000 calls never crashes or writes outside its arrays, and throws whenever a count is not an integer in [0, 2^53)', function () {
    const run = runCases((from) => ['random', '20261204', '5000', String(from)]);
    expectClean(run);
    // The mix exercises both sides: calls that must throw, and calls that pass the checks and run.
    expect(run.results.filter((r) => r.expect === 'throws').length).to.be.above(300);
    expect(run.results.filter((r) => !r.threw).length).to.be.above(300);
  });

  it('worker_threads load the addon while the main thread uses it: matmuls in three workers (one resizing the pool, one switching kernels) and the main thread are correct, a terminated worker and the rest exit cleanly, and indices another thread rewrites are checked and used as one copy', function () {
    const p = child(['workers']);
    expect(p.signal, p.stderr).to.equal(null);
    expect(p.status, p.stderr).to.equal(0);
    const line = p.lines.find((l) => l.startsWith('W '));
    expect(line, p.stderr).to.be.a('string');
    const s = JSON.parse(line!.slice(2)) as WorkersSummary;
    for (const [i, w] of s.workers.entries()) {
      expect(w.exitCode, `worker ${i}: ${w.error ?? ''}`).to.equal(0);
      expect(w.calls, `worker ${i} calls`).to.be.above(0);
      expect(w.worst, `worker ${i}: largest error against float64`).to.be.below(1e-3);
      expect(w.hostileThrew, `worker ${i}: the 2^32 matmul threw`).to.equal(true);
    }
    expect(s.terminated.exitCode, 'a terminate()d worker exits with code 1').to.equal(1);
    expect(s.main.calls).to.be.above(0);
    expect(s.main.worst, 'main thread: largest error').to.be.below(1e-3);
    expect(s.main.after, 'main thread, after the workers').to.be.below(1e-3);
    // Indices on a SharedArrayBuffer rewritten by another thread: each call threw or used valid ones.
    expect(s.flipperExit).to.equal(0);
    for (const r of s.shared) {
      expect(r.other, `${r.binding}: errors other than RangeError`).to.deep.equal([]);
      expect(r.wrong, `${r.binding}: results from indices that were never all valid`).to.equal(0);
      expect(r.calls, `${r.binding}: calls`).to.be.above(10);
    }
  });
});
