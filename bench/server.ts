// Label-server benchmark: a real `rlhf serve` process on loopback and C concurrent clients, each labeling
// the way the labeling page does: GET /api/tasks/next once, then POST /api/labels?next=true in a loop
// (submit-and-next: each response acknowledges the label and carries the next task). Prints one JSON
// line per concurrency level: acknowledged (201) labels/s and the POST latency percentiles.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Store } from '../data/store.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'rlhf.js');
const levels = (process.argv[2] ?? '1,16,64').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 8);

// node:http with a keep-alive agent: a lighter client than fetch, since client and server share 2 cores.
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
function call(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body ? { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : headers, agent }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (const clients of levels) {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-bench-'));
  const db = join(dir, 'rlhf.db');
  const store = new Store(db);
  const tokens = Array.from({ length: clients }, (_, i) => store.addUser(`l${i}`, 'labeler'));
  store.setSetting('overlap', String(clients), null);
  for (let i = 0; i < 40; i++) store.addTasks(Array.from({ length: 1000 }, (_, j) => ({ prompt: `prompt ${i}.${j}`, completions: [{ text: 'a '.repeat(40) }, { text: 'b '.repeat(40) }] })));
  store.close();
  const proc = spawn(process.execPath, [...(process.env.RLHF_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.RLHF_PROF] : []), BIN, 'serve', '--port', '0', '--db', db, '--json', '--rate-limit', '1000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { url } = JSON.parse(await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r)));
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(tokens.map(async (tok, i) => {
    const auth = { Authorization: `Bearer ${tok}` };
    const first = await call(`${url}/api/tasks/next`, 'GET', auth);
    let task = first.status === 200 ? (JSON.parse(first.body) as { id: number }) : null;
    for (let n = 0; task && performance.now() < end; n++) {
      const t0 = performance.now();
      const r = await call(`${url}/api/labels?next=true`, 'POST', auth, JSON.stringify({ taskId: task.id, clientId: `${i}-${task.id}`, kind: 'ranking', ranking: n % 2 ? [0, 1] : [1, 0], ms: 1000 }));
      if (r.status !== 201) {
        errors++;
        break;
      }
      lat.push(performance.now() - t0);
      task = (JSON.parse(r.body) as { next: { id: number } | null }).next;
    }
  }));
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  process.stdout.write(JSON.stringify({ clients, labelsPerSec: lat.length / seconds, p50: q(0.5), p99: q(0.99), errors }) + '\n');
}
