// npm start (rlhf start): a fresh store gets an admin with a new token, starter-model comparisons in its
// queue, and a server whose pages and API answer; a second start keeps the token and the tasks.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

async function start(db: string): Promise<{ info: Record<string, string>; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'start', '--db', db, '--port', '0', '--seed-tasks', '3', '--json', '--backend', process.env.RLHF_TEST_BACKEND ?? 'wasm'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`rlhf start exited (${code}): ${err}`)));
  });
  return { info: JSON.parse(line), stop: async () => (child.kill('SIGTERM'), await exited, undefined) };
}

describe('cli: rlhf start (npm start)', function () {
  this.timeout(120_000);

  it('serves the pages on a seeded store and prints a working admin token, the same at the next start', async () => {
    const db = join(tempDir(), 'rlhf.db');
    const a = await start(db);
    let first: string;
    try {
      const { url, admin_token: token, label, dashboard } = a.info;
      first = token;
      expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(label).to.equal(`${url}/label#token=${token}`);
      expect(dashboard).to.equal(`${url}/dashboard#token=${token}`);
      for (const page of ['/label', '/dashboard', '/project']) expect((await fetch(url + page)).status, page).to.equal(200);
      const auth = { Authorization: `Bearer ${token}` };
      expect(await (await fetch(`${url}/api/me`, { headers: auth })).json()).to.include({ name: 'admin', role: 'admin' });
      const stats = (await (await fetch(`${url}/api/stats`, { headers: auth })).json()) as { tasks?: number; totals?: { tasks: number } };
      expect(JSON.stringify(stats)).to.match(/"tasks":3\b/);
      expect((await fetch(`${url}/api/me`, { headers: { Authorization: 'Bearer nope' } })).status).to.equal(401);
    } finally {
      await a.stop();
    }
    const b = await start(db);
    try {
      const { url, admin_token: token } = b.info;
      expect(token).to.equal(first!); // open pages keep working across a restart
      expect((await fetch(`${url}/api/me`, { headers: { Authorization: `Bearer ${first!}` } })).status).to.equal(200);
      const stats = await (await fetch(`${url}/api/stats`, { headers: { Authorization: `Bearer ${token}` } })).json();
      expect(JSON.stringify(stats)).to.match(/"tasks":3\b/); // not seeded twice
    } finally {
      await b.stop();
    }
  });
});
