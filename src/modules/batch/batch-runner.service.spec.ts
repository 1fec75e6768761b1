import { Registry } from 'prom-client';
import { loadAppConfig } from 'src/config/env.config';
import { AuthenticationService } from 'src/modules/auth/authentication.service';
import { BatchOutput } from 'src/modules/batch/batch-output';
import { BatchRepository } from 'src/modules/batch/batch.repository';
import { BatchRunner } from 'src/modules/batch/batch-runner.service';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';
import { PipelineInvoker } from 'src/modules/pipeline/pipeline-invoker.service';

/** A database with no batches: every pass finds nothing; counts the passes (one claim each). */
class EmptyRepository {
  passes = 0;
  transaction<T>(work: (m: unknown) => Promise<T>): Promise<T> {
    return work({});
  }
  lockOne(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  claim(): Promise<never[]> {
    this.passes++;
    return Promise.resolve([]);
  }
}

describe('BatchRunner polling', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('backs off while idle (up to 20 poll intervals apart) and polls at once when woken', async () => {
    const repository = new EmptyRepository();
    const runner = new BatchRunner(
      loadAppConfig({ BATCH_POLL_INTERVAL_MS: '500' }),
      repository as unknown as BatchRepository,
      {} as PipelineInvoker,
      {} as AuthenticationService,
      {} as BatchOutput,
      { registry: new Registry() } as unknown as MetricsService,
    );
    runner.onApplicationBootstrap();
    // Passes at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 25.5 s (every 0.5 s would be 61 passes in 30 s).
    await jest.advanceTimersByTimeAsync(30_000);
    expect(repository.passes).toBe(7);
    // Idle for long: passes are 10 s apart at most.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(repository.passes).toBe(13);
    // Work created on this replica wakes the runner at once, and polling starts again from the interval.
    runner.wake();
    await jest.advanceTimersByTimeAsync(0);
    expect(repository.passes).toBe(14);
    await jest.advanceTimersByTimeAsync(1_600);
    expect(repository.passes).toBe(16);
    await runner.onApplicationShutdown();
  });
});
