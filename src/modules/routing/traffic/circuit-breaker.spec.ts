import { CircuitBreaker } from 'src/modules/routing/traffic/circuit-breaker';
import { CircuitBreakerPolicy } from 'src/modules/routing/traffic/traffic-policy';

const policy = (overrides: Partial<CircuitBreakerPolicy> = {}): CircuitBreakerPolicy => ({
  consecutiveFailures: 3,
  errorRate: undefined,
  minRequests: 10,
  windowMs: 10_000,
  cooldownMs: 1_000,
  ...overrides,
});

describe('CircuitBreaker', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  it('opens after N consecutive failures, half-opens after the cool-down and closes on a good probe', () => {
    const breaker = new CircuitBreaker(policy(), clock);
    for (let i = 0; i < 2; i++) {
      expect(breaker.tryAcquire()).toBe(true);
      breaker.onFailure();
    }
    expect(breaker.status).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onFailure();
    expect(breaker.status).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    now += 999;
    expect(breaker.tryAcquire()).toBe(false);
    now += 1;
    expect(breaker.status).toBe('half_open');
    expect(breaker.tryAcquire()).toBe(true); // the probe
    expect(breaker.tryAcquire()).toBe(false); // only one probe at a time
    breaker.onSuccess();
    expect(breaker.status).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('re-opens for another cool-down when the half-open probe fails', () => {
    const breaker = new CircuitBreaker(policy({ consecutiveFailures: 1 }), clock);
    breaker.tryAcquire();
    breaker.onFailure();
    now += 1_000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onFailure();
    expect(breaker.status).toBe('open');
    now += 500;
    expect(breaker.tryAcquire()).toBe(false);
    now += 500;
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('a success resets the consecutive count', () => {
    const breaker = new CircuitBreaker(policy(), clock);
    for (let i = 0; i < 10; i++) {
      breaker.onFailure();
      breaker.onFailure();
      breaker.onSuccess();
    }
    expect(breaker.status).toBe('closed');
  });

  it('opens on the error rate over the window once enough calls were seen', () => {
    const breaker = new CircuitBreaker(
      policy({ consecutiveFailures: 100, errorRate: 0.5, minRequests: 10 }),
      clock,
    );
    // 4 failures of 8 calls: rate 0.5 but below min_requests
    for (let i = 0; i < 4; i++) {
      breaker.onSuccess();
      breaker.onFailure();
    }
    expect(breaker.status).toBe('closed');
    breaker.onSuccess(); // 9 calls, 4 failures
    breaker.onFailure(); // 10 calls, 5 failures → 0.5
    expect(breaker.status).toBe('open');
  });

  it('forgets failures older than the window', () => {
    const breaker = new CircuitBreaker(
      policy({ consecutiveFailures: 100, errorRate: 0.5, minRequests: 4, windowMs: 1_000 }),
      clock,
    );
    breaker.onFailure();
    breaker.onFailure();
    breaker.onFailure();
    now += 2_000;
    breaker.onSuccess();
    breaker.onSuccess();
    breaker.onSuccess();
    breaker.onFailure(); // 1 of 4 in the window
    expect(breaker.status).toBe('closed');
  });

  it('a cancelled probe frees the half-open slot', () => {
    const breaker = new CircuitBreaker(policy({ consecutiveFailures: 1 }), clock);
    breaker.onFailure();
    now += 1_000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onCancel();
    expect(breaker.tryAcquire()).toBe(true);
  });
});
