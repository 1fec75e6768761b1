import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from 'src/config/env.config';
import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';

/**
 * Keep-alive connections busy when the drain starts get this long to send one more request (answered
 * with `Connection: close`, so the client reconnects elsewhere) before the idle ones are closed: that
 * shrinks the window in which a client reuses a connection the server is closing.
 */
const KEEP_ALIVE_HANDOFF_MS = 500;
/** After the drain deadline: time for the streams' terminal events to leave before connections are cut. */
const CUT_GRACE_MS = 1_000;
/** How often the drain looks whether requests are still in flight (only while shutting down). */
const IN_FLIGHT_POLL_MS = 20;
/** Beyond the drain and the ledger's own shutdown timeout: the process exits (1) whatever still hangs. */
const HARD_STOP_MARGIN_MS = 10_000;

export interface GracefulShutdownOptions {
  /** Writes out the buffered log lines before the process exits. */
  flushLog: () => void;
  exit?: (code: number) => void;
  /** HTTP requests being served now: the drain waits for none before Nest's shutdown hooks run. */
  inFlight?: () => number;
}

/** Every answer of a draining process closes its connection (first hook: refused requests too). */
export function drainHook(state: ShutdownState) {
  return (_request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void => {
    if (state.draining) void reply.header('connection', 'close');
    done();
  };
}

/**
 * SIGTERM/SIGINT: readiness turns 503 at once; after SHUTDOWN_READY_DELAY_MS (and a short keep-alive
 * hand-off) the listener stops accepting and idle connections close; in-flight requests finish; streams
 * still open at SHUTDOWN_DRAIN_MS end with their terminal error event (and anything still unanswered a
 * second later is cut); then Nest's shutdown hooks run (the usage ledger is flushed) and the process
 * exits 0. Replaces Nest's enableShutdownHooks, which re-raises the signal instead of exiting 0.
 */
export function installGracefulShutdown(
  app: NestFastifyApplication,
  config: AppConfig,
  options: GracefulShutdownOptions,
): void {
  const state = app.get(ShutdownState);
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const logger = new Logger('Shutdown');
  let started: Promise<void> | undefined;

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    state.beginDrain();
    logger.log(
      `${signal}: draining (readiness 503; in-flight requests finish; streams end within ${config.SHUTDOWN_DRAIN_MS} ms)`,
    );
    const hardStop = setTimeout(
      () => {
        logger.error('shutdown did not finish in time: exiting');
        options.flushLog();
        exit(1);
      },
      config.SHUTDOWN_READY_DELAY_MS +
        config.SHUTDOWN_DRAIN_MS +
        CUT_GRACE_MS +
        config.LEDGER_SHUTDOWN_TIMEOUT_MS +
        HARD_STOP_MARGIN_MS,
    );
    hardStop.unref();
    let cut: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      state.endStreams();
      cut = setTimeout(() => {
        logger.warn('drain deadline passed: closing the connections still open');
        app.getHttpServer().closeAllConnections();
      }, CUT_GRACE_MS);
    }, config.SHUTDOWN_READY_DELAY_MS + config.SHUTDOWN_DRAIN_MS);
    let code = 0;
    try {
      await sleep(config.SHUTDOWN_READY_DELAY_MS + Math.min(KEEP_ALIVE_HANDOFF_MS, config.SHUTDOWN_DRAIN_MS));
      // Nest's close runs every module's onModuleDestroy (upstream pools closed, the API-key strategy
      // unregistered) *before* it closes the HTTP server, so a request still on its way to the upstream
      // then failed (R1's rolling-restart failures). Requests in flight finish first; streams are ended
      // at the drain deadline, and past it (plus the cut grace) the close goes ahead regardless.
      const until =
        Date.now() +
        config.SHUTDOWN_DRAIN_MS +
        CUT_GRACE_MS -
        Math.min(KEEP_ALIVE_HANDOFF_MS, config.SHUTDOWN_DRAIN_MS);
      while (options.inFlight && options.inFlight() > 0 && Date.now() < until) await sleep(IN_FLIGHT_POLL_MS);
      await app.close();
    } catch (error) {
      code = 1;
      logger.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    clearTimeout(deadline);
    clearTimeout(cut);
    logger.log(`stopped (exit ${code})`);
    options.flushLog();
    exit(code);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    started ??= shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // An application closed by its owner (tests, the benchmark) leaves no signal listener behind.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onClose', (_instance, done) => {
      if (!started) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      done();
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
