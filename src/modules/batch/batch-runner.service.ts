import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Counter } from 'prom-client';
import { Principal } from 'src/common/auth/principal';
import { renderError, toGatewayException } from 'src/common/errors/error-renderer';
import { GatewayErrorCode } from 'src/common/errors/gateway.exception';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { AuthenticationService } from 'src/modules/auth/authentication.service';
import { InputLineError, parseInputLine } from 'src/modules/batch/batch-input';
import { BatchOutput } from 'src/modules/batch/batch-output';
import { lineIds } from 'src/modules/batch/batch-line-ids';
import { BatchRepository } from 'src/modules/batch/batch.repository';
import { BatchEndpoint, BatchError, ClaimedLine, InputLine } from 'src/modules/batch/batch.records';
import { MetricsService } from 'src/modules/observability/metrics/metrics.service';
import { PipelineAnswer, PipelineInvoker } from 'src/modules/pipeline/pipeline-invoker.service';
import { Operation } from 'src/modules/providers/provider-adapter';

const OP_OF: Record<BatchEndpoint, Operation> = {
  '/v1/chat/completions': 'chat',
  '/v1/embeddings': 'embeddings',
  '/v1/completions': 'completions',
};

/** Gateway refusals that mean "not now" rather than "no": the line goes back to the queue. */
const LATER = new Set<string>([GatewayErrorCode.RateLimitExceeded, GatewayErrorCode.LimitsUnavailable]);
const INSERT_PAGE = 1000;
const MAX_ERRORS = 100;
/** An idle runner polls at most this many poll intervals apart. */
const IDLE_BACKOFF = 20;

/**
 * The durable job runner of OpenAI batches, on every replica. All state is in PostgreSQL (server or
 * embedded): batches move through OpenAI's states under row locks taken with `FOR UPDATE SKIP LOCKED`
 * (one replica validates or finalizes a batch), and lines are claimed the same way under a lease that
 * this replica renews while the call runs. A line's result and its batch's counters are stored in one
 * statement guarded by the claim's token, so a line is counted once; a replica killed mid-line leaves
 * its lines claimed until the lease ends, then another runner takes them again. Each line runs through
 * the same pipeline as a direct call (PipelineInvoker) as the submitting key, within a share of its
 * request-rate limits; a refusal by the gateway's own limits puts the line back for later.
 */
@Injectable()
export class BatchRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('BatchRunner');
  private readonly lines: Counter<'endpoint' | 'outcome'>;
  private readonly inFlight = new Map<string, ClaimedLine>();
  private readonly perModel = new Map<string, number>();
  /** One per line in flight (a shared signal would collect a listener per line): aborted at shutdown. */
  private readonly calls = new Set<AbortController>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  /** Whether the current pass moved anything (validated, finalized or claimed). */
  private progressed = false;
  /** The current idle back-off (0: not backing off). */
  private idleDelayMs = 0;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: BatchRepository,
    private readonly invoker: PipelineInvoker,
    private readonly auth: AuthenticationService,
    private readonly output: BatchOutput,
    metrics: MetricsService,
  ) {
    this.lines = new Counter({
      name: 'gatehouse_batch_lines_total',
      help: 'Batch lines finished by this replica, by batch endpoint and outcome (success or error).',
      labelNames: ['endpoint', 'outcome'],
      registers: [metrics.registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.BATCH_WORKER_ENABLED) return;
    this.schedule(0);
    const every = Math.max(250, Math.floor(this.config.BATCH_LEASE_MS / 3));
    this.heartbeat = setInterval(() => void this.renewLeases(), every);
    this.heartbeat.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    // Lines in flight are cancelled and given back at once, so a restarted runner need not wait out a lease.
    for (const call of this.calls) call.abort();
    const deadline = Date.now() + 5_000;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.ticking;
  }

  /** Work arrived (a batch created or cancelled here): look now instead of at the next poll. */
  wake(): void {
    this.idleDelayMs = 0;
    if (this.config.BATCH_WORKER_ENABLED && !this.stopping) this.schedule(0);
  }

  /**
   * The next poll: the poll interval after a pass that moved something (or with lines running), then,
   * pass after idle pass, twice the last delay up to IDLE_BACKOFF × the interval. An idle gateway polled
   * the database with ~12 statements a second for batches that never come (60% of an idle embedded
   * gateway's CPU); work created here wakes the runner at once, and another replica's within the cap.
   */
  private nextDelay(): number {
    const interval = this.config.BATCH_POLL_INTERVAL_MS;
    if (this.progressed || this.inFlight.size > 0) this.idleDelayMs = 0;
    else this.idleDelayMs = Math.min(interval * IDLE_BACKOFF, Math.max(interval, this.idleDelayMs * 2));
    return this.idleDelayMs === 0 ? interval : this.idleDelayMs;
  }

  /** One pass: every step the runner takes, each idempotent and safe against other replicas. */
  async tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        this.progressed = false;
        do {
          this.again = false;
          await this.validate();
          await this.finalize();
          await this.fill();
        } while (this.again && !this.stopping);
      } catch (error) {
        this.logger.error(`batch runner pass failed: ${(error as Error).message}`);
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.tick().then(() => this.schedule(this.nextDelay()));
    }, delayMs);
    this.timer.unref();
  }

  /** validating → in_progress (lines queued) or failed (errors listed with their lines). */
  private async validate(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const done = await this.repository.transaction(async (m) => {
        const batch = await this.repository.lockOne(m, 'validating');
        if (!batch) return false;
        const errors: BatchError[] = [];
        const seen = new Set<string>();
        let page: InputLine[] = [];
        let count = 0;
        let first = 1;
        let number = 0;
        for await (const chunk of this.repository.chunks(batch.inputFileId, m)) {
          const texts = chunk.split('\n');
          texts.pop();
          for (const text of texts) {
            number++;
            let line: InputLine;
            try {
              line = parseInputLine(text, number);
            } catch (error) {
              const problem = error instanceof InputLineError ? error.problem : 'invalid line.';
              errors.push({ code: 'invalid_request', message: problem, param: null, line: number });
              continue;
            }
            if (line.url !== batch.endpoint) {
              errors.push({
                code: 'invalid_url',
                message: `The line's url '${line.url}' does not match the batch's endpoint '${batch.endpoint}'.`,
                param: 'url',
                line: number,
              });
            } else if (seen.has(line.customId)) {
              errors.push({
                code: 'duplicate_custom_id',
                message: `The custom_id '${line.customId.slice(0, 64)}' appears more than once in the file.`,
                param: 'custom_id',
                line: number,
              });
            }
            seen.add(line.customId);
            count++;
            if (errors.length > 0) continue;
            page.push(line);
            if (page.length === INSERT_PAGE) {
              await this.repository.insertLines(m, batch.id, first, page);
              first += page.length;
              page = [];
            }
          }
          if (errors.length >= MAX_ERRORS) break;
        }
        if (count === 0 && errors.length === 0)
          errors.push({
            code: 'empty_file',
            message: 'The input file is empty or was deleted.',
            param: null,
            line: null,
          });
        if (count > this.config.BATCH_MAX_LINES)
          errors.push({
            code: 'too_many_requests',
            message: `A batch holds at most ${this.config.BATCH_MAX_LINES} requests.`,
            param: null,
            line: null,
          });
        if (errors.length > 0) {
          // Nothing of a refused batch runs: lines queued before its first problem was found are dropped.
          await m.query(`DELETE FROM batch_lines WHERE batch_id = $1`, [batch.id]);
          await this.repository.setStatus(m, batch.id, 'failed', {
            errors: JSON.stringify(errors.slice(0, MAX_ERRORS)),
          });
          this.logger.log(`batch ${batch.id}: failed validation (${errors.length} problem(s))`);
          return true;
        }
        if (page.length > 0) await this.repository.insertLines(m, batch.id, first, page);
        await this.repository.setStatus(m, batch.id, 'in_progress', { total: count });
        this.logger.log(`batch ${batch.id}: in progress, ${count} request(s)`);
        return true;
      });
      if (!done) return;
      this.progressed = true;
    }
  }

  /** in_progress → finalizing → completed; expired; cancelling → cancelled. One replica per batch. */
  private async finalize(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const progressed =
        (await this.repository.transaction(async (m) => {
          const batch = await this.repository.lockOne(m, 'in_progress', `expires_at < now()`);
          if (!batch) return false;
          await this.output.write(m, batch, 'expired');
          this.logger.log(`batch ${batch.id}: expired`);
          return true;
        })) ||
        (await this.repository.transaction(async (m) => {
          const batch = await this.repository.lockOne(
            m,
            'in_progress',
            `NOT EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state <> 'done')`,
          );
          if (!batch) return false;
          await this.repository.setStatus(m, batch.id, 'finalizing');
          return true;
        })) ||
        (await this.repository.transaction(async (m) => {
          const batch = await this.repository.lockOne(m, 'finalizing');
          if (!batch) return false;
          await this.output.write(m, batch, 'completed');
          this.logger.log(
            `batch ${batch.id}: completed (${batch.completed} succeeded, ${batch.failed} failed of ${batch.total})`,
          );
          return true;
        })) ||
        (await this.repository.transaction(async (m) => {
          const batch = await this.repository.lockOne(
            m,
            'cancelling',
            `NOT EXISTS (SELECT 1 FROM batch_lines l WHERE l.batch_id = b.id AND l.state = 'running' AND l.lease_until > now())`,
          );
          if (!batch) return false;
          await this.output.write(m, batch, 'cancelled');
          this.logger.log(`batch ${batch.id}: cancelled`);
          return true;
        }));
      if (!progressed) return;
      this.progressed = true;
    }
  }

  /** Claims as many lines as there are free slots, endpoint by endpoint within its own cap. */
  private async fill(): Promise<void> {
    if (this.stopping) return;
    const free = this.config.BATCH_CONCURRENCY_TOTAL - this.inFlight.size;
    if (free <= 0) return;
    const cap = this.config.BATCH_CONCURRENCY_PER_ENDPOINT;
    const full = [...this.perModel].filter(([, n]) => n >= cap).map(([model]) => model);
    const claimed = await this.repository.claim(free, this.config.BATCH_LEASE_MS, full);
    if (claimed.length > 0) this.progressed = true;
    for (const line of claimed) {
      const model = modelOf(line);
      const running = this.perModel.get(model) ?? 0;
      if (running >= cap) {
        // Over this endpoint's cap for now: back to the queue untouched (it was never started).
        await this.repository.release(line, 0);
        continue;
      }
      this.perModel.set(model, running + 1);
      this.inFlight.set(key(line), line);
      void this.run(line).finally(() => {
        this.inFlight.delete(key(line));
        const left = (this.perModel.get(model) ?? 1) - 1;
        if (left > 0) this.perModel.set(model, left);
        else this.perModel.delete(model);
        this.wake();
      });
    }
  }

  private async run(line: ClaimedLine): Promise<void> {
    const { requestId, invocationId } = lineIds(line.batchId, line.line);
    const call = new AbortController();
    this.calls.add(call);
    try {
      let answer: PipelineAnswer;
      const principal = this.principal(line);
      if ('status' in principal) {
        answer = principal;
      } else {
        answer = await this.invoker.invoke({
          requestId,
          invocationId,
          principal,
          op: OP_OF[line.endpoint],
          // A batch line is answered whole: streaming does not apply (OpenAI ignores it too).
          body: { ...line.body, stream: false },
          signal: call.signal,
          batchId: line.batchId,
          rateShare: this.config.BATCH_RATE_LIMIT_SHARE,
        });
      }
      if (this.stopping) {
        await this.repository.release(line, 0);
        return;
      }
      if (answer.code !== undefined && LATER.has(answer.code)) {
        await this.repository.release(line, Math.max(1, answer.retryAfterSeconds ?? 1) * 1000);
        return;
      }
      const ok = answer.status >= 200 && answer.status < 300;
      const counts = await this.repository.complete(line, {
        statusCode: answer.status,
        response: { status_code: answer.status, request_id: requestId, body: answer.body },
        error: null,
        requestId,
      });
      if (!counts) return;
      this.lines.inc({ endpoint: line.endpoint, outcome: ok ? 'success' : 'error' });
      await this.progress(line.batchId, counts);
    } catch (error) {
      this.logger.error(`batch ${line.batchId} line ${line.line}: ${(error as Error).message}`);
    } finally {
      this.calls.delete(call);
    }
  }

  /** The submitting caller as it stands now, or the error its line gets (a revoked key runs nothing). */
  private principal(line: ClaimedLine): Principal | PipelineAnswer {
    try {
      return this.auth.principalForDeferredWork(line.principalId ?? '', line.apiKeyId);
    } catch (error) {
      const { exception } = toGatewayException(error);
      const rendered = renderError(exception, 'openai', lineIds(line.batchId, line.line).requestId);
      return { status: rendered.status, body: rendered.body, code: exception.code };
    }
  }

  /** One log line per tenth of a batch done, written by whichever replica crosses it. */
  private async progress(batchId: string, counts: { total: number; done: number }): Promise<void> {
    if (counts.total <= 0) return;
    const decile = Math.floor((counts.done * 10) / counts.total);
    if (decile === 0) return;
    if (await this.repository.markDecile(batchId, decile)) {
      this.logger.log(`batch ${batchId}: ${decile * 10}% done (${counts.done}/${counts.total} requests)`);
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    try {
      await this.repository.renew([...this.inFlight.values()], this.config.BATCH_LEASE_MS);
    } catch (error) {
      this.logger.warn(`could not renew batch line leases: ${(error as Error).message}`);
    }
  }
}

const key = (line: ClaimedLine): string => `${line.batchId}:${line.line}`;
const modelOf = (line: ClaimedLine): string => (typeof line.body.model === 'string' ? line.body.model : '');
