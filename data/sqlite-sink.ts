// A MetricsSink that writes a run's records into the SQLite store, and the one helper every trainer
// command (`rlhf sft | train-rm | ppo`) uses to pick its sinks from --json, --db and --run-id.
//
// Who writes a run's records: a run started by hand with --db writes them itself (SqliteSink) and keeps
// its own runs row up to date, so it shows in the dashboard. A run launched by the server's run manager
// gets RLHF_MANAGED_RUN=<id> in its environment: the manager already stores what the child prints on
// stdout and owns the row, so the child only prints (one writer per run, no duplicate rows).
import { DB, openDb } from './db.js';
import { JsonLinesSink, MetricsSink, RecordSink, SinkRecord, TeeSink } from './metrics-sink.js';
import { RunsStore, RunState } from './runs-store.js';
import { sysSampler } from './sys-metrics.js';

/** The environment variable the run manager sets on its children (value: the run id). */
export const MANAGED_ENV = 'RLHF_MANAGED_RUN';

export class SqliteSink extends RecordSink {
  constructor(private readonly runs: RunsStore, readonly runId: string) {
    super();
  }
  protected write(r: SinkRecord): void {
    this.runs.record(this.runId, [r]);
  }
}

/** A command's sink, plus the end of the run: `finish` records how it ended (a no-op without --db). */
export interface RunSink extends MetricsSink {
  finish(state: Extract<RunState, 'done' | 'failed' | 'stopped'>, error?: string): void;
}

export interface RunSinkOptions {
  kind: string;
  /** The run's id in the store. */
  runId: string;
  /** Print records as JSON lines on stdout. */
  json: boolean;
  /** Record the run in this SQLite file. */
  db?: string;
  /** The resolved config, stored with the run and reported as a 'config' event. */
  config: Record<string, unknown>;
  /** The run's folder, shown with it. */
  dir?: string;
  /** The command continues an earlier run (--resume): its row is reopened instead of refused. */
  resume?: boolean;
  /** Stream for JSON lines (stdout by default). */
  out?: { write(s: string): unknown };
  /** Environment to read MANAGED_ENV from (process.env by default). */
  env?: Record<string, string | undefined>;
}

/**
 * The sinks for a trainer command. With --db (and not under the run manager) the run gets a row in the
 * store in state 'running' with this process's pid, created or, for --resume, reopened; a SIGINT or
 * SIGTERM marks it 'stopped' before the process exits. Reports the resolved config as an event at step 0.
 */
export function openRunSink(o: RunSinkOptions): RunSink {
  const env = o.env ?? process.env;
  const managed = env[MANAGED_ENV] !== undefined;
  if (managed && env[MANAGED_ENV] !== o.runId) throw new Error(`--run-id ${o.runId} differs from the run manager's ${env[MANAGED_ENV]}`);
  const sinks: MetricsSink[] = [];
  if (o.json || managed) sinks.push(new JsonLinesSink(managed ? exitWhenOrphaned(o.out ?? process.stdout) : o.out));
  let db: DB | null = null;
  let runs: RunsStore | null = null;
  if (o.db && !managed) {
    db = openDb(o.db);
    runs = new RunsStore(db);
    claimRun(runs, o);
    sinks.push(new SqliteSink(runs, o.runId));
  }
  const tee = new TeeSink(sinks);
  let finished = false;
  const onSignal = (sig: NodeJS.Signals) => {
    finish('stopped', `stopped by ${sig}`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  const finish = (state: 'done' | 'failed' | 'stopped', error?: string) => {
    if (finished) return;
    finished = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (runs) runs.setState(o.runId, state, { error: error ?? null, exitCode: state === 'done' ? 0 : null });
    tee.close();
    db?.close();
  };
  if (runs) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  tee.event(0, 'config', o.config);
  const sys = sysSampler(); // the process's CPU and memory ride along with its metrics (sys/*)
  return {
    metrics: (step, values) => tee.metrics(step, { ...values, ...sys() }),
    samples: (step, rows) => tee.samples(step, rows),
    event: (step, kind, data) => tee.event(step, kind, data),
    close: () => finish('done'),
    finish,
  };
}

/**
 * Under the run manager, stdout is a pipe to the server. If the server dies (a crash, kill -9), no one
 * records this run's steps any more and the restarted server marks the run failed: stop at the next
 * record, a step boundary (checkpoints are written atomically), rather than train on unseen; resume
 * continues it. The parent's death shows as a new parent pid (the orphan is re-parented): a write to the
 * broken pipe alone cannot tell, since it is queued and fails only when the training loop yields.
 */
function exitWhenOrphaned(out: { write(s: string): unknown; destroyed?: boolean; on?: (e: 'error', f: () => void) => unknown }): { write(s: string): unknown } {
  const parent = process.ppid;
  out.on?.('error', () => process.exit(1)); // EPIPE, whenever it does arrive
  return {
    write: (s: string) => {
      if (process.ppid !== parent || out.destroyed) process.exit(1);
      out.write(s);
    },
  };
}

/** Create the run's row, or reopen it (a resume); refuse when another live process is running it. */
function claimRun(runs: RunsStore, o: RunSinkOptions): void {
  const prev = runs.get(o.runId);
  if (!prev) {
    runs.create({ id: o.runId, kind: o.kind, config: o.config, origin: 'cli', dir: o.dir ?? null, state: 'running', pid: process.pid });
    return;
  }
  if (!o.resume) throw new Error(`run '${o.runId}' already exists in ${o.db}; pass --resume to continue it, or choose another --run-id`);
  if (prev.kind !== o.kind) throw new Error(`run '${o.runId}' in ${o.db} is a ${prev.kind} run, not ${o.kind}; choose another --run-id`);
  if ((prev.state === 'running' || prev.state === 'queued') && prev.pid !== null && prev.pid !== process.pid && alive(prev.pid)) {
    throw new Error(`run '${o.runId}' is already running (pid ${prev.pid})`);
  }
  if (prev.origin === 'server' && (prev.state === 'running' || prev.state === 'queued')) {
    throw new Error(`run '${o.runId}' belongs to the server's run manager; resume it from the dashboard`);
  }
  runs.setState(o.runId, 'running', { pid: process.pid });
  runs.setConfig(o.runId, o.config);
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
