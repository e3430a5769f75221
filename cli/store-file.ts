// The label store a command works on: one default for every command (the one `rlhf start` creates), and
// one rule: only the commands that fill a store (start, serve, users add, import, tasks add/gold) create
// a missing one. A command that reads or changes what is there refuses a --db that does not exist, since
// a mistyped path would otherwise leave an empty store behind and answer from it ("no users", "0 lines").
import { Option } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Store } from '../data/store.js';

export const DEFAULT_DB = join('.rlhf', 'rlhf.db');

export function dbOption(what = 'SQLite label store'): Option {
  return new Option('--db <file>', what).default(DEFAULT_DB);
}

/** Throws the CLI's one-line error when the store file is missing. */
export function mustExist(file: string): void {
  if (file !== ':memory:' && !existsSync(file)) throw new Error(`${file}: no such store (rlhf start or rlhf users add creates one; --db names another)`);
}

/** An existing store (see mustExist). */
export function openStore(file: string): Store {
  mustExist(file);
  return new Store(file);
}

/** A store, created with its folder when missing. */
export function createStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  return new Store(file);
}
