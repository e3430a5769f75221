// A token bucket per key (a bearer token, or an address before authentication): `rate` requests per
// second on average, bursts of up to twice that.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number, private readonly burst = 2 * rate) {}

  /** 0 if the request may go ahead, else the seconds until it could. */
  take(key: string): number {
    const now = performance.now() / 1000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.rate);
    b.at = now;
    this.buckets.set(key, b);
    if (this.buckets.size > 100_000) this.buckets.clear(); // bound memory under address floods
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }
}
