// The token buckets (server/rate-limit.ts): bounded memory that never forgets a bucket in use, and the
// keys addresses are limited under.
import { expect } from 'chai';
import { addressKey, RateLimiter } from '../../server/rate-limit.js';

describe('server/rate-limit', () => {
  it('a flood of fresh keys keeps memory bounded and never resets a bucket that is being drained', () => {
    const lim = new RateLimiter(0.001, 2); // refills in ~17 minutes: nothing comes back during the test
    expect([lim.take('attacker'), lim.take('attacker')]).to.deep.equal([0, 0]);
    expect(lim.take('attacker')).to.be.above(0);
    for (let i = 0; i < 150_000; i++) {
      lim.take(`k${i}`);
      if (i % 1000 === 0) expect(lim.take('attacker'), `after ${i} other keys`).to.be.above(0); // still limited
    }
    expect(lim.size).to.be.within(80_000, 100_000); // bounded, by evicting a slice rather than everything
    expect(lim.take('k149999')).to.equal(0); // a recent key keeps its bucket (one token left of two)
    expect(lim.take('k149999')).to.be.above(0);
  });

  it('evicts the least recently used keys first', () => {
    const lim = new RateLimiter(0.001, 1, 10);
    for (let i = 0; i < 10; i++) lim.take(`k${i}`); // every bucket is now empty
    lim.take('k0'); // k0 is the most recently used now
    lim.take('new'); // 11 keys: a sweep down to 9
    expect(lim.size).to.equal(9);
    expect(lim.peek('k0')).to.be.above(0); // kept, still empty
    expect(lim.peek('k1')).to.equal(0); // evicted: a new bucket would start full
    expect(lim.peek('k9')).to.be.above(0);
  });

  it('peek answers like take without counting', () => {
    const lim = new RateLimiter(1, 2);
    expect(lim.peek('a')).to.equal(0);
    expect(lim.size).to.equal(0);
    lim.take('a');
    lim.take('a');
    expect(lim.peek('a')).to.be.within(0.9, 1);
    expect(lim.take('a')).to.be.above(0);
  });

  it('keys IPv4 addresses as they are and IPv6 ones by their /64', () => {
    expect(addressKey('203.0.113.7')).to.equal('ip:203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).to.equal('ip:203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).to.equal('ip6:2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::1')).to.equal('ip6:2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:0001:0002::99')).to.equal('ip6:2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).to.equal('ip6:2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).to.equal('ip6:fe80:0:0:0::/64');
    expect(addressKey('::1')).to.equal('ip6:0:0:0:0::/64');
    expect(addressKey(undefined)).to.equal('ip:?');
  });
});
