// The run manager: each training run (sft | train-rm | ppo | grpo | rloo | dpo) is a child process `rlhf <kind> --config FILE
// --json --db DB --run-id ID`, so training never runs on the server's event loop. The child prints
// SinkRecords (data/metrics-sink.ts) as JSON lines on stdout; the manager stores them and pushes them to
// dashboards over WebSocket as they arrive. Its stderr and any other output go to the run's log file.
//
// States: queued -> running -> done | failed (with the error) | stopped (by request). Stopped and failed
// runs can be resumed (the child gets --resume). At most `maxRunning` children run at once (2 cores);
// the rest wait queued. On start-up the manager finds its runs again: a run still marked running lost its
// parent (the previous server), so it is marked failed and its process, if any, is ended; queued runs start.
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { RunServerEvent } from '../protocol/wire.js';
import type { SinkRecord } from '../data/metrics-sink.js';
import { RunRow, RunsStore } from '../data/runs-store.js';
import { alive, MANAGED_ENV } from '../data/sqlite-sink.js';
import { Store, StoreError, User } from '../data/store.js';
import { CliRunWatcher } from './cli-run-watcher.js';
import { checkRunConfig } from './run-config-check.js';
import { confineRunConfig, resolveWorkspace, Workspace } from './run-confine.js';
import { childEnv, watchDisk } from './run-process.js';
import { checkQuotas, readQuotas, RunQuotas } from './run-quotas.js';
import { RunLogs } from './run-logs.js';
import { parseRecord } from './run-records.js';

export const RUN_KINDS = ['sft', 'train-rm', 'ppo', 'grpo', 'rloo', 'dpo'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export interface RunManagerOptions {
  /** Folder of the runs' logs, launch configs and default output folders. Default: `runs/` beside the database. */
  runsDir: string;
  /** Children running at once; the rest wait queued. */
  maxRunning: number;
  /** The command a run's child starts with, before its flags. Default: node bin/rlhf.js <kind>. */
  command: (kind: string) => string[];
  /** Time a stopped child gets between SIGTERM and SIGKILL. */
  killAfterMs: number;
  /** Folders run configs may read besides the defaults (the package's data/, and models/, data/ and runs/ beside the store). */
  allowRead: string[];
  /** Folders an admin registered whose modules may serve as `reward` / `goldReward`. */
  rewardModules: string[];
  /** How often a running child's folder is measured against the disk quota. */
  diskCheckMs: number;
}

const RLHF_BIN = join(import.meta.dirname, '..', 'bin', 'rlhf.js');
const PACKAGE_DATA = join(import.meta.dirname, '..', 'data');
const MAX_LINE = 1 << 20; // a longer stdout line is logged, not parsed: bounded memory per child
const [LIVE_ROWS, LIVE_TEXT] = [32, 2000];

/**
 * Fields each kind's config must have; the child validates the rest and a bad value fails the run with its
 * message. GRPO, RLOO and DPO configs are checked whole against their schemas before queueing (run-config-check.ts).
 */
const REQUIRED: Record<RunKind, string[]> = { sft: ['data'], 'train-rm': [], ppo: [], grpo: [], rloo: [], dpo: [] };

export class RunManager {
  readonly runs: RunsStore;
  readonly opts: RunManagerOptions;
  private readonly children = new Map<string, ChildProcess>();
  private readonly stopping = new Set<string>();
  private readonly exited = new Map<string, Promise<void>>();
  private readonly watcher: CliRunWatcher;
  private closing = false;
  private readonly logs: RunLogs;
  readonly workspace: Workspace;

  constructor(private readonly store: Store, private readonly broadcast: (e: RunServerEvent) => void, o: Partial<RunManagerOptions> = {}) {
    this.runs = new RunsStore(store.db);
    this.opts = {
      runsDir: o.runsDir ?? join(dirname(resolve(store.db.name)), 'runs'),
      maxRunning: o.maxRunning ?? 1,
      command: o.command ?? ((kind) => [process.execPath, RLHF_BIN, kind]),
      killAfterMs: o.killAfterMs ?? 10_000,
      allowRead: o.allowRead ?? [],
      rewardModules: o.rewardModules ?? [],
      diskCheckMs: o.diskCheckMs ?? 5_000,
    };
    mkdirSync(this.opts.runsDir, { recursive: true });
    this.logs = new RunLogs(this.opts.runsDir);
    const home = dirname(resolve(store.db.name));
    this.workspace = resolveWorkspace({
      readRoots: [PACKAGE_DATA, join(home, 'models'), join(home, 'data'), this.opts.runsDir, ...this.opts.allowRead],
      rewardModules: this.opts.rewardModules,
      runsDir: this.opts.runsDir,
      storeFile: store.db.name,
    });
    this.recover();
    this.watcher = new CliRunWatcher(this.runs, broadcast);
    this.pump();
  }

  /** The quotas in force (admin-set, else the defaults). */
  quotas(): RunQuotas {
    return readQuotas(this.runs.setting('run_quotas'));
  }

  /**
   * Queue a run for `by` (null: the server itself, e.g. a test). The config is untrusted: its paths are
   * confined to the workspace (run-confine.ts) and its sizes to the quotas (run-quotas.ts); a refusal is a
   * StoreError('invalid') naming the field. The manager picks the run folder.
   */
  launch(kind: string, config: Record<string, unknown>, by: User | null = null): RunRow {
    if (!(RUN_KINDS as readonly string[]).includes(kind)) throw new StoreError('invalid', `body.kind: must be one of ${RUN_KINDS.join(', ')}`);
    for (const f of REQUIRED[kind as RunKind]) if (!Object.hasOwn(config, f)) throw new StoreError('invalid', `body.config.${f}: required for a ${kind} run`);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const id = `${kind}-${stamp}-${randomBytes(3).toString('hex')}`;
    const out = join(this.workspace.runsDir, id);
    const resolved = checkRunConfig(kind, confineRunConfig(kind, config, this.workspace, out));
    const quotas = this.quotas();
    checkQuotas(kind, resolved, quotas);
    const row = { id, kind, config: resolved, origin: 'server' as const, dir: out, owner: by?.id ?? null };
    writeFileSync(this.configFile(id), JSON.stringify(resolved, null, 2) + '\n'); // before the row: a queued run always has its file
    let run: RunRow;
    try {
      run = by ? this.runs.withinActive(by.id, quotas.maxQueuedPerUser, 'you have', () => this.runs.create(row)) : this.runs.create(row);
    } catch (e) {
      rmSync(this.configFile(id), { force: true });
      throw e;
    }
    this.audit(by, 'run.launch', { id, kind });
    this.changed(run);
    this.pump();
    return this.runs.get(id)!;
  }

  /** Stop a queued or running run (running: SIGTERM, then SIGKILL after killAfterMs). */
  stop(id: string, by: User | null = null): RunRow {
    const run = this.owned(id, by);
    this.audit(by, 'run.stop', { id });
    return this.halt(run);
  }

  private halt(run: RunRow): RunRow {
    const id = run.id;
    if (run.state === 'queued') return this.changed(this.runs.setState(id, 'stopped', { error: null }));
    const child = this.children.get(id);
    if (run.state !== 'running' || !child) throw new StoreError('conflict', `run ${id} is ${run.state}; only queued or running runs can be stopped`);
    this.stopping.add(id);
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), this.opts.killAfterMs);
    t.unref();
    child.once('close', () => clearTimeout(t));
    return run;
  }

  /** Queue a stopped or failed run again; its child continues from the latest checkpoint (--resume). */
  resume(id: string, by: User | null = null): RunRow {
    const run = this.owned(id, by);
    if (run.state !== 'stopped' && run.state !== 'failed') throw new StoreError('conflict', `run ${id} is ${run.state}; only stopped or failed runs can be resumed`);
    const requeue = () => this.runs.setState(id, 'queued');
    const queued = by && run.owner_id !== null
      ? this.runs.withinActive(run.owner_id, this.quotas().maxQueuedPerUser, run.owner_id === by.id ? 'you have' : 'its owner has', requeue)
      : requeue();
    this.audit(by, 'run.resume', { id });
    this.changed(queued);
    this.pump();
    return this.runs.get(id)!;
  }

  /**
   * Set a run's name, tags or notes (the dashboard's). Any researcher may annotate any run, a CLI run too:
   * the text changes nothing about how it trains, and the audit log keeps who wrote what.
   */
  setMeta(id: string, meta: { name?: string; tags?: string[]; notes?: string }, by: User | null = null): RunRow {
    if (!this.runs.get(id)) throw new StoreError('not_found', `no run ${id}`);
    const tags = meta.tags === undefined ? undefined : [...new Set(meta.tags.map((t) => t.trim()).filter(Boolean))];
    const run = this.runs.setMeta(id, { ...meta, tags });
    this.audit(by, 'run.meta', { id, ...meta });
    return this.changed(run);
  }

  /** The folder name of a run's latest checkpoint (its out/latest), or null when it has none: a resume then starts again from step 0. */
  latestCheckpoint(id: string): string | null {
    const dir = this.runs.get(id)?.dir;
    if (!dir) return null;
    try {
      return readFileSync(join(dir, 'latest'), 'utf8').trim() || null;
    } catch {
      return null;
    }
  }

  /** The last `bytes` of a run's log (its stderr and any stdout line that is not a record); its owner's and admins'. */
  log(id: string, by: User | null = null, bytes = 64 * 1024): string {
    this.readable(id, by);
    return this.logs.tail(id, bytes);
  }

  /** Stop every child (they end 'stopped', resumable) and wait for them to exit. */
  async close(): Promise<void> {
    this.closing = true;
    this.watcher.close();
    for (const id of this.children.keys()) this.halt(this.runs.get(id)!);
    await Promise.all(this.exited.values());
  }

  /** A run `by` may act on: their own, or any for an admin (and for the server itself). */
  private readable(id: string, by: User | null): RunRow {
    const run = this.runs.get(id);
    if (!run) throw new StoreError('not_found', `no run ${id}`);
    if (by && by.role !== 'admin' && run.owner_id !== by.id) throw new StoreError('forbidden', `run ${id} belongs to another user; only they and admins can do this`);
    return run;
  }

  private owned(id: string, by: User | null): RunRow {
    const run = this.readable(id, by);
    if (run.origin !== 'server') throw new StoreError('conflict', `run ${id} was started from the command line; stop or resume it there`);
    return run;
  }

  private audit(by: User | null, action: string, detail: object): void {
    this.store.audit(by?.id ?? null, action, detail);
  }

  private configFile(id: string): string {
    return join(this.opts.runsDir, `${id}.config.json`);
  }

  private changed(run: RunRow): RunRow {
    const { pid: _pid, dir: _dir, owner_id: _owner, ...view } = run;
    this.broadcast({ type: 'run', run: view });
    return run;
  }

  /** Runs marked running whose process is not ours: the previous server's children, or dead CLI runs. */
  private recover(): void {
    for (const run of this.runs.inState('running')) {
      if (run.origin === 'server') {
        // Its parent (the previous server) is gone, and with it the pipe its records went through.
        if (run.pid !== null && alive(run.pid) && cmdline(run.pid).includes(run.id)) process.kill(run.pid, 'SIGTERM');
        this.runs.setState(run.id, 'failed', { error: 'orphaned: the server stopped while this run was running; resume it to continue from its latest checkpoint' });
      } else if (run.pid === null || !alive(run.pid)) {
        this.runs.setState(run.id, 'failed', { error: `orphaned: its process (pid ${run.pid}) ended without recording how` });
      }
    }
  }

  /** Start queued runs, oldest first, while there is room. */
  private pump(): void {
    if (this.closing) return;
    for (const run of this.runs.inState('queued')) {
      if (this.children.size >= this.opts.maxRunning) return;
      if (run.origin !== 'server') continue;
      try {
        this.start(run);
      } catch (e) {
        // spawn throws (rather than emitting 'error') for some failures, e.g. ENOMEM: the run fails, the server goes on
        this.children.delete(run.id);
        this.changed(this.runs.setState(run.id, 'failed', { error: `could not start: ${(e as Error).message}` }));
      }
    }
  }

  private start(run: RunRow): void {
    const id = run.id;
    const resume = run.started_at !== null; // it ran before: continue from its checkpoint
    const [cmd, ...pre] = this.opts.command(run.kind);
    const args = [...pre, '--config', this.configFile(id), '--json', '--db', resolve(this.store.db.name), '--run-id', id, ...(resume ? ['--resume'] : [])];
    const how = !resume ? 'start' : this.latestCheckpoint(id) ? 'resume' : 'resume (no checkpoint: it starts again from step 0)';
    this.logs.append(id, `--- ${new Date().toISOString()} ${how}: ${[cmd, ...args].join(' ')}\n`);
    // detached: its own process group, so a Ctrl-C meant for the server does not kill it behind the manager's
    // back (the server's shutdown stops it, and it ends 'stopped'); if the server dies, it stops itself.
    // A scrubbed environment (run-process.ts): the child never sees the server's secrets, and it may import
    // reward modules only from the folders an admin registered (RLHF_REWARD_MODULES, checked where it imports).
    const env = childEnv(process.env, { [MANAGED_ENV]: id, RLHF_REWARD_MODULES: this.workspace.rewardModules.join(delimiter) });
    const child = spawn(cmd, args, { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.children.set(id, child);
    this.changed(this.runs.setState(id, 'running', { pid: child.pid ?? null }));
    // The disk quota: a run folder past it stops the run, which then fails with the reason.
    let overDisk: string | null = null;
    const mb = this.quotas().maxRunDiskMb;
    const unwatch = watchDisk(run.dir ?? join(this.opts.runsDir, id), mb * 2 ** 20, this.opts.diskCheckMs, () => {
      overDisk = `disk quota: the run folder passed ${mb} MB (an admin sets maxRunDiskMb with PUT /api/run-quotas)`;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), this.opts.killAfterMs).unref();
    });
    const tail: string[] = []; // last stderr lines, for the error message
    let spawnError: Error | null = null;
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop()!;
      if (pending.length > MAX_LINE) {
        lines.push(pending);
        pending = '';
      }
      this.onLines(id, lines);
    });
    let errPending = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.logs.append(id, chunk);
      const lines = (errPending + chunk).split('\n');
      errPending = lines.pop()!.slice(-MAX_LINE);
      for (const l of lines) if (l.trim()) tail.push(l.trim());
      tail.splice(0, Math.max(0, tail.length - 20));
    });
    child.on('error', (e) => (spawnError = e));
    this.exited.set(id, new Promise((done) => child.on('close', (code, signal) => {
      if (pending) this.onLines(id, [pending]);
      if (errPending.trim()) tail.push(errPending.trim());
      unwatch();
      this.children.delete(id);
      this.exited.delete(id);
      const stopped = this.stopping.delete(id) || this.closing;
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      this.logs.append(id, `--- ${new Date().toISOString()} ${how}\n`);
      if (overDisk) this.changed(this.runs.setState(id, 'failed', { error: overDisk, exitCode: code }));
      else if (spawnError) this.changed(this.runs.setState(id, 'failed', { error: `could not start ${cmd}: ${spawnError.message}` }));
      else if (stopped) this.changed(this.runs.setState(id, 'stopped', { exitCode: code }));
      else if (code === 0) this.changed(this.runs.setState(id, 'done', { exitCode: 0 }));
      else {
        const err = [...tail].reverse().find((l) => l.startsWith('error:'))?.slice(6).trim() ?? tail.at(-1) ?? how;
        this.changed(this.runs.setState(id, 'failed', { error: err, exitCode: code }));
      }
      done();
      this.pump();
    })));
  }

  /** Store a child's records in one transaction, log any other output, then push the records to dashboards. */
  private onLines(id: string, lines: string[]): void {
    const records: SinkRecord[] = [];
    const other: string[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      const r = parseRecord(line);
      if (r) records.push(r);
      else other.push(line.length > 10_000 ? `${line.slice(0, 10_000)}… (${line.length} characters)` : line);
    }
    if (other.length) this.logs.append(id, other.join('\n') + '\n');
    if (!records.length) return;
    this.runs.record(id, records);
    for (const r of records) {
      if (r.type === 'metrics') this.broadcast({ type: 'metrics', run_id: id, step: r.step, time: r.time, metrics: r.metrics });
      else if (r.type === 'samples') {
        // The live event carries a bounded preview (a slow socket's send buffer is capped at 256 kB);
        // the stored rows are complete and GET /api/runs/:id/samples serves them.
        const cut = (t: string) => (t.length > LIVE_TEXT ? `${t.slice(0, LIVE_TEXT)}…` : t);
        const rows = r.rows.slice(0, LIVE_ROWS).map((s) => ({
          step: r.step, prompt: cut(s.prompt), completion: cut(s.completion), score: Number.isFinite(s.score) ? s.score : null, gold: s.gold ?? null,
          ...(s.columns ? { columns: Object.fromEntries(Object.entries(s.columns).map(([k, v]) => [k, typeof v === 'string' ? cut(v) : v])) } : {}),
        }));
        this.broadcast({ type: 'samples', run_id: id, step: r.step, rows });
      }
      else {
        this.broadcast({ type: 'run-event', run_id: id, step: r.step, kind: r.kind, data: r.data });
        if (r.kind === 'config') this.changed(this.runs.get(id)!);
      }
    }
  }
}

/** A process's command line (Linux), to recognise our own child before signalling a recorded pid. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}
