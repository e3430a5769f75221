import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackendError, initBackend } from '../../backend/backend.js';
import { tempDir, useBackend } from '../helpers.js';

const root = join(import.meta.dirname, '..', '..');

/** `initBackend(name)` in a fresh process; returns its stderr and exit status. */
function chooseIn(name: string, env: Record<string, string>): { stderr: string; status: number | null } {
  const code = `import { initBackend } from '${join(root, 'backend', 'backend.ts')}'; await initBackend('${name}');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { stderr: r.stderr, status: r.status };
}

describe('backend/backend', () => {
  before(useBackend);
  after(useBackend);

  it('naming the native TensorFlow backend when it is not installed fails with one line saying how to get it', async function () {
    let err: Error | null = null;
    try {
      await initBackend('tensorflow', { quiet: true });
    } catch (e) {
      err = e as Error;
    }
    if (!err) this.skip(); // this machine has the native binding
    expect(err).to.be.instanceOf(BackendError);
    expect(err!.message).to.not.include('\n');
    expect(err!.message).to.match(/not available .*install @tensorflow\/tfjs-node/);
  });

  it('refuses an unknown backend name', async () => {
    let err: Error | null = null;
    await initBackend('tpu' as never, { quiet: true }).catch((e: Error) => (err = e));
    expect(err).to.be.instanceOf(BackendError);
    expect(String(err)).to.match(/unknown backend 'tpu'/);
  });

  it('auto picks a backend and says which on stderr', async () => {
    const write = process.stderr.write.bind(process.stderr);
    let said = '';
    process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
    try {
      const info = await initBackend('auto');
      expect(['tensorflow', 'native', 'wasm', 'cpu']).to.include(info.name);
    } finally {
      process.stderr.write = write;
    }
    expect(said).to.match(/^backend: (tensorflow|native|wasm|cpu)/);
  });

  it('auto falls back to wasm with one line saying why when the native addon is missing; naming it fails with how to build it', () => {
    const auto = chooseIn('auto', { RLHF_NATIVE_ADDON: '/nonexistent/rlhf_native.node' });
    expect(auto.status).to.equal(0);
    const lines = auto.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^backend: wasm .*native: addon not built/);
    const named = chooseIn('native', { RLHF_NATIVE_ADDON: '/nonexistent/rlhf_native.node' });
    expect(named.status).to.not.equal(0);
    expect(named.stderr).to.match(/backend 'native' is not available .*npm run build:native/);
  });

  it('a failed addon build leaves the install successful, with the reason recorded and printed on one line', function () {
    this.timeout(120_000);
    const dir = tempDir();
    for (const p of ['binding.gyp', 'native', 'scripts']) cpSync(join(root, p), join(dir, p), { recursive: true });
    const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build-native.mjs')], { encoding: 'utf8', env: { ...process.env, CXX: 'false', CC: 'false' } });
    expect(r.status).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.have.length(1);
    expect(r.stdout).to.match(/native CPU backend not built \(node-gyp failed: .*\); --backend auto will use wasm/);
    const status = JSON.parse(readFileSync(join(dir, 'build', 'native-status.json'), 'utf8'));
    expect(status.ok).to.equal(false);
  });
});
