// The run manager with a fake child (test/server/fixtures/fake-run.ts): states, a crash, the queue,
// stop and resume, recovery after a server restart, and the runs API around it.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunServerEvent } from '../../protocol/wire.js';
import { RunsStore } from '../../data/runs-store.js';
import { alive } from '../../data/sqlite-sink.js';
import { Store } from '../../data/store.js';
import { CliRunWatcher } from '../../server/cli-run-watcher.js';
import { RunManager } from '../../server/run-manager.js';
import { tempDir } from '../helpers.js';
import { fakeCommand, until } from './run-helpers.js';

describe('server: run manager', () => {
  let dir: string;
  let store: Store;
  let events: RunServerEvent[];
  let managers: RunManager[];
  const manager = (o: { maxRunning?: number } = {}) => {
    const m = new RunManager(store, (e) => events.push(e), { runsDir: join(dir, 'runs'), command: fakeCommand, killAfterMs: 5000, ...o });
    managers.push(m);
    return m;
  };
  beforeEach(() => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    events = [];
    managers = [];
  });
  afterEach(async () => {
    for (const m of managers) await m.close();
    store.close();
  });

  it('runs a child to done: records stored, resolved config kept, other output in the log', async () => {
    const m = manager();
    const run = m.launch('ppo', { steps: 4 });
    expect(run.state).to.equal('running');
    expect(run.dir).to.equal(join(dir, 'runs', run.id));
    const done = await until(() => (m.runs.get(run.id)!.state === 'done' ? m.runs.get(run.id) : null), 'done');
    expect(done).to.include({ exit_code: 0, error: null, last_step: 4 });
    expect(done!.config).to.include({ steps: 4, resolved: true });
    expect(m.runs.metrics(run.id)['objective/kl'].step).to.deep.equal([1, 2, 3, 4]);
    expect(m.runs.samples(run.id).map((s) => s.step)).to.deep.equal([4, 2]);
    const log = m.log(run.id);
    expect(log).to.include(`fake-run ${run.id} started`).and.include('a line that is not a record').and.include('exit code 0');
    expect(events.filter((e) => e.type === 'run').map((e) => (e as { run: { state: string } }).run.state)).to.include.members(['queued', 'running', 'done']);
    expect(events.filter((e) => e.type === 'metrics')).to.have.length(4);
  });

  it('marks a crashed child failed with its error line and keeps the steps before the crash', async () => {
    const m = manager();
    const run = m.launch('ppo', { steps: 10, crashAt: 3 });
    const failed = await until(() => (m.runs.get(run.id)!.state === 'failed' ? m.runs.get(run.id) : null), 'failed');
    expect(failed).to.include({ error: 'boom at step 3', exit_code: 1 });
    expect(m.runs.metrics(run.id)['objective/kl'].step).to.deep.equal([1, 2]);
  });

  it('fails a run whose program cannot start, with the reason', async () => {
    const m = new RunManager(store, (e) => events.push(e), { runsDir: join(dir, 'runs'), command: () => [join(dir, 'no-such-program')] });
    managers.push(m);
    const run = m.launch('sft', { data: ['corpus:moby-dick'] });
    const failed = await until(() => (m.runs.get(run.id)!.state === 'failed' ? m.runs.get(run.id) : null), 'failed');
    expect(failed!.error).to.match(/could not start .*ENOENT/);
  });

  it('queues runs beyond maxRunning and starts them as others finish', async () => {
    const m = manager({ maxRunning: 1 });
    const wait = join(dir, 'go');
    const a = m.launch('ppo', { steps: 2, waitFile: wait });
    const b = m.launch('ppo', { steps: 2 });
    expect(m.runs.get(a.id)!.state).to.equal('running');
    expect(m.runs.get(b.id)!.state).to.equal('queued');
    await until(() => m.runs.get(a.id)!.last_step === 1, 'run a at step 1');
    expect(m.runs.get(b.id)!.state).to.equal('queued');
    writeFileSync(wait, '');
    await until(() => m.runs.get(b.id)!.state === 'done', 'run b done');
    expect(m.runs.get(a.id)!.state).to.equal('done');
  });

  it('stops a running child and resumes it from its checkpoint; a queued run stops at once', async () => {
    const m = manager();
    const run = m.launch('ppo', { steps: 12, waitFile: join(dir, 'never'), waitAfter: 5 });
    const queued = m.launch('ppo', { steps: 1 });
    await until(() => m.runs.get(run.id)!.last_step === 5, 'step 5');
    expect(m.stop(queued.id).state).to.equal('stopped');
    m.stop(run.id);
    const stopped = await until(() => (m.runs.get(run.id)!.state === 'stopped' ? m.runs.get(run.id) : null), 'stopped');
    expect(stopped!.ended_at).to.be.a('string');
    expect(() => m.resume(queued.id + 'x')).to.throw(/no run/);
    expect(() => m.stop(run.id)).to.throw(/only queued or running/);
    writeFileSync(join(dir, 'never'), '');
    m.resume(run.id);
    await until(() => m.runs.get(run.id)!.state === 'done', 'resumed run done');
    expect(m.log(run.id)).to.include('resumed from step 5');
    expect(m.runs.metrics(run.id)['objective/kl'].step).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(() => m.resume(run.id)).to.throw(/only stopped or failed/);
    expect(m.runs.get(queued.id)!.state).to.equal('stopped'); // a stopped queued run waits for resume
  });

  it('after a restart marks orphaned running runs failed (ending their process) and starts queued ones', async () => {
    // What a server killed with -9 leaves behind: a run marked running whose child is still alive,
    // a CLI run whose process died, a CLI run still alive, and a queued run.
    const m0 = manager();
    const orphanId = 'ppo-orphan';
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', orphanId], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    m0.runs.create({ id: orphanId, kind: 'ppo', config: {}, origin: 'server', state: 'running', pid: child.pid });
    m0.runs.create({ id: 'cli-dead', kind: 'sft', config: {}, origin: 'cli', state: 'running', pid: 2 ** 22 + 7 });
    m0.runs.create({ id: 'cli-alive', kind: 'sft', config: {}, origin: 'cli', state: 'running', pid: process.pid });
    writeFileSync(join(dir, 'runs', 'ppo-queued.config.json'), JSON.stringify({ steps: 2, out: join(dir, 'runs', 'ppo-queued') }));
    m0.runs.create({ id: 'ppo-queued', kind: 'ppo', config: {}, origin: 'server' });
    const m = manager();
    expect(m.runs.get(orphanId)).to.include({ state: 'failed' });
    expect(m.runs.get(orphanId)!.error).to.match(/orphaned/);
    await exited;
    expect(alive(child.pid!)).to.equal(false);
    expect(m.runs.get('cli-dead')!.state).to.equal('failed');
    expect(m.runs.get('cli-alive')!.state).to.equal('running');
    await until(() => m.runs.get('ppo-queued')!.state === 'done', 'queued run done after restart');
    expect(existsSync(join(dir, 'runs', 'ppo-queued', 'last-step'))).to.equal(true);
  });

  it('stores a big samples table whole but pushes a bounded preview of it', async () => {
    const m = manager();
    m.runs.setSetting('run_quotas', JSON.stringify({ maxSampleRows: 100 })); // over the default quota of 64
    const run = m.launch('ppo', { steps: 1, sampleRows: 100, sampleChars: 5000 });
    await until(() => m.runs.get(run.id)!.state === 'done', 'done');
    const stored = m.runs.samples(run.id);
    expect(stored).to.have.length(100);
    expect(stored[0].completion).to.have.length(5000);
    const live = events.find((e) => e.type === 'samples') as Extract<RunServerEvent, { type: 'samples' }>;
    expect(live.rows).to.have.length(32);
    expect(live.rows[0].completion).to.have.length(2001); // 2000 characters and an ellipsis
    expect(JSON.stringify(live).length).to.be.below(256 * 1024);
  });

  it('pushes the new steps and the end of a run started by hand with --db (the CLI run watcher)', () => {
    const runs = new RunsStore(store.db);
    runs.create({ id: 'by-hand', kind: 'sft', config: {}, origin: 'cli', state: 'running', pid: process.pid });
    runs.record('by-hand', [{ type: 'metrics', step: 1, time: Date.now(), metrics: { 'train/loss': 3 } }]);
    const watcher = new CliRunWatcher(runs, (e) => events.push(e));
    try {
      watcher.poll();
      expect(events.map((e) => e.type)).to.deep.equal(['run']); // first sight: the page loads its history over HTTP
      runs.record('by-hand', [2, 3].map((step) => ({ type: 'metrics' as const, step, time: Date.now(), metrics: { 'train/loss': 3 - step / 10, lr: 0.1 } })));
      watcher.poll();
      const m = events.filter((e) => e.type === 'metrics') as Extract<RunServerEvent, { type: 'metrics' }>[];
      expect(m.map((e) => [e.step, e.metrics])).to.deep.equal([[2, { 'train/loss': 2.8, lr: 0.1 }], [3, { 'train/loss': 2.7, lr: 0.1 }]]);
      runs.record('by-hand', [{ type: 'metrics', step: 4, time: Date.now(), metrics: { 'train/loss': 2.5 } }]);
      runs.setState('by-hand', 'done', { exitCode: 0 });
      watcher.poll();
      const last = events.slice(-2);
      expect(last[0]).to.include({ type: 'metrics', step: 4 });
      expect(last[1].type === 'run' && last[1].run.state).to.equal('done');
      watcher.poll();
      expect(events).to.have.length(5); // nothing more once it ended
    } finally {
      watcher.close();
    }
  });

  it('refuses what it can tell is wrong, naming the field', () => {
    const m = manager();
    expect(() => m.launch('kto', {})).to.throw(/body.kind: must be one of sft, train-rm, ppo/);
    expect(() => m.launch('sft', { steps: 3 })).to.throw(/body.config.data: required/);
    expect(() => m.launch('ppo', { out: 3 })).to.throw(/body.config.out/);
    m.runs.create({ id: 'by-hand', kind: 'sft', config: {}, origin: 'cli', state: 'done' });
    expect(() => m.resume('by-hand')).to.throw(/command line/);
  });
});
