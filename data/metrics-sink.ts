// Where a training run's numbers go. Trainers (SFT, reward model, PPO) call a MetricsSink and never know
// whether it prints JSON lines, writes the SQLite store, or both. Records are plain JSON so they can cross
// a process boundary (a run is a child process of the server; its stdout lines are these records).

/** One sample generation shown next to the curves. */
export interface SampleRow {
  prompt: string;
  completion: string;
  /** The reward the run optimises (after normalisation). */
  score: number;
  /** A programmatic gold reward, when one is configured. */
  gold?: number;
  /** More cells of the row: each reward function's own reward and the columns reward functions logged (GRPO, RLOO). */
  columns?: Record<string, string | number | boolean | null>;
}

/** A line of a run's event stream. `time` is Unix milliseconds. */
export type SinkRecord =
  | { type: 'metrics'; step: number; time: number; metrics: Record<string, number> }
  | { type: 'samples'; step: number; time: number; rows: SampleRow[] }
  | { type: 'event'; step: number; time: number; kind: string; data: Record<string, unknown> };

export interface MetricsSink {
  /** Scalars of one step, with TRL's names (`objective/kl`, `loss/value_avg`, ...). Non-finite values are kept as null. */
  metrics(step: number, values: Record<string, number>): void;
  /** A table of sample generations at a step. */
  samples(step: number, rows: SampleRow[]): void;
  /** Something that happened at a step: a checkpoint, a reward-model switch, early stop. */
  event(step: number, kind: string, data?: Record<string, unknown>): void;
  /** Flush and release whatever the sink holds. */
  close(): void;
}

/** Base class: turns each call into a SinkRecord and hands it to `write`. */
export abstract class RecordSink implements MetricsSink {
  protected abstract write(r: SinkRecord): void;
  metrics(step: number, values: Record<string, number>): void {
    this.write({ type: 'metrics', step, time: Date.now(), metrics: values });
  }
  samples(step: number, rows: SampleRow[]): void {
    this.write({ type: 'samples', step, time: Date.now(), rows });
  }
  event(step: number, kind: string, data: Record<string, unknown> = {}): void {
    this.write({ type: 'event', step, time: Date.now(), kind, data });
  }
  close(): void {}
}

/** One JSON object per line on a stream (stdout by default): what `--json` prints and what the run manager reads. */
export class JsonLinesSink extends RecordSink {
  constructor(private readonly out: { write(s: string): unknown } = process.stdout) {
    super();
  }
  protected write(r: SinkRecord): void {
    this.out.write(JSON.stringify(r) + '\n');
  }
}

/** Keeps records in memory (tests, and the end-of-run summary). */
export class MemorySink extends RecordSink {
  readonly records: SinkRecord[] = [];
  protected write(r: SinkRecord): void {
    this.records.push(r);
  }
  series(name: string): number[] {
    return this.records.flatMap((r) => (r.type === 'metrics' && name in r.metrics ? [r.metrics[name]] : []));
  }
}

/** Sends every call to several sinks. */
export class TeeSink implements MetricsSink {
  constructor(private readonly sinks: MetricsSink[]) {}
  metrics(step: number, values: Record<string, number>): void {
    for (const s of this.sinks) s.metrics(step, values);
  }
  samples(step: number, rows: SampleRow[]): void {
    for (const s of this.sinks) s.samples(step, rows);
  }
  event(step: number, kind: string, data?: Record<string, unknown>): void {
    for (const s of this.sinks) s.event(step, kind, data);
  }
  close(): void {
    for (const s of this.sinks) s.close();
  }
}
