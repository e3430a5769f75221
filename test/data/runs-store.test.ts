import { expect } from 'chai';
import { join } from 'node:path';
import { openReader } from '../../data/export.js';
import { MemorySink } from '../../data/metrics-sink.js';
import { metricsCsv, RunsStore } from '../../data/runs-store.js';
import { MANAGED_ENV, openRunSink } from '../../data/sqlite-sink.js';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';

describe('data: runs store', () => {
  let store: Store;
  let runs: RunsStore;
  beforeEach(() => {
    store = new Store(join(tempDir(), 'rlhf.db'));
    runs = new RunsStore(store.db);
  });
  afterEach(() => store.close());

  it('creates runs and moves them through states with start and end times', () => {
    const r = runs.create({ id: 'a', kind: 'sft', config: { steps: 3 }, origin: 'server' });
    expect(r).to.include({ id: 'a', state: 'queued', origin: 'server', started_at: null, last_step: null });
    expect(r.config).to.deep.equal({ steps: 3 });
    const running = runs.setState('a', 'running', { pid: 1234 });
    expect(running.pid).to.equal(1234);
    expect(running.started_at).to.be.a('string');
    const failed = runs.setState('a', 'failed', { error: 'boom', exitCode: 1 });
    expect(failed).to.include({ state: 'failed', error: 'boom', exit_code: 1, pid: null });
    expect(failed.ended_at).to.be.a('string');
    expect(runs.inState('failed').map((x) => x.id)).to.deep.equal(['a']);
    expect(() => store.db.prepare("UPDATE runs SET state = 'lost' WHERE id = 'a'").run()).to.throw(/CHECK/);
  });

  it('stores metrics (a repeated step replaces the earlier value, NaN becomes null), samples and events', () => {
    runs.create({ id: 'a', kind: 'ppo', config: {}, origin: 'server' });
    const sink = new MemorySink();
    sink.metrics(1, { 'objective/kl': 0.5, 'loss/value_avg': 2 });
    sink.metrics(2, { 'objective/kl': NaN, 'loss/value_avg': 1 });
    sink.metrics(2, { 'objective/kl': 0.25 }); // a resumed run reports step 2 again
    sink.samples(2, [{ prompt: 'p', completion: '<b>c</b>', score: 0.5, gold: 1 }, { prompt: 'q', completion: 'd', score: -1 }]);
    sink.event(2, 'config', { steps: 10 });
    runs.record('a', sink.records);
    const m = runs.metrics('a');
    expect(Object.keys(m).sort()).to.deep.equal(['loss/value_avg', 'objective/kl']);
    expect(m['objective/kl'].step).to.deep.equal([1, 2]);
    expect(m['objective/kl'].value).to.deep.equal([0.5, 0.25]);
    expect(m['objective/kl'].time[0]).to.be.a('number').above(1.7e12);
    expect(runs.metrics('a', 1)['loss/value_avg'].value).to.deep.equal([1]);
    expect(runs.samples('a')).to.deep.equal([
      { step: 2, prompt: 'p', completion: '<b>c</b>', score: 0.5, gold: 1 },
      { step: 2, prompt: 'q', completion: 'd', score: -1, gold: null },
    ]);
    expect(runs.events('a').map((e) => e.kind)).to.deep.equal(['config']);
    expect(runs.get('a')!.config).to.deep.equal({ steps: 10 }); // the resolved config replaces the launch config
    expect(runs.get('a')!.last_step).to.equal(2);
    sink.records.length = 0;
    sink.metrics(3, { 'objective/kl': Infinity });
    runs.record('a', sink.records);
    expect(runs.metrics('a', 2)['objective/kl'].value).to.deep.equal([null]);
  });

  it("keeps a sample row's extra cells (GRPO's rewards and logged columns): text, numbers, booleans, null for NaN", () => {
    runs.create({ id: 'g', kind: 'grpo', config: {}, origin: 'cli' });
    const sink = new MemorySink();
    sink.samples(1, [
      { prompt: 'p', completion: 'c', score: 1, columns: { 'include-word': 1, word: '<b>time</b>', ok: true, missing: null, bad: NaN, ['__proto__']: 'x' } },
      { prompt: 'q', completion: 'd', score: 0, columns: {} },
      { prompt: 'r', completion: 'e', score: 0 },
    ]);
    runs.record('g', sink.records);
    const [a, b, c] = runs.samples('g');
    expect(a.columns).to.deep.equal({ 'include-word': 1, word: '<b>time</b>', ok: true, missing: null, bad: null, ['__proto__']: 'x' });
    expect(Object.keys(a.columns!)).to.deep.equal(['include-word', 'word', 'ok', 'missing', 'bad', '__proto__']); // the order they were logged in
    expect(b).to.not.have.property('columns');
    expect(c).to.deep.equal({ step: 1, prompt: 'r', completion: 'e', score: 0, gold: null });
  });

  it('keeps the samples of the latest steps only when asked for few', () => {
    runs.create({ id: 'a', kind: 'ppo', config: {}, origin: 'server' });
    const sink = new MemorySink();
    for (let s = 1; s <= 5; s++) sink.samples(s, [{ prompt: `p${s}`, completion: 'c', score: s }]);
    runs.record('a', sink.records);
    expect(runs.samples('a', 2).map((r) => r.step)).to.deep.equal([5, 4]);
  });

  it('exports a run as CSV, one row per step, quoting names that need it', () => {
    runs.create({ id: 'a', kind: 'sft', config: {}, origin: 'cli' });
    runs.create({ id: 'b', kind: 'sft', config: {}, origin: 'cli' });
    const sink = new MemorySink();
    sink.metrics(1, { 'train/loss': 3, lr: 0.001 });
    sink.metrics(2, { 'train/loss': 2.5, lr: 0.002, 'a,b': 7 });
    sink.metrics(2, { 'eval/loss': 2.75 });
    runs.record('a', sink.records);
    runs.record('b', [{ type: 'metrics', step: 1, time: Date.now(), metrics: { other: 1 } }]);
    const reader = openReader(store.db.name);
    try {
      const lines = [...metricsCsv(reader, 'a')].join('').trim().split('\n');
      expect(lines[0]).to.equal('step,time,"a,b",eval/loss,lr,train/loss');
      expect(lines).to.have.length(3);
      const [s1, t1, ...c1] = lines[1].split(',');
      expect([s1, ...c1]).to.deep.equal(['1', '', '', '0.001', '3']);
      expect(Date.parse(t1)).to.be.above(1.7e12);
      expect(lines[2].split(',').slice(2)).to.deep.equal(['7', '2.75', '0.002', '2.5']);
      expect([...metricsCsv(reader, 'nope')]).to.deep.equal(['step,time\n']);
    } finally {
      reader.close();
    }
  });
});

describe('data: sqlite sink (rlhf <kind> --db)', () => {
  const lines: string[] = [];
  const out = { write: (s: string) => lines.push(s) };
  let file: string;
  beforeEach(() => {
    file = join(tempDir(), 'rlhf.db');
    lines.length = 0;
  });

  it('records a CLI run with its config and metrics and marks it done; a second run with the same id needs --resume', () => {
    const sink = openRunSink({ kind: 'sft', runId: 'r1', json: true, db: file, config: { steps: 2 }, out, env: {} });
    sink.metrics(1, { 'train/loss': 3 });
    const store = new Store(file);
    const runs = new RunsStore(store.db);
    try {
      expect(runs.get('r1')).to.include({ state: 'running', origin: 'cli', pid: process.pid });
      sink.close();
      expect(runs.get('r1')).to.include({ state: 'done', exit_code: 0 });
      expect(runs.metrics('r1')['train/loss'].value).to.deep.equal([3]);
      expect(lines.map((l) => JSON.parse(l).type)).to.deep.equal(['event', 'metrics']); // config event, then the step
      expect(() => openRunSink({ kind: 'sft', runId: 'r1', json: false, db: file, config: {}, out, env: {} })).to.throw(/already exists.*--resume/);
      expect(() => openRunSink({ kind: 'ppo', runId: 'r1', json: false, db: file, config: {}, out, env: {}, resume: true })).to.throw(/is a sft run/);
      const again = openRunSink({ kind: 'sft', runId: 'r1', json: false, db: file, config: { steps: 4 }, out, env: {}, resume: true });
      expect(runs.get('r1')).to.include({ state: 'running' });
      again.finish('failed', 'step 3: loss is NaN');
      expect(runs.get('r1')).to.include({ state: 'failed', error: 'step 3: loss is NaN' });
      expect(runs.get('r1')!.config).to.deep.equal({ steps: 4 });
    } finally {
      store.close();
    }
  });

  it('under the run manager it only prints, even with --db, and checks the run id', () => {
    const sink = openRunSink({ kind: 'sft', runId: 'm1', json: false, db: file, config: {}, out, env: { [MANAGED_ENV]: 'm1' } });
    sink.metrics(1, { x: 1 });
    sink.close();
    const store = new Store(file);
    try {
      expect(new RunsStore(store.db).get('m1')).to.equal(null);
    } finally {
      store.close();
    }
    expect(lines).to.have.length(2);
    expect(() => openRunSink({ kind: 'sft', runId: 'other', json: true, config: {}, out, env: { [MANAGED_ENV]: 'm1' } })).to.throw(/differs/);
  });
});
