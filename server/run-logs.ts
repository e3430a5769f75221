// Runs' log files (`runs/<id>.log`): a child's stderr and any stdout line that is not a record, plus the
// manager's own start and exit lines. A log stops growing at a cap (with one note saying so), so a chatty
// child cannot fill the disk through its log; reading one returns only its end.
import { appendFileSync, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LOG = 16 << 20;

export class RunLogs {
  private readonly bytes = new Map<string, number>();

  constructor(private readonly dir: string, private readonly cap = MAX_LOG) {}

  file(id: string): string {
    return join(this.dir, `${id}.log`);
  }

  append(id: string, text: string): void {
    const file = this.file(id);
    const n = this.bytes.get(id) ?? (existsSync(file) ? statSync(file).size : 0);
    if (n >= this.cap) return;
    const size = Buffer.byteLength(text);
    if (n + size < this.cap) {
      appendFileSync(file, text);
      this.bytes.set(id, n + size);
    } else {
      appendFileSync(file, `--- the log reached ${(this.cap / 2 ** 20).toFixed(0)} MB; the rest of this run's output is not kept\n`);
      this.bytes.set(id, this.cap);
    }
  }

  /** The last `bytes` of a run's log ('' before it has one). */
  tail(id: string, bytes = 64 * 1024): string {
    const file = this.file(id);
    if (!existsSync(file)) return '';
    const size = statSync(file).size;
    const n = Math.min(size, bytes);
    const buf = Buffer.alloc(n);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buf, 0, n, size - n);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8');
  }
}
