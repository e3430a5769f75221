// rlhf serve --allow-read / --reward-modules: the folders an admin gives on the command line are the only
// places beyond the defaults a run config from the API may read, or import reward code from.
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');

describe('cli: rlhf serve workspace flags', function () {
  this.timeout(60_000);

  it('adds --allow-read folders to the readable roots and lists --reward-modules folders', async () => {
    const dir = realpathSync(tempDir());
    const db = join(dir, 'rlhf.db');
    for (const d of ['shared-models', 'rewards', 'private']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'shared-models', 'prompts.txt'), 'Once\n');
    writeFileSync(join(dir, 'private', 'prompts.txt'), 'Once\n');
    const token = execFileSync(process.execPath, [BIN, 'users', 'add', '--name', 'rita', '--role', 'researcher', '--db', db], { encoding: 'utf8' }).trim();
    const child = spawn(process.execPath, [BIN, 'serve', '--db', db, '--port', '0', '--json', '--allow-read', join(dir, 'shared-models'), '--reward-modules', join(dir, 'rewards')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const { url } = JSON.parse(await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve))) as { url: string };
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(url + path, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, data: (await res.json()) as Record<string, unknown> };
      };
      const listed = await call('GET', '/api/reward-modules');
      expect(listed.data.folders).to.deep.equal([join(dir, 'rewards')]);
      expect(listed.data.read).to.include(join(dir, 'shared-models'));
      // the flag's folder is readable (the run is queued), a sibling is not
      const ok = await call('POST', '/api/runs', { kind: 'ppo', config: { prompts: join(dir, 'shared-models', 'prompts.txt'), steps: 1 } });
      expect(ok.status).to.equal(201);
      await call('POST', `/api/runs/${ok.data.id}/stop`);
      const refused = await call('POST', '/api/runs', { kind: 'ppo', config: { prompts: join(dir, 'private', 'prompts.txt'), steps: 1 } });
      expect(refused.status).to.equal(400);
      expect(refused.data.error).to.match(/^body\.config\.prompts: must be inside the server's workspace/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
