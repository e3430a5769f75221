// Label-server benchmark: a real `rlhf serve` process on loopback and C concurrent clients, each labeling
// the way the labeling page does: GET /api/tasks/next once, then POST /api/labels?next=true in a loop
// (submit-and-next: each response acknowledges the label and carries the next task). Prints one JSON
// line per concurrency level: acknowledged (201) labels/s and the POST latency percentiles.
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Store } from '../data/store.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'rlhf.js');
const levels = (process.argv[2] ?? '1,16,64').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 8);

const TICK = 100; // USER_HZ: the unit of /proc's CPU times on Linux
/** CPU seconds a process has used (user + system, all threads), from /proc. */
function procCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}
/** Median ms of a 4 KiB write + fdatasync in `dir`: what one durable commit waits for on this disk now. */
function fsyncMs(dir: string): number {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const block = Buffer.alloc(4096, 1);
  const t: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    writeSync(fd, block);
    fdatasyncSync(fd);
    t.push(performance.now() - t0);
  }
  closeSync(fd);
  return t.sort((a, b) => a - b)[t.length >> 1];
}
/** CPU seconds the whole machine has been busy (all cores, everything but idle and iowait). */
function machineCpu(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / TICK;
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time, with just enough framing for our server's
 * answers (Content-Length bodies). The load generator shares the 2 cores with the server, and node:http's
 * client cost about as much CPU per request as the server's whole handling of it; this costs a fraction.
 */
class Conn {
  private readonly sock: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: { status: number; body: string }) => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly host: string, port: number) {
    this.sock = connect(port, host);
    this.sock.setNoDelay(true);
    this.sock.on('data', (d: Buffer) => this.read(d));
    this.sock.on('error', (e) => this.waiting?.reject(e));
    this.sock.on('close', () => this.waiting?.reject(new Error('connection closed')));
  }

  call(method: string, path: string, auth: string, body?: string): Promise<{ status: number; body: string }> {
    const head = `${method} ${path} HTTP/1.1\r\nHost: ${this.host}\r\nAuthorization: Bearer ${auth}\r\n`;
    this.sock.write(body === undefined ? head + '\r\n' : `${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  private read(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    if (/\r\ntransfer-encoding:/i.test(head)) throw new Error('bench client: chunked answers are not supported');
    const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buf.length < end + 4 + len) return;
    const body = this.buf.toString('utf8', end + 4, end + 4 + len);
    this.buf = this.buf.subarray(end + 4 + len);
    const w = this.waiting!;
    this.waiting = null;
    w.resolve({ status, body });
  }

  close(): void {
    this.sock.destroy();
  }
}

for (const clients of levels) {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-bench-'));
  const db = join(dir, 'rlhf.db');
  const fsync = fsyncMs(dir);
  const store = new Store(db);
  const tokens = Array.from({ length: clients }, (_, i) => store.addUser(`l${i}`, 'labeler'));
  store.setSetting('overlap', String(clients), null);
  for (let i = 0; i < 40; i++) store.addTasks(Array.from({ length: 1000 }, (_, j) => ({ prompt: `prompt ${i}.${j}`, completions: [{ text: 'a '.repeat(40) }, { text: 'b '.repeat(40) }] })));
  store.close();
  const proc = spawn(process.execPath, [...(process.env.RLHF_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.RLHF_PROF] : []), BIN, 'serve', '--port', '0', '--db', db, '--json', '--rate-limit', '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r)));
  const lat: number[] = [];
  let errors = 0;
  const { hostname, port } = new URL(url);
  // Warm-up, not timed: every client connects and gets its first task (which also waits for the server's
  // writer thread to start).
  const conns = tokens.map(() => new Conn(hostname, Number(port)));
  const firsts = await Promise.all(conns.map((c, i) => c.call('GET', '/api/tasks/next', tokens[i])));
  const cpu0 = [process.cpuUsage(), procCpu(proc.pid!), machineCpu()] as const;
  const end = performance.now() + seconds * 1000;
  await Promise.all(conns.map(async (conn, i) => {
    let task = firsts[i].status === 200 ? (JSON.parse(firsts[i].body) as { id: number }) : null;
    for (let n = 0; task && performance.now() < end; n++) {
      const t0 = performance.now();
      const r = await conn.call('POST', '/api/labels?next=true', tokens[i], JSON.stringify({ taskId: task.id, clientId: `${i}-${task.id}`, kind: 'ranking', ranking: n % 2 ? [0, 1] : [1, 0], ms: 1000 }));
      if (r.status !== 201) {
        errors++;
        break;
      }
      lat.push(performance.now() - t0);
      task = (JSON.parse(r.body) as { next: { id: number } | null }).next;
    }
    conn.close();
  }));
  const c = process.cpuUsage(cpu0[0]);
  // CPU seconds over the run: this client process, the server process (all its threads), and the whole
  // machine (all processes: whatever else was running shows here).
  const cpu = { client: (c.user + c.system) / 1e6, server: procCpu(proc.pid!) - cpu0[1], machine: machineCpu() - cpu0[2] };
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  process.stdout.write(JSON.stringify({ clients, labelsPerSec: lat.length / seconds, p50: q(0.5), p99: q(0.99), errors, seconds, cpu, fsyncMs: fsync }) + '\n');
}
