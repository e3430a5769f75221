// Runs in the SQLite store: their state, config and folder, and the records they report (metrics,
// sample generations, events). Shared by the server's run manager and by `rlhf <kind> --db` (sqlite-sink.ts).
// better-sqlite3 style: statements prepared once; every write transaction begins IMMEDIATE.
import type { MetricSeries, RunState, RunView, SampleView } from '../protocol/wire.js';
import { DB, now } from './db.js';
import type { SinkRecord } from './metrics-sink.js';
import { StoreError } from './store-types.js';

export type { RunState, RunView };
export const RUN_STATES: readonly RunState[] = ['queued', 'running', 'stopped', 'failed', 'done'];

/** A run as stored, with what only the server needs (pid, folder). */
export interface RunRow extends RunView {
  pid: number | null;
  dir: string | null;
  /** Who launched it through the API; null for CLI runs. */
  owner_id: number | null;
}

interface RawRun extends Omit<RunRow, 'config' | 'tags'> {
  config: string;
  tags: string | null;
}

const toRow = (r: RawRun | undefined): RunRow | null => (r ? { ...r, config: JSON.parse(r.config) as Record<string, unknown>, tags: r.tags === null ? [] : (JSON.parse(r.tags) as string[]) } : null);
const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString();
// SQLite REAL has no NaN or Infinity: a non-finite value is kept as NULL (a gap in the chart).
const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * A sample row's extra cells as stored: a JSON object of strings, booleans, finite numbers and nulls (a
 * non-finite number, or anything else, becomes null); null when there are none.
 */
function cellsJson(columns: Record<string, unknown> | undefined): string | null {
  if (!columns || typeof columns !== 'object') return null;
  const cells = Object.entries(columns).map(([k, v]) => [k, typeof v === 'string' || typeof v === 'boolean' ? v : finite(v)]);
  return cells.length ? JSON.stringify(Object.fromEntries(cells)) : null;
}

export class RunsStore {
  private readonly st;

  constructor(readonly db: DB) {
    const p = (sql: string) => db.prepare(sql);
    const cols = `id, kind, state, origin, config, error, pid, dir, owner_id, created_at, started_at, ended_at, exit_code, name, tags, notes,
      (SELECT name FROM users u WHERE u.id = runs.owner_id) AS owner,
      (SELECT max(step) FROM metrics m WHERE m.run_id = runs.id) AS last_step`;
    this.st = {
      insert: p(`INSERT INTO runs (id, kind, state, config, origin, dir, pid, owner_id, created_at, updated_at, started_at)
        VALUES (@id, @kind, @state, @config, @origin, @dir, @pid, @owner, @at, @at, @started)`),
      get: p(`SELECT ${cols} FROM runs WHERE id = ?`),
      list: p(`SELECT ${cols} FROM runs ORDER BY created_at DESC, id DESC LIMIT ?`),
      // the page after a run: keyset paging on (created_at, id), stable while runs are added
      listBefore: p(`SELECT ${cols} FROM runs WHERE (created_at, id) < (SELECT created_at, id FROM runs WHERE id = @before)
        ORDER BY created_at DESC, id DESC LIMIT @limit`),
      active: p("SELECT count(*) FROM runs WHERE owner_id = ? AND state IN ('queued', 'running')").pluck(),
      getSetting: p('SELECT value FROM settings WHERE key = ?').pluck(),
      setSetting: p('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      byState: p(`SELECT ${cols} FROM runs WHERE state = ? ORDER BY created_at, id`),
      setState: p(`UPDATE runs SET state = @state, error = @error, pid = @pid, exit_code = @exitCode, updated_at = @at,
        started_at = CASE WHEN @state = 'running' THEN @at ELSE started_at END,
        ended_at = CASE WHEN @state IN ('stopped', 'failed', 'done') THEN @at WHEN @state = 'running' THEN NULL ELSE ended_at END
        WHERE id = @id`),
      setConfig: p('UPDATE runs SET config = ?, updated_at = ? WHERE id = ?'),
      // each field only when given (@setX): a name-only edit keeps the notes
      setMeta: p(`UPDATE runs SET name = CASE WHEN @setName THEN @name ELSE name END, tags = CASE WHEN @setTags THEN @tags ELSE tags END,
        notes = CASE WHEN @setNotes THEN @notes ELSE notes END, updated_at = @at WHERE id = @id`),
      metric: p('INSERT OR REPLACE INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)'),
      sample: p('INSERT OR REPLACE INTO run_samples (run_id, step, idx, prompt, completion, score, gold, columns, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      event: p('INSERT INTO run_events (run_id, step, kind, data, time) VALUES (?, ?, ?, ?, ?)'),
      // all of a run: one pass over its primary-key range; only new steps (live polling): the (run, step) index
      metrics: p('SELECT name, step, value, time FROM metrics WHERE run_id = ? AND step > ? ORDER BY name, step'),
      metricsAfter: p('SELECT name, step, value, time FROM metrics INDEXED BY metrics_run_step WHERE run_id = ? AND step > ? ORDER BY step'),
      samples: p(`SELECT step, prompt, completion, score, gold, columns FROM run_samples
        WHERE run_id = @run AND step >= coalesce((SELECT min(step) FROM (SELECT DISTINCT step FROM run_samples WHERE run_id = @run ORDER BY step DESC LIMIT @steps)), 0)
        ORDER BY step DESC, idx`),
      // the rows of one step: the latest step with samples at or before it, else the first after it
      samplesNear: p(`SELECT step, prompt, completion, score, gold, columns FROM run_samples
        WHERE run_id = @run AND step = coalesce((SELECT max(step) FROM run_samples WHERE run_id = @run AND step <= @step), (SELECT min(step) FROM run_samples WHERE run_id = @run AND step > @step))
        ORDER BY idx`),
      // one prompt followed across steps (the run's primary-key range, filtered)
      samplesOfPrompt: p(`SELECT step, prompt, completion, score, gold, columns FROM run_samples WHERE run_id = ? AND prompt = ?
        ORDER BY step DESC, idx LIMIT ?`),
      events: p('SELECT step, kind, data, time FROM run_events WHERE run_id = ? ORDER BY step, id'),
      names: p('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').pluck(),
    };
  }

  create(r: { id: string; kind: string; config: Record<string, unknown>; origin: 'server' | 'cli'; dir?: string | null; state?: RunState; pid?: number | null; owner?: number | null }): RunRow {
    const at = now();
    const state = r.state ?? 'queued';
    this.st.insert.run({ id: r.id, kind: r.kind, state, config: JSON.stringify(r.config), origin: r.origin, dir: r.dir ?? null, pid: r.pid ?? null, owner: r.owner ?? null, at, started: state === 'running' ? at : null });
    return this.get(r.id)!;
  }

  /**
   * `write` (a launch or a resume) in one IMMEDIATE transaction with the check that `owner` has fewer than
   * `maxActive` runs queued or running, so concurrent requests (even to several servers) cannot pass the
   * limit together. `who` begins the refusal: "you have" for the owner, "its owner has" for an admin.
   */
  withinActive<T>(owner: number, maxActive: number, who: string, write: () => T): T {
    return this.db.transaction(() => {
      const n = this.st.active.get(owner) as number;
      if (n >= maxActive) throw new StoreError('conflict', `${who} ${n} runs queued or running, the most this server allows; stop one or wait for it to end`);
      return write();
    }).immediate();
  }

  /** A JSON setting of the runs (quotas); undefined when unset. */
  setting(key: string): string | undefined {
    return this.st.getSetting.get(key) as string | undefined;
  }

  setSetting(key: string, value: string): void {
    this.st.setSetting.run(key, value);
  }

  get(id: string): RunRow | null {
    return toRow(this.st.get.get(id) as RawRun | undefined);
  }

  /** Newest first; `before` (a run id) gives the page after that run. */
  list(limit = 200, before?: string): RunRow[] {
    const rows = before === undefined ? this.st.list.all(limit) : this.st.listBefore.all({ before, limit });
    return (rows as RawRun[]).map((r) => toRow(r)!);
  }

  inState(state: RunState): RunRow[] {
    return (this.st.byState.all(state) as RawRun[]).map((r) => toRow(r)!);
  }

  /** Move a run to a state; pid and exit code are replaced (null unless given), error too. */
  setState(id: string, state: RunState, o: { error?: string | null; pid?: number | null; exitCode?: number | null } = {}): RunRow {
    this.st.setState.run({ id, state, error: o.error ?? null, pid: o.pid ?? null, exitCode: o.exitCode ?? null, at: now() });
    return this.get(id)!;
  }

  setConfig(id: string, config: Record<string, unknown>): void {
    this.st.setConfig.run(JSON.stringify(config), now(), id);
  }

  /** Set a run's name, tags or notes (those given; an empty name or notes becomes NULL). */
  setMeta(id: string, m: { name?: string; tags?: string[]; notes?: string }): RunRow {
    const text = (v: string | undefined) => (v === undefined || v.trim() === '' ? null : v.trim());
    this.st.setMeta.run({
      id, at: now(), setName: m.name === undefined ? 0 : 1, name: text(m.name), setTags: m.tags === undefined ? 0 : 1,
      tags: m.tags === undefined ? null : JSON.stringify(m.tags), setNotes: m.notes === undefined ? 0 : 1, notes: text(m.notes),
    });
    return this.get(id)!;
  }

  /**
   * Store a batch of a run's records in one transaction. A metric or sample row reported again for the
   * same step (a resumed run repeats the steps after its last checkpoint) replaces the earlier one.
   * An event of kind 'config' also becomes the run's resolved config.
   */
  record(runId: string, records: SinkRecord[]): void {
    if (!records.length) return;
    // Losing the last few metric rows on a power cut is harmless, so this commit skips the fsync and
    // never makes a label submit wait behind it (the next FULL commit makes it durable too).
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(() => {
        for (const r of records) {
          const at = iso(r.time);
          if (r.type === 'metrics') {
            for (const [name, v] of Object.entries(r.metrics)) this.st.metric.run(runId, r.step, name, finite(v), at);
          } else if (r.type === 'samples') {
            r.rows.forEach((s, i) => this.st.sample.run(runId, r.step, i, String(s.prompt), String(s.completion), finite(s.score), finite(s.gold), cellsJson(s.columns), at));
          } else {
            this.st.event.run(runId, r.step, r.kind, JSON.stringify(r.data ?? {}), at);
            if (r.kind === 'config' && r.data && typeof r.data === 'object') this.setConfig(runId, r.data);
          }
        }
      }).immediate();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** Every metric of a run as series (steps after `since` only), in step order. */
  metrics(runId: string, since = -1): Record<string, MetricSeries> {
    // A Map: a metric may be called anything a child prints, `constructor` and `__proto__` included
    const out = new Map<string, MetricSeries>();
    for (const r of (since < 0 ? this.st.metrics : this.st.metricsAfter).iterate(runId, since) as IterableIterator<{ name: string; step: number; value: number | null; time: string }>) {
      let s = out.get(r.name);
      if (!s) out.set(r.name, (s = { step: [], time: [], value: [] }));
      s.step.push(r.step);
      s.time.push(ms(r.time));
      s.value.push(r.value);
    }
    return Object.fromEntries(out); // own data properties, whatever the names
  }

  /** Sample generations of the latest `steps` steps that have any, newest step first. */
  samples(runId: string, steps = 20): SampleView[] {
    return cells(this.st.samples.all({ run: runId, steps }) as RawSample[]);
  }

  /** The sample rows of the step nearest `step` that has any (the latest at or before it, else the first after). */
  samplesNear(runId: string, step: number): SampleView[] {
    return cells(this.st.samplesNear.all({ run: runId, step }) as RawSample[]);
  }

  /** Every row of one prompt, newest step first, at most `limit`: how its completions changed as the run trained. */
  samplesOfPrompt(runId: string, prompt: string, limit = 200): SampleView[] {
    return cells(this.st.samplesOfPrompt.all(runId, prompt, limit) as RawSample[]);
  }

  events(runId: string): { step: number; kind: string; data: Record<string, unknown>; time: number }[] {
    return (this.st.events.all(runId) as { step: number; kind: string; data: string; time: string }[])
      .map((e) => ({ ...e, data: JSON.parse(e.data) as Record<string, unknown>, time: ms(e.time) }));
  }

  metricNames(runId: string): string[] {
    return this.st.names.all(runId) as string[];
  }
}

type RawSample = Omit<SampleView, 'columns'> & { columns: string | null };
const cells = (rows: RawSample[]): SampleView[] => rows.map(({ columns, ...v }) => (columns === null ? v : { ...v, columns: JSON.parse(columns) as SampleView['columns'] }));

/** CSV field: quoted when it holds a comma, quote or line break. */
const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * A run's metrics as CSV lines, one row per step (`step,time,<metric>...`; an empty cell where a step has
 * no value for a metric), read through a cursor so any length streams in flat memory. Pass a connection
 * of its own (data/export.ts openReader): an open cursor keeps its connection busy.
 */
export function* metricsCsv(reader: DB, runId: string): Generator<string> {
  const names = reader.prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').pluck().all(runId) as string[];
  const col = new Map(names.map((n, i) => [n, i]));
  yield ['step', 'time', ...names].map(csvField).join(',') + '\n';
  const rows = reader.prepare('SELECT step, name, value, time FROM metrics WHERE run_id = ? ORDER BY step, name').iterate(runId) as IterableIterator<{ step: number; name: string; value: number | null; time: string }>;
  let step: number | null = null;
  let time = '';
  let cells: string[] = [];
  const line = () => `${step},${time},${cells.join(',')}\n`;
  for (const r of rows) {
    if (r.step !== step) {
      if (step !== null) yield line();
      step = r.step;
      time = r.time;
      cells = names.map(() => '');
    }
    if (r.time > time) time = r.time; // the step's latest record (an evaluation comes after the train step)
    cells[col.get(r.name)!] = r.value === null ? '' : String(r.value);
  }
  if (step !== null) yield line();
}
