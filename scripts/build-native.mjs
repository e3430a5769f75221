// Builds the native CPU backend's addon (binding.gyp, native/src) with npm's own node-gyp against the
// installed Node's headers. Runs as the package's install script. A failed build never fails the install:
// it leaves build/native-status.json saying why, and `--backend auto` then reports that and uses wasm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp, // set by npm for lifecycle scripts
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

function finish(ok, why, log = '') {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ok, why, time: new Date().toISOString(), node: process.version }, null, 2) + '\n');
  if (log) writeFileSync(join(root, 'build', 'native-build.log'), log);
  process.stdout.write(ok ? 'rlhf-trainer: native CPU backend built\n' : `rlhf-trainer: native CPU backend not built (${why}); --backend auto will use wasm\n`);
  process.exit(0);
}

if (process.env.RLHF_SKIP_NATIVE_BUILD) finish(false, 'RLHF_SKIP_NATIVE_BUILD is set');
const gyp = nodeGyp();
if (!gyp) finish(false, 'node-gyp not found (it ships with npm)');
// Build against the headers that ship with this Node (<prefix>/include/node), never a download.
const prefix = process.env.npm_config_nodedir || join(dirname(process.execPath), '..');
if (!existsSync(join(prefix, 'include', 'node', 'node_api.h'))) finish(false, `Node's headers not found under ${prefix}/include/node`);
const r = spawnSync(process.execPath, [gyp, 'rebuild', '--jobs', 'max', `--nodedir=${prefix}`], { cwd: root, encoding: 'utf8', env: process.env });
const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
if (r.status !== 0) {
  const firstError = log.split('\n').find((l) => /error/i.test(l))?.trim().slice(0, 200) ?? `exit ${r.status}`;
  finish(false, `node-gyp failed: ${firstError}; see build/native-build.log`, log);
}
finish(true, 'built', log);
