import { restartDelay } from 'src/infra/cluster/cluster-primary';

describe('restartDelay', () => {
  it('restarts a worker that lived at once and backs off a crash loop, doubling up to 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelay)).toEqual([
      0, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});
