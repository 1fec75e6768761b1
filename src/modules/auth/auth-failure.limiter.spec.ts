import { AuthFailureLimiter } from 'src/modules/auth/auth-failure.limiter';

describe('AuthFailureLimiter', () => {
  it('blocks a source after the limit until its window ends', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(3, 60_000, 100, () => now);
    for (let i = 0; i < 2; i++) limiter.recordFailure('1.2.3.4');
    expect(limiter.blockedFor('1.2.3.4')).toBe(0);
    limiter.recordFailure('1.2.3.4');
    expect(limiter.blockedFor('1.2.3.4')).toBe(60);
    expect(limiter.blockedFor('5.6.7.8')).toBe(0);
    now = 45_500;
    expect(limiter.blockedFor('1.2.3.4')).toBe(15);
    now = 60_000;
    expect(limiter.blockedFor('1.2.3.4')).toBe(0);
  });

  it('stays bounded under a spray from many sources', () => {
    const limiter = new AuthFailureLimiter(1, 60_000, 50);
    for (let i = 0; i < 1000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size()).toBe(50);
    expect(limiter.blockedFor('10.0.3.231')).toBe(60);
    expect(limiter.blockedFor('10.0.0.0')).toBe(0);
  });
});
