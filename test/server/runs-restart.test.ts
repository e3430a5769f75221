// A real server process killed with -9 while its run trains: the restarted server finds the run, marks
// it failed as orphaned, its child does not outlive that, and resuming it finishes the run from its
// latest checkpoint.
import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { alive } from '../../data/sqlite-sink.js';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';
import { tinySftConfig, until } from './run-helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

describe('server: runs across a server crash', function () {
  this.timeout(300_000);
  const procs: ChildProcess[] = [];
  after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  async function serve(db: string): Promise<{ proc: ChildProcess; url: string }> {
    const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--db', db, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(proc);
    const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout! }).once('line', resolve));
    return { proc, url: (JSON.parse(line) as { url: string }).url };
  }

  it('marks the orphaned run failed after a kill -9 restart, ends its child, and resumes it to done', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const setup = new Store(db);
    const token = setup.addUser('rita', 'researcher');
    setup.close();
    const call = async (url: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(url + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return res.json();
    };
    const first = await serve(db);
    const { id } = await call(first.url, 'POST', '/api/runs', { kind: 'sft', config: tinySftConfig(dir, 30) });
    await until(async () => (await call(first.url, 'GET', `/api/runs/${id}`)).run.last_step >= 4, 'step 4', 120_000);
    const probe = new Store(db);
    const pid = probe.db.prepare('SELECT pid FROM runs WHERE id = ?').pluck().get(id) as number;
    probe.close();
    expect(alive(pid)).to.equal(true);
    const exited = new Promise((r) => first.proc.once('exit', r));
    first.proc.kill('SIGKILL');
    await exited;

    const second = await serve(db);
    const after = (await call(second.url, 'GET', `/api/runs/${id}`)).run;
    expect(after.state).to.equal('failed');
    expect(after.error).to.match(/orphaned/);
    await until(() => !alive(pid), 'the orphaned child to end');
    const resumed = await call(second.url, 'POST', `/api/runs/${id}/resume`);
    expect(resumed.state).to.be.oneOf(['queued', 'running']);
    const done = await until(async () => {
      const r = (await call(second.url, 'GET', `/api/runs/${id}`)).run;
      if (r.state === 'failed') throw new Error(`resumed run failed: ${r.error}`);
      return r.state === 'done' ? r : null;
    }, 'the resumed run to finish', 240_000);
    expect(done.last_step).to.equal(30);
    const series = (await call(second.url, 'GET', `/api/runs/${id}/metrics`)).series;
    // Steps the child wrote into the pipe as the server died are lost (nobody read them), and the orphan
    // stops at its next write, so at most the steps in flight are missing; the rest come from the resume.
    const steps = series['train/loss'].step as number[];
    expect(steps.slice(0, 4)).to.deep.equal([1, 2, 3, 4]);
    expect(steps.at(-1)).to.equal(30);
    expect(steps.every((s, i) => i === 0 || s > steps[i - 1])).to.equal(true);
    expect(steps.length).to.be.at.least(25);
    const exit2 = new Promise((r) => second.proc.once('exit', r));
    second.proc.kill('SIGTERM');
    await exit2;
  });
});
