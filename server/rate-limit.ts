// Token buckets per key (a user, or an address): `rate` requests per second on average, bursts of up to
// `burst`. Memory is bounded without ever forgetting everyone at once: the map is kept in order of last
// use, and past `maxKeys` the least recently used buckets go first. Those have been idle longest, so they
// are almost always full again, and dropping a full bucket changes nothing (a new key starts full). A
// flood of fresh keys therefore costs at most a refill to the idlest keys, never a reset of a bucket an
// attacker is draining right now.

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly rate: number, private readonly burst = 2 * rate, private readonly maxKeys = 100_000) {}

  /** 0 if the request may go ahead (and it is counted), else the seconds until it could. */
  take(key: string): number {
    const b = this.refill(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }

  /** What take would answer, without counting a request (tests, monitoring). */
  peek(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + (performance.now() / 1000 - b.at) * this.rate);
    return tokens >= 1 ? 0 : (1 - tokens) / this.rate;
  }

  /** Buckets held (for tests and monitoring). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(key: string): Bucket {
    const now = performance.now() / 1000;
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate);
      b.at = now;
      this.buckets.delete(key); // re-inserted below: the map's order is the order of last use
    } else b = { tokens: this.burst, at: now };
    this.buckets.set(key, b);
    if (this.buckets.size > this.maxKeys) this.evict();
    return b;
  }

  // Down to 90% in one sweep from the least recently used end, so the sweep runs once per
  // maxKeys / 10 new keys rather than on every request of a flood.
  private evict(): void {
    let over = this.buckets.size - Math.floor(this.maxKeys * 0.9);
    for (const k of this.buckets.keys()) {
      if (over-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}

/**
 * The key an address is limited under: IPv4 (also when mapped into IPv6) as it is, IPv6 by its /64, which
 * is what one host or home network is given; a bucket per IPv6 address would let one host draw fresh
 * buckets from 2^64 addresses.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'ip:?';
  const a = address.replace(/%.*$/, '').toLowerCase(); // the zone of a link-local address
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) return `ip:${v4[1]}`;
  if (!a.includes(':')) return `ip:${a}`;
  const [head, tail] = a.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `ip6:${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
