// Progress for long work: a redrawn bar with ETA and throughput on a TTY, else one line per interval.

export class Progress {
  private readonly start = Date.now();
  private lastLine = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'it',
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = 10_000,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** done: units finished; rateUnits: units of throughput finished so far (e.g. tokens); note: extra text. */
  update(done: number, rateUnits: number, note = ''): void {
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = elapsed > 0 ? rateUnits / elapsed : 0;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : NaN;
    const stats = `${done}/${this.total} ${fmtTime(elapsed)}<${fmtTime(eta)} ${rate.toFixed(0)} ${this.unit}/s ${note}`.trimEnd();
    if (this.tty) {
      const width = 24;
      const filled = Math.round((done / this.total) * width);
      this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}\x1b[K`);
      if (done >= this.total) this.stream.write('\n');
    } else if (Date.now() - this.lastLine >= this.intervalMs || done >= this.total || done === 1) {
      this.lastLine = Date.now();
      this.stream.write(`${this.label} ${stats}\n`);
    }
  }
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}
