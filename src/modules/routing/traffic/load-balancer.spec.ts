import { LoadBalancer } from 'src/modules/routing/traffic/load-balancer';

const instances = [
  { key: 'a', weight: 1 },
  { key: 'b', weight: 1 },
  { key: 'c', weight: 2 },
];
const ejection = { consecutiveFailures: 3, baseMs: 1_000, maxMs: 2_500 };

describe('LoadBalancer', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000));

  const count = (pick: () => { key: string }, n: number) => {
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < n; i++) counts[pick().key]++;
    return counts;
  };

  it('round robin spreads evenly', () => {
    const lb = new LoadBalancer(clock);
    expect(count(() => lb.pick(instances, 'round_robin'), 300)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it('weighted follows the weights', () => {
    const lb = new LoadBalancer(clock);
    let seeded = 7;
    const random = () => (seeded = (seeded * 16807) % 2147483647) / 2147483647;
    const counts = count(() => lb.pick(instances, 'weighted', undefined, random), 10_000);
    expect(counts.c / 10_000).toBeGreaterThan(0.48);
    expect(counts.c / 10_000).toBeLessThan(0.52);
    expect(counts.a / 10_000).toBeGreaterThan(0.23);
  });

  it('least outstanding avoids busy instances', () => {
    const lb = new LoadBalancer(clock);
    lb.begin('a');
    lb.begin('a');
    lb.begin('b');
    expect(lb.pick(instances, 'least_outstanding').key).toBe('c');
    lb.begin('c');
    lb.begin('c');
    expect(lb.pick(instances, 'least_outstanding').key).toBe('b');
    const counts = count(() => {
      const picked = lb.pick(instances, 'least_outstanding');
      lb.begin(picked.key);
      return picked;
    }, 9);
    // a, b, c had 2, 1, 2 outstanding; nine more even them out at 4 + … → each ends at 4 or 5
    expect(lb.outstanding('a') + lb.outstanding('b') + lb.outstanding('c')).toBe(14);
    expect(Math.max(...Object.keys(counts).map((k) => lb.outstanding(k)))).toBeLessThanOrEqual(5);
  });

  it('ejects an instance after consecutive failures, for a growing, capped time', () => {
    const lb = new LoadBalancer(clock);
    for (let i = 0; i < 3; i++) {
      lb.begin('b');
      lb.end('b', 'failure', ejection);
    }
    expect(lb.available('b')).toBe(false);
    expect(count(() => lb.pick(instances, 'round_robin'), 100).b).toBe(0);
    now += 1_000;
    expect(lb.available('b')).toBe(true);
    for (let i = 0; i < 3; i++) lb.end('b', 'failure', ejection);
    now += 1_999;
    expect(lb.available('b')).toBe(false); // second ejection: 2 × base
    now += 1;
    expect(lb.available('b')).toBe(true);
    for (let i = 0; i < 3; i++) lb.end('b', 'failure', ejection);
    now += 2_500; // third: 3 × base capped at 2.5 s
    expect(lb.available('b')).toBe(true);
  });

  it('a success resets the failure count; a cancel does not count', () => {
    const lb = new LoadBalancer(clock);
    lb.end('a', 'failure', ejection);
    lb.end('a', 'failure', ejection);
    lb.end('a', 'success', ejection);
    lb.end('a', 'failure', ejection);
    lb.end('a', 'cancel', ejection);
    lb.end('a', 'failure', ejection);
    expect(lb.available('a')).toBe(true);
  });

  it('skips unhealthy and excluded instances, and balances over all when none is left', () => {
    const lb = new LoadBalancer(clock);
    lb.setHealthy('a', false);
    expect(count(() => lb.pick(instances, 'round_robin', new Set(['b'])), 10)).toEqual({ a: 0, b: 0, c: 10 });
    lb.setHealthy('b', false);
    lb.setHealthy('c', false);
    const all = count(() => lb.pick(instances, 'round_robin'), 30);
    expect(all).toEqual({ a: 10, b: 10, c: 10 });
  });
});
