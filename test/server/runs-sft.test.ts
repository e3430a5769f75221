// The run manager with a real child: `rlhf sft` on a tiny fresh model (the starter tokenizer, width 16),
// launched over the API, stopped after a checkpoint and resumed to the end. And a CLI run with --db
// showing up in the same store.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunsStore } from '../../data/runs-store.js';
import { Store } from '../../data/store.js';
import { RunningServer, startServer } from '../../server/app.js';
import { tempDir } from '../helpers.js';
import { tinySftConfig, until } from './run-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('server: runs with a real rlhf sft child', function () {
  this.timeout(300_000);
  let dir: string;
  let store: Store;
  let srv: RunningServer;
  let rita: string;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(srv.url + path, {
      method, headers: { Authorization: `Bearer ${rita}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, data: await res.json() };
  };
  const state = async (id: string) => (await call('GET', `/api/runs/${id}`)).data.run;

  beforeEach(async () => {
    dir = tempDir();
    store = new Store(join(dir, 'rlhf.db'));
    rita = store.addUser('rita', 'researcher');
    srv = await startServer({ store, port: 0 });
  });
  afterEach(async () => {
    await srv.close();
    store.close();
  });

  it('trains, is stopped after a checkpoint, resumes and finishes with every step recorded once', async () => {
    const r = await call('POST', '/api/runs', { kind: 'sft', config: tinySftConfig(dir, 40) });
    expect(r.status).to.equal(201);
    const id = r.data.id as string;
    await until(async () => (await state(id)).last_step >= 4, 'step 4', 120_000);
    const stop = await call('POST', `/api/runs/${id}/stop`);
    expect(stop.status).to.equal(202);
    const stopped = await until(async () => ((await state(id)).state === 'stopped' ? state(id) : null), 'stopped');
    expect(stopped.last_step).to.be.below(40);
    expect(existsSync(join(dir, 'runs', id, 'latest'))).to.equal(true); // a checkpoint to resume from
    expect((await call('POST', `/api/runs/${id}/resume`)).status).to.equal(200);
    const done = await until(async () => {
      const s = await state(id);
      if (s.state === 'failed') throw new Error(`run failed: ${s.error}`);
      return s.state === 'done' ? s : null;
    }, 'done', 240_000);
    expect(done.exit_code).to.equal(0);
    // the resolved config (defaults filled in by the child) replaced the launch config
    expect(done.config).to.include({ steps: 40, lr: 3e-4, out: join(dir, 'runs', id) });
    const series = (await call('GET', `/api/runs/${id}/metrics`)).data.series;
    expect(series['train/loss'].step).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(series['train/loss'].value.every((v: number) => Number.isFinite(v))).to.equal(true);
    expect(series['eval/loss'].step.length).to.be.at.least(10);
    const log = await fetch(`${srv.url}/api/runs/${id}/log`, { headers: { Authorization: `Bearer ${rita}` } });
    expect(await log.text()).to.include('resume:').and.include('--resume');
  });

  it('fails a run whose config the child refuses, with the child\'s message', async () => {
    const r = await call('POST', '/api/runs', { kind: 'sft', config: { ...tinySftConfig(dir, 2), lr: -1 } });
    const failed = await until(async () => ((await state(r.data.id)).state === 'failed' ? state(r.data.id) : null), 'failed', 120_000);
    expect(failed.error).to.match(/lr must be a number in \[0, 10\]/);
  });

  it('shows a CLI run started with --db in the runs list', async () => {
    const cfg = join(dir, 'cli.json');
    writeFileSync(cfg, JSON.stringify({ ...tinySftConfig(dir, 2), out: join(dir, 'by-hand') }));
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'rlhf.js'), 'sft', '--config', cfg, '--db', join(dir, 'rlhf.db')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const list = (await call('GET', '/api/runs')).data;
    expect(list.map((x: { id: string }) => x.id)).to.deep.equal(['by-hand']);
    expect(list[0]).to.include({ origin: 'cli', state: 'done', kind: 'sft', last_step: 2 });
    expect(new RunsStore(store.db).metrics('by-hand')['train/loss'].step).to.deep.equal([1, 2]);
  });
});
