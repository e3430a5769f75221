// The admin credential of `rlhf start`. The store keeps only token hashes, so the token itself lives in a
// 0600 file beside the store; a restart reuses it while it still authenticates as an admin (open pages keep
// working), and only otherwise gives the admin a new one (created on a fresh store, rotated if the file is
// gone or stale), written atomically: a temporary 0600 file renamed over the old one. It lives beside
// the store because it is the store's credential, whoever opens the store (today `rlhf start`).
import { chmodSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Store } from './store.js';

/** .rlhf/rlhf.db -> .rlhf/rlhf.admin-token: one file per store, so two stores in a folder do not share one. */
export function adminTokenFile(db: string): string {
  return join(dirname(db), `${basename(db, extname(db))}.admin-token`);
}

export interface AdminToken {
  token: string;
  file: string;
  /** true when this call gave the admin a new token (the old one, if any, stopped working). */
  fresh: boolean;
}

/** `warn` gets a line for the person starting the store when the new token cannot open the admin pages yet. */
export function ensureAdminToken(store: Store, db: string, warn: (line: string) => void): AdminToken {
  const file = adminTokenFile(db);
  const kept = readKept(file);
  if (kept && store.authenticate(kept)?.role === 'admin') {
    chmodSync(file, 0o600); // in case someone loosened it
    return { token: kept, file, fresh: false };
  }
  const admin = store.users().find((u) => u.name === 'admin');
  const token = admin ? store.rotateToken('admin', null) : store.addUser('admin', 'admin');
  if (admin && (admin.disabled || admin.role !== 'admin')) {
    warn(`warning: user 'admin' is ${admin.disabled ? 'disabled' : `a ${admin.role}`}; its new token will not open the admin pages until rlhf users ${admin.disabled ? 'enable' : 'role'} --name admin${admin.disabled ? '' : ' --role admin'} --db ${db}`);
  }
  writeAtomic(file, token + '\n');
  return { token, file, fresh: true };
}

function readKept(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null; // missing (or unreadable): a new token replaces it
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  removeQuietly(tmp); // a leftover of a crashed start with the same pid: wx below needs it gone
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw new Error(`${file}: cannot write the admin token (${(e as Error).message})`);
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // not there
  }
}
