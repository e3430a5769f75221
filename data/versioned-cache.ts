// A read cache for rows the request path looks up on every call (a token's user, a setting). Writes
// through our own connection clear() it at once; changes by other connections (a CLI beside the server)
// are noticed through cache_version, a counter that triggers bump on every change to users or settings
// (schema.sql, migration 3), read at most once a millisecond: a change made elsewhere shows within a
// millisecond of its commit. (PRAGMA data_version would move on every label commit too.)
import type { DB } from './db.js';

export class VersionedCache<V> {
  private readonly map = new Map<string, V>();
  private version = -1;
  private checkedAt = -Infinity;
  private readonly dataVersion; // cache_version.n

  constructor(db: DB, private readonly max = 10_000) {
    this.dataVersion = db.prepare('SELECT n FROM cache_version WHERE id = 1').pluck();
  }

  /** The cached value for key, else load() (a miss, undefined, is not cached). */
  get(key: string, load: () => V | undefined): V | undefined {
    const t = performance.now();
    if (t - this.checkedAt >= 1) {
      this.checkedAt = t;
      const v = this.dataVersion.get() as number;
      if (v !== this.version) {
        this.version = v;
        this.map.clear();
      }
    }
    let v = this.map.get(key);
    if (v === undefined && (v = load()) !== undefined) {
      if (this.map.size >= this.max) this.map.clear(); // bounds memory
      this.map.set(key, v);
    }
    return v;
  }

  clear(): void {
    this.map.clear();
  }
}
