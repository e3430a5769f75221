// The server as its own process: kill -9 in the middle of a burst of labels, and an export far larger
// than the server's memory growth.
import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

async function serve(db: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--db', db, '--json', '--rate-limit', '100000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (c) => reject(new Error(`server exited with ${c}`)));
  });
  return { proc, url: JSON.parse(line).url };
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

describe('server process', function () {
  this.timeout(180_000);

  it('kill -9 during a burst of submits from many clients: every acknowledged label survives, integrity ok', async () => {
    const db = join(tempDir(), 'rlhf.db');
    const store = new Store(db);
    const tokens = Array.from({ length: 24 }, (_, i) => store.addUser(`l${i}`, 'labeler'));
    store.setSetting('overlap', '24', null);
    store.addTasks(Array.from({ length: 400 }, (_, i) => ({ prompt: `p${i}`, completions: [{ text: `a${i}` }, { text: `b${i}` }] })));
    store.close();
    const { proc, url } = await serve(db);
    const acked: { user: string; clientId: string }[] = [];
    const errors: string[] = [];
    let killed = false;
    const client = async (i: number) => {
      const auth = { Authorization: `Bearer ${tokens[i]}` };
      for (let n = 0; !killed; n++) {
        try {
          const t = await fetch(`${url}/api/tasks/next`, { headers: auth });
          if (t.status !== 200) return;
          const { id } = (await t.json()) as { id: number };
          const clientId = `l${i}-${id}`;
          const r = await fetch(`${url}/api/labels`, {
            method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ taskId: id, clientId, kind: 'ranking', ranking: n % 2 ? [0, 1] : [1, 0] }),
          });
          await r.arrayBuffer();
          if (r.status === 201 || r.status === 200) acked.push({ user: `l${i}`, clientId });
        } catch (e) {
          if (!killed) errors.push(`${e} (${(e as { cause?: unknown }).cause})`);
          return; // the server is gone
        }
      }
    };
    const clients = tokens.map((_, i) => client(i));
    const started = performance.now();
    while (acked.length < 300) {
      if (performance.now() - started > 60_000) throw new Error(`only ${acked.length} labels acknowledged in 60 s; client errors: ${errors.slice(0, 3).join('; ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const exited = new Promise((r) => proc.once('exit', r)); // listen before the kill: the event may come at once
    proc.kill('SIGKILL');
    killed = true;
    await Promise.all(clients);
    await exited;
    const after = new Store(db);
    expect(after.db.pragma('integrity_check', { simple: true })).to.equal('ok');
    const has = after.db.prepare('SELECT 1 FROM labels l JOIN users u ON u.id = l.user_id WHERE u.name = ? AND l.client_id = ?').pluck();
    const missing = acked.filter((a) => !has.get(a.user, a.clientId));
    expect(acked.length).to.be.at.least(300);
    expect(missing).to.deep.equal([]);
    after.close();
  });

  it('streams an export of 100k labels in flat memory while concurrent writers never see "database is locked"', async () => {
    const db = join(tempDir(), 'rlhf.db');
    const store = new Store(db);
    const admin = store.addUser('boss', 'admin');
    store.addUser('ann', 'labeler');
    const writers = Array.from({ length: 8 }, (_, i) => store.addUser(`w${i}`, 'labeler'));
    store.setSetting('overlap', '9', null);
    const long = (c: string) => c.repeat(1000);
    store.db.exec(`
      INSERT INTO prompts (id, text, created_at) VALUES (1, 'p', 'now');
      INSERT INTO completions (id, prompt_id, text, created_at) VALUES (1, 1, '${long('a')}', 'now'), (2, 1, '${long('b')}', 'now');
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
        INSERT INTO tasks (id, prompt_id, k, created_at) SELECT i, 1, 2, 'now' FROM n;
      INSERT INTO task_completions (task_id, position, completion_id) SELECT id, 0, 1 FROM tasks UNION ALL SELECT id, 1, 2 FROM tasks;
      INSERT INTO assignments (task_id, user_id, assigned_at, done_at) SELECT id, 2, 'now', 'now' FROM tasks;
      INSERT INTO labels (task_id, user_id, client_id, kind, ranking, created_at) SELECT id, 2, 'c' || id, 'ranking', '[0,1]', 'now' FROM tasks;
    `);
    store.close();
    const { proc, url } = await serve(db);
    try {
      const base = rssKiB(proc.pid!);
      let peak = base;
      const timer = setInterval(() => (peak = Math.max(peak, rssKiB(proc.pid!))), 50);
      const res = await fetch(`${url}/api/export?format=full`, { headers: { Authorization: `Bearer ${admin}` } });
      // writers label while the export streams
      let exporting = true;
      const statuses: number[] = [];
      const writing = Promise.all(writers.map(async (tok) => {
        const auth = { Authorization: `Bearer ${tok}` };
        while (exporting) {
          const t = await fetch(`${url}/api/tasks/next`, { headers: auth });
          const { id } = (await t.json()) as { id: number };
          const r = await fetch(`${url}/api/labels`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ taskId: id, clientId: `c${id}`, kind: 'skip' }) });
          statuses.push(r.status);
          await r.arrayBuffer();
        }
      }));
      let bytes = 0;
      let lines = 0;
      const decoder = new TextDecoder();
      const reader = res.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        bytes += r.value.length;
        lines += (decoder.decode(r.value, { stream: true }).match(/\n/g) ?? []).length;
      }
      clearInterval(timer);
      exporting = false;
      await writing;
      expect(statuses.length).to.be.at.least(8); // slow (the export shares the event loop) but never refused
      expect(statuses.every((x) => x === 201)).to.equal(true);
      expect(lines).to.equal(100_000); // the export is one snapshot: labels written meanwhile are not in it
      expect(bytes).to.be.greaterThan(200e6);
      // the server grew by far less than what it sent (it never held the export)
      expect((peak - base) * 1024).to.be.lessThan(bytes / 4);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
