// rlhf start's admin credential: printed only on a terminal or with --json (a log of piped stdout holds
// none), kept in a 0600 file beside the store and reused at a restart, and never changed by a second start
// that fails on a busy port.
import { expect } from 'chai';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

interface Started { child: ChildProcess; out: string; stop: () => Promise<void> }

/** rlhf start with stdout piped; resolves once it has printed its banner (or --json line). */
async function start(db: string, ...args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'start', '--db', db, '--seed-tasks', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (/add labelers|\}\n/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`rlhf start exited (${code}): ${err}`)));
  });
  return { child, out, stop: async () => (child.kill('SIGTERM'), await exited, undefined) };
}

const me = async (url: string, token: string) => (await fetch(`${url}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status;

describe('cli: rlhf start keeps the admin token out of logs', function () {
  this.timeout(60_000);

  it('with stdout piped prints the token file, not the token; the file is 0600 and its token works; a busy port changes nothing; a restart keeps the token', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const file = join(dir, 'rlhf.admin-token');
    const a = await start(db, '--port', '0');
    let url: string;
    let token: string;
    try {
      url = a.out.match(/on (http:\/\/\S+)/)![1];
      token = readFileSync(file, 'utf8').trim();
      expect(token).to.match(/^[\w-]{43}$/);
      expect(a.out).to.not.include(token);
      expect(a.out).to.include(file);
      expect(a.out).to.not.include('#token=');
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(await me(url, token)).to.equal(200);

      // a second start on the same port: one error line, non-zero exit, and the first token still works
      const port = new URL(url).port;
      const second = spawnSync(process.execPath, [BIN, 'start', '--db', db, '--seed-tasks', '0', '--port', port], { encoding: 'utf8', timeout: 30_000 });
      expect(second.status).to.equal(1);
      expect(second.stderr).to.match(/^error: .*already in use/);
      expect(second.stderr.trim().split('\n')).to.have.length(1);
      expect(await me(url, token)).to.equal(200);
      expect(readFileSync(file, 'utf8').trim()).to.equal(token);
    } finally {
      await a.stop();
    }

    // a restart reuses the kept token (pages opened with it keep working); --json prints it
    const b = await start(db, '--port', '0', '--json');
    try {
      const info = JSON.parse(b.out);
      expect(info.admin_token).to.equal(token);
      expect(info.admin_token_file).to.equal(file);
      expect(await me(info.url, token)).to.equal(200);
    } finally {
      await b.stop();
    }
  });

  it('a missing or stale token file gives the admin a new token, written 0600', async () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    const file = join(dir, 'rlhf.admin-token');
    const a = await start(db, '--port', '0', '--json');
    const first = JSON.parse(a.out).admin_token as string;
    await a.stop();
    const rot = spawnSync(process.execPath, [BIN, 'users', 'token', '--name', 'admin', '--db', db], { encoding: 'utf8' });
    expect(rot.status, rot.stderr).to.equal(0); // the file's token is stale now
    const b = await start(db, '--port', '0', '--json');
    try {
      const info = JSON.parse(b.out);
      expect(info.admin_token).to.not.equal(first);
      expect(readFileSync(file, 'utf8').trim()).to.equal(info.admin_token);
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(await me(info.url, info.admin_token)).to.equal(200);
    } finally {
      await b.stop();
    }
    rmSync(file);
    const c = await start(db, '--port', '0', '--json');
    try {
      const info = JSON.parse(c.out);
      expect(readFileSync(file, 'utf8').trim()).to.equal(info.admin_token);
      expect(await me(info.url, info.admin_token)).to.equal(200);
    } finally {
      await c.stop();
    }
  });
});
