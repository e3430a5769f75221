// rlhf users disable/enable/role (with the last-admin guard), and the store rule every label-store command
// follows: one default (.rlhf/rlhf.db, as rlhf start), and a --db that does not exist is one error line for
// the commands that only read or change a store (never an empty store left behind).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OPENINGS, STARTER } from '../../cli/start.js';
import { Store } from '../../data/store.js';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'rlhf.js');
const rlhfIn = (cwd: string | undefined, ...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const rlhf = (...args: string[]) => rlhfIn(undefined, ...args);
const oneErrorLine = (r: { code: number | null; err: string }, re: RegExp) => {
  expect(r.code, r.err).to.equal(1);
  expect(r.err).to.match(/^error: /);
  expect(r.err.trim().split('\n'), r.err).to.have.length(1);
  expect(r.err).to.match(re);
};

describe('cli: users disable, enable, role; which commands create a store', function () {
  this.timeout(120_000);

  it('disables and enables a user, changes a role, and refuses to disable or demote the last enabled admin', () => {
    const db = join(tempDir(), 'rlhf.db');
    expect(rlhf('users', 'add', '--name', 'boss', '--role', 'admin', '--db', db).code).to.equal(0);
    const ann = rlhf('users', 'add', '--name', 'ann', '--role', 'labeler', '--db', db).out.trim();
    const check = (fn: (s: Store) => void) => {
      const s = new Store(db);
      try {
        fn(s);
      } finally {
        s.close();
      }
    };
    const off = rlhf('users', 'disable', '--name', 'ann', '--db', db);
    expect(off.code, off.err).to.equal(0);
    check((s) => expect(s.authenticate(ann)).to.equal(null));
    expect(rlhf('users', 'list', '--db', db).out).to.match(/^ann\tlabeler\tdisabled$/m);
    const on = rlhf('users', 'enable', '--name', 'ann', '--db', db);
    expect(on.code, on.err).to.equal(0);
    check((s) => {
      expect(s.authenticate(ann)).to.deep.include({ name: 'ann', role: 'labeler' });
      expect(s.db.prepare("SELECT detail FROM audit_log WHERE action = 'user.enable'").pluck().all()).to.deep.equal(['{"name":"ann"}']);
    });
    oneErrorLine(rlhf('users', 'enable', '--name', 'nobody', '--db', db), /no user 'nobody'/);
    oneErrorLine(rlhf('users', 'disable', '--name', 'boss', '--db', db), /cannot disable 'boss': the last enabled admin/);
    oneErrorLine(rlhf('users', 'role', '--name', 'boss', '--role', 'researcher', '--db', db), /cannot demote 'boss': the last enabled admin/);
    const up = rlhf('users', 'role', '--name', 'ann', '--role', 'admin', '--db', db);
    expect(up.code, up.err).to.equal(0);
    expect(rlhf('users', 'disable', '--name', 'boss', '--db', db).code).to.equal(0); // ann is an admin now
    oneErrorLine(rlhf('users', 'role', '--name', 'ann', '--role', 'labeler', '--db', db), /last enabled admin/);
    check((s) => expect(s.users().filter((u) => u.role === 'admin' && !u.disabled).map((u) => u.name)).to.deep.equal(['ann']));
  });

  it('commands that read or change a store refuse a --db that does not exist, and create nothing', () => {
    const dir = tempDir();
    const missing = join(dir, 'typo.db');
    for (const args of [['users', 'list'], ['users', 'token', '--name', 'x'], ['users', 'disable', '--name', 'x'], ['users', 'enable', '--name', 'x'],
      ['users', 'role', '--name', 'x', '--role', 'labeler'], ['export'], ['export', '--format', 'full', '--out', join(dir, 'out.jsonl')], ['eval-rm', '--model', dir], ['train-rm', '--model', dir, '--out', join(dir, 'rm')],
      ['ppo', '--model', STARTER, '--prompts', OPENINGS, '--reward', 'length', '--out', join(dir, 'ppo'), '--online-feedback']]) {
      const r = rlhf(...args, '--db', missing);
      oneErrorLine(r, /typo\.db/);
      expect(existsSync(missing), args.join(' ')).to.equal(false);
    }
    expect(existsSync(join(dir, 'out.jsonl'))).to.equal(false);
  });

  it('export --out into a missing folder is one error line, not a stack trace', () => {
    const dir = tempDir();
    const db = join(dir, 'rlhf.db');
    expect(rlhf('users', 'add', '--name', 'a', '--role', 'admin', '--db', db).code).to.equal(0);
    const r = rlhf('export', '--db', db, '--out', join(dir, 'no', 'such', 'folder', 'pairs.jsonl'));
    oneErrorLine(r, /pairs\.jsonl: no such folder/);
  });

  it('every label-store command defaults to .rlhf/rlhf.db, the store rlhf start uses; users add creates it with its folder', () => {
    for (const cmd of [['start'], ['users', 'add'], ['users', 'list'], ['users', 'token'], ['users', 'disable'], ['users', 'enable'], ['users', 'role'], ['tasks', 'add'], ['tasks', 'gold'], ['export'], ['import']]) {
      expect(rlhf(...cmd, '--help').out.replace(/\s+/g, ' '), cmd.join(' ')).to.include('(default: ".rlhf/rlhf.db")');
    }
    const cwd = tempDir();
    const none = rlhfIn(cwd, 'users', 'list');
    oneErrorLine(none, /\.rlhf\/rlhf\.db: no such store/);
    expect(existsSync(join(cwd, '.rlhf'))).to.equal(false);
    const add = rlhfIn(cwd, 'users', 'add', '--name', 'lead', '--role', 'admin');
    expect(add.code, add.err).to.equal(0);
    expect(existsSync(join(cwd, '.rlhf', 'rlhf.db'))).to.equal(true);
    expect(rlhfIn(cwd, 'users', 'list').out).to.equal('lead\tadmin\n');
    const exp = rlhfIn(cwd, 'export');
    expect([exp.code, exp.out, exp.err]).to.deep.equal([0, '', 'exported 0 lines\n']);
    mkdirSync(join(cwd, 'sub'));
    oneErrorLine(rlhfIn(join(cwd, 'sub'), 'export'), /no such store/); // relative to where it runs, like rlhf start
  });
});
