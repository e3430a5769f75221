// The users of a label store: bearer tokens (only their sha256 is stored), roles, disabling, and the rule
// that a store always keeps one enabled admin. Store (store.ts) extends this class, so callers keep one
// object per store. Every change is audited and tells the listeners (the WebSocket hub closes sockets whose
// token stopped working).
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../protocol/wire.js';
import { DB, now } from './db.js';
import { ROLES, StoreError, User } from './store-types.js';
import { VersionedCache } from './versioned-cache.js';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export class UserStore {
  private readonly ust;
  // Looked up on every request; our own writes clear it (see versioned-cache.ts).
  private readonly authCache: VersionedCache<User>;
  // Told after this connection changes a user's token, role or state (the WebSocket hub re-checks its sockets).
  private readonly userListeners = new Set<() => void>();

  /** Append to the audit log (append-only: schema.sql refuses updates and deletes): who did what; an object detail is stored as JSON. */
  audit(by: number | null, action: string, detail: object | string, at = now()): void {
    this.ust.audit.run(at, by, action, typeof detail === 'string' ? detail : JSON.stringify(detail));
  }

  constructor(readonly db: DB) {
    const p = (sql: string) => db.prepare(sql);
    this.ust = {
      addUser: p('INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)'),
      userByHash: p('SELECT id, name, role FROM users WHERE token_hash = ? AND disabled = 0'),
      setToken: p('UPDATE users SET token_hash = ? WHERE name = ?'),
      disableUser: p('UPDATE users SET disabled = 1 WHERE name = ?'),
      enableUser: p('UPDATE users SET disabled = 0 WHERE name = ?'),
      setRole: p('UPDATE users SET role = ? WHERE name = ?'),
      userByName: p('SELECT id, role, disabled FROM users WHERE name = ?'),
      enabledAdmins: p("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0").pluck(),
      usersVersion: p('SELECT n FROM cache_version WHERE id = 1').pluck(),
      users: p('SELECT id, name, role, disabled, created_at FROM users ORDER BY id'),
      audit: p('INSERT INTO audit_log (at, user_id, action, detail) VALUES (?, ?, ?, ?)'),
    };
    this.authCache = new VersionedCache(db);
  }

  /** Create a user and return a new bearer token (shown once; only its hash is stored). */
  addUser(name: string, role: Role): string {
    if (!/^[\w.@-]{1,64}$/.test(name)) throw new StoreError('invalid', 'name must be 1-64 letters, digits, or . _ @ -');
    if (!ROLES.includes(role)) throw new StoreError('invalid', `role must be one of ${ROLES.join(', ')}`);
    const token = randomBytes(32).toString('base64url');
    try {
      this.db.transaction(() => {
        this.ust.addUser.run(name, role, hashToken(token), now());
        this.audit(null, 'user.add', { name, role });
      }).immediate();
    } catch (e) {
      if (String(e).includes('UNIQUE')) throw new StoreError('conflict', `user '${name}' already exists`);
      throw e;
    }
    return token;
  }

  /** A fresh token for an existing user; the old one stops working. */
  rotateToken(name: string, by: number | null): string {
    const token = randomBytes(32).toString('base64url');
    const r = this.ust.setToken.run(hashToken(token), name);
    this.authCache.clear();
    if (!r.changes) throw new StoreError('not_found', `no user '${name}'`);
    this.audit(by, 'user.token', { name });
    this.usersChanged();
    return token;
  }

  /** The user's token stops working until enableUser. Refused for the last enabled admin (conflict). */
  disableUser(name: string, by: number | null): void {
    this.changeUser(name, by, 'user.disable', { name }, (u) => {
      if (u.role === 'admin' && !u.disabled) this.keepAnAdmin(name, 'disable');
      this.ust.disableUser.run(name);
    });
  }

  /** A disabled user's token works again (the same token: disabling never changes it). */
  enableUser(name: string, by: number | null): void {
    this.changeUser(name, by, 'user.enable', { name }, () => this.ust.enableUser.run(name));
  }

  /** Change a user's role; demoting the last enabled admin is refused (conflict). */
  setRole(name: string, role: Role, by: number | null): void {
    if (!ROLES.includes(role)) throw new StoreError('invalid', `role must be one of ${ROLES.join(', ')}`);
    this.changeUser(name, by, 'user.role', { name, role }, (u) => {
      if (u.role === 'admin' && role !== 'admin' && !u.disabled) this.keepAnAdmin(name, 'demote');
      this.ust.setRole.run(role, name);
    });
  }

  // Check and write in one IMMEDIATE transaction, so two processes cannot each disable "the other" admin.
  private changeUser(name: string, by: number | null, action: string, detail: object, write: (u: { role: Role; disabled: number }) => void): void {
    try {
      this.db.transaction(() => {
        const u = this.ust.userByName.get(name) as { role: Role; disabled: number } | undefined;
        if (!u) throw new StoreError('not_found', `no user '${name}'`);
        write(u);
        this.audit(by, action, detail);
      }).immediate();
    } finally {
      this.authCache.clear();
    }
    this.usersChanged();
  }

  private keepAnAdmin(name: string, what: string): void {
    if ((this.ust.enabledAdmins.get() as number) <= 1) {
      throw new StoreError('conflict', `cannot ${what} '${name}': the last enabled admin (add or enable another admin first)`);
    }
  }

  /** Call fn after each change this connection makes to users; returns the unsubscribe. */
  onUsersChanged(fn: () => void): () => void {
    this.userListeners.add(fn);
    return () => this.userListeners.delete(fn);
  }

  private usersChanged(): void {
    for (const fn of this.userListeners) fn();
  }

  /** A counter that moves whenever users or settings change, from any process (schema.sql, migration 3). */
  usersVersion(): number {
    return this.ust.usersVersion.get() as number;
  }

  users(): { id: number; name: string; role: Role; disabled: number; created_at: string }[] {
    return this.ust.users.all() as never;
  }

  authenticate(token: string): User | null {
    return this.authCache.get(token, () => this.ust.userByHash.get(hashToken(token)) as User | undefined) ?? null;
  }
}
