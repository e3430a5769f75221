// A read cache for rows the request path looks up on every call (a token's user, a setting). Writes
// through our own connection must clear() it; commits by other connections (a CLI beside the server)
// are noticed through PRAGMA data_version, read at most once a millisecond, so a change made elsewhere
// shows within a millisecond of its commit.
import type { DB } from './db.js';

export class VersionedCache<V> {
  private readonly map = new Map<string, V>();
  private version = -1;
  private checkedAt = -Infinity;
  private readonly dataVersion;

  constructor(db: DB, private readonly max = 10_000) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
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
