// Opening the SQLite store: pragmas, then the numbered migrations of schema.sql.
//  - journal_mode=WAL: readers (exports, dashboards) never block the writer, nor the writer them.
//  - busy_timeout=5000: a second writer (a CLI command beside the server) waits instead of failing
//    with "database is locked".
//  - synchronous=FULL: every commit fsyncs the WAL, so an acknowledged label survives a power cut,
//    not only a crash (NORMAL would keep it on kill -9 but could lose the last commits on power loss).
//    The server batches concurrent label writes into one transaction, so one fsync serves many labels.
//    Task assignments alone commit with NORMAL (Store.nextTask): losing one only hands a task out again.
//  - foreign_keys=ON: a label for a task that does not exist is refused by the database too.
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type DB = Database.Database;

const SCHEMA = join(import.meta.dirname, 'schema.sql');

/** Migrations parsed from schema.sql: [number, sql] in order. */
export function migrations(): [number, string][] {
  const parts = readFileSync(SCHEMA, 'utf8').split(/^-- migration (\d+)\s*$/m);
  const out: [number, string][] = [];
  for (let i = 1; i < parts.length; i += 2) out.push([Number(parts[i]), parts[i + 1]]);
  out.forEach(([n], i) => {
    if (n !== i + 1) throw new Error(`${SCHEMA}: migration ${n} out of order (expected ${i + 1})`);
  });
  return out;
}

export function openDb(file: string): DB {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000'); // first: even switching to WAL may wait for another process's lock
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations().filter(([n]) => n > current);
  if (current > migrations().length) {
    db.close();
    throw new Error(`${file}: schema version ${current} is newer than this program's ${migrations().length}; upgrade rlhf-trainer`);
  }
  for (const [n, sql] of pending) {
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${n}`);
    }).immediate();
  }
  return db;
}

export const now = (): string => new Date().toISOString();
