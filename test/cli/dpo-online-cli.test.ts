// rlhf dpo --online-feedback as a user runs it: a child process against a live server (started here, as the
// demo starts one), simulated labelers labeling its tasks through the API. Stopped (SIGTERM) while it waits
// for round 2's labels, it is resumed with --resume and goes on from round 2, never reusing a label; the
// run is recorded in the store (--db) with its rounds.
import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { ONLINE_STATE_FILE } from '../../dpo/online.js';
import { simulateLabeler } from '../../labelers/simulated-labeler.js';
import { loadRule } from '../../reward-models/rules.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { until } from '../server/run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'rlhf.js');
const STARTER = join(ROOT, 'data', 'models', 'starter');
const PROMPTS = join(ROOT, 'data', 'prompts', 'demo.txt');
type Rec = { type: string; step: number; kind?: string; data?: Record<string, unknown>; metrics?: Record<string, number> };

describe('cli: rlhf dpo --online-feedback against a live server', function () {
  this.timeout(600_000);
  let dir: string;
  let store: Store;
  let srv: RunningServer;

  before(async () => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    srv = await startServer({ store, host: '127.0.0.1', port: 0, rateLimit: 100_000 });
  });
  after(async () => {
    await srv?.close();
    store?.close();
  });

  /** Simulated labelers until stopped. */
  async function labelers(seed: number) {
    const rule = await loadRule('sentiment');
    const stop = new AbortController();
    const working = [0, 1].map((i) => simulateLabeler({ url: srv.url, token: store.addUser(`sim${seed}-${i}`, 'labeler'), rule, noise: 0, count: Infinity, seed, waitMs: 100, signal: stop.signal }));
    return async () => {
      stop.abort();
      await Promise.allSettled(working);
    };
  }

  /** `rlhf dpo --online-feedback ... --json` as a child, its records collected as they come. */
  function dpo(...extra: string[]): { child: ChildProcess; recs: Rec[]; exited: Promise<number | null>; err: () => string } {
    const args = [BIN, 'dpo', '--model', STARTER, '--db', join(dir, 'rlhf.db'), '--out', join(dir, 'run'), '--run-id', 'cli-online', '--epochs', '2', '--batch-size', '4', '--lr', '1e-3',
      '--val-fraction', '0.25', '--eval-every', '0', '--online-feedback', '--online-prompt-file', PROMPTS, '--online-prompts', '8', '--online-max-new-tokens', '10', '--online-temperature', '1',
      '--online-round-every-labels', '8', '--online-rounds', '2', '--online-reference', 'previous', '--json', '--backend', process.env.RLHF_TEST_BACKEND ?? 'wasm', ...extra];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const recs: Rec[] = [];
    let err = '';
    createInterface({ input: child.stdout! }).on('line', (l) => recs.push(JSON.parse(l) as Rec));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    return { child, recs, exited: new Promise((done) => child.once('exit', done)), err: () => err };
  }
  const rounds = (recs: Rec[]) => recs.filter((r) => r.kind === 'dpo-round').map((r) => r.data!.round);

  it('runs its rounds on labels of its own samples, stops while waiting, and resumes from its round with new labels only', async () => {
    let stopLabelers = await labelers(1);
    const first = dpo();
    // round 1 trains; then the labelers stop, so round 2 waits: the run is stopped there
    await until(() => rounds(first.recs).includes(1) || first.child.exitCode !== null, 'round 1', 300_000);
    expect(rounds(first.recs), first.err()).to.deep.equal([1]);
    await stopLabelers();
    await until(() => first.recs.some((r) => r.kind === 'feedback-tasks' && r.data!.round === 1), 'tasks from round 1\'s policy', 120_000);
    first.child.kill('SIGTERM');
    expect(await first.exited).to.equal(143);
    const state = JSON.parse(readFileSync(join(dir, 'run', ONLINE_STATE_FILE), 'utf8'));
    expect(state).to.include({ round: 1, pending: null });
    const runs = new RunsStore(store.db);
    expect(runs.get('cli-online')).to.include({ kind: 'dpo', state: 'stopped', origin: 'cli' });

    stopLabelers = await labelers(2);
    try {
      const again = dpo('--resume');
      expect(await again.exited, again.err()).to.equal(0);
      expect(rounds(again.recs)).to.deep.equal([2]); // round 1 is not trained again
      const start = again.recs.find((r) => r.kind === 'dpo-round-start')!.data!;
      expect(start).to.include({ round: 2, from: state.policy, reference: state.policy }); // warm start; reference previous: the round's start
      const result = again.recs.find((r) => r.kind === 'result')!.data as { rounds: { round: number }[] };
      expect(result.rounds.map((r) => r.round)).to.deep.equal([1, 2]);
    } finally {
      await stopLabelers();
    }
    const after = JSON.parse(readFileSync(join(dir, 'run', ONLINE_STATE_FILE), 'utf8'));
    expect(after.round).to.equal(2);
    expect(new Set(after.usedLabels).size).to.equal(after.usedLabels.length); // no label trained twice
    expect(after.usedLabels.slice(0, state.usedLabels.length)).to.deep.equal(state.usedLabels);
    // recorded in the store: done, with both rounds among its events, and its tasks' completions name it
    expect(runs.get('cli-online')).to.include({ state: 'done' });
    expect(runs.events('cli-online').filter((e) => e.kind === 'dpo-round').map((e) => e.data.round)).to.deep.equal([1, 2]);
    expect(store.db.prepare("SELECT count(*) FROM completions WHERE run_id = 'cli-online'").pluck().get()).to.be.at.least(32);
  });
});
