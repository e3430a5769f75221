// Runs started by hand (`rlhf <kind> --db`) write their records straight into the store; the server did
// not launch them, so nothing tells it. While such a run is marked running, this watcher looks once a
// second for its new metric rows and state, and pushes them to dashboards like a managed run's.
import type { RunServerEvent } from '../protocol/wire.js';
import { RunsStore } from '../data/runs-store.js';

const POLL_MS = 1000;

export class CliRunWatcher {
  private readonly timer: NodeJS.Timeout;
  /** Last step pushed per watched run. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly runs: RunsStore, private readonly broadcast: (e: RunServerEvent) => void) {
    this.timer = setInterval(() => this.poll(), POLL_MS);
    this.timer.unref();
  }

  poll(): void {
    const running = this.runs.inState('running').filter((r) => r.origin === 'cli');
    const now = new Set(running.map((r) => r.id));
    for (const [id, step] of this.seen) {
      if (now.has(id)) continue;
      this.seen.delete(id); // it ended: push what came last, then its final state
      this.push(id, step);
      const run = this.runs.get(id);
      if (run) this.broadcast({ type: 'run', run: view(run) });
    }
    for (const run of running) {
      const step = this.seen.get(run.id);
      if (step === undefined) {
        this.seen.set(run.id, run.last_step ?? -1); // newly seen: pages load its history over HTTP
        this.broadcast({ type: 'run', run: view(run) });
      } else this.seen.set(run.id, this.push(run.id, step));
    }
  }

  /** Push the run's metrics after `since`, one event per step; returns the last step pushed. */
  private push(id: string, since: number): number {
    const bySteps = new Map<number, { time: number; metrics: Record<string, number | null> }>();
    for (const [name, s] of Object.entries(this.runs.metrics(id, since))) {
      s.step.forEach((step, i) => {
        const e = bySteps.get(step) ?? { time: s.time[i], metrics: {} };
        e.metrics[name] = s.value[i];
        bySteps.set(step, e);
      });
    }
    let last = since;
    for (const step of [...bySteps.keys()].sort((a, b) => a - b)) {
      this.broadcast({ type: 'metrics', run_id: id, step, ...bySteps.get(step)! });
      last = step;
    }
    return last;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function view<T extends { pid: unknown; dir: unknown }>(r: T): Omit<T, 'pid' | 'dir'> {
  const { pid: _p, dir: _d, ...rest } = r;
  return rest;
}
