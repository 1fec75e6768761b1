import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { AppConfig } from 'src/config/env.config';
import { redactSecrets } from 'src/modules/observability/logging/secret-redaction';

export interface GatewayLog {
  logger: Logger;
  /** Writes out what is still buffered (on shutdown: stdout is written asynchronously). */
  flush(): void;
}

/**
 * The one pino logger of the process: JSON lines on stdout, written asynchronously (sonic-boom,
 * sync:false), ISO times, level names. Every line goes through `redactSecrets` as the last step, so a
 * credential cannot reach the log whatever field or message carries it.
 */
export function createGatewayLog(config: AppConfig, destination?: DestinationStream): GatewayLog {
  const boom = destination === undefined ? pino.destination({ dest: 1, sync: false }) : undefined;
  const logger = pino(
    {
      level: config.LOG_LEVEL,
      base: { service: config.OTEL_SERVICE_NAME, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      hooks: { streamWrite: redactSecrets },
    },
    destination ?? boom,
  );
  return {
    logger,
    flush: () => {
      try {
        boom?.flushSync();
      } catch {
        // not open yet or already closed: nothing buffered to lose
      }
    },
  };
}

/** Nest's framework chatter at boot (one line per module and route) is debug, not info. */
const QUIET_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Nest's LoggerService over pino: `new Logger('Ctx').warn(...)` anywhere in the app lands here. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    // Nest appends the logger's context as the last string argument; an error's stack comes before it.
    const context =
      params.length > 0 && typeof params[params.length - 1] === 'string'
        ? (params[params.length - 1] as string)
        : undefined;
    const rest = context === undefined ? params : params.slice(0, -1);
    if (level === 'info' && context !== undefined && QUIET_CONTEXTS.has(context)) level = 'debug';
    if (!this.logger.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    if (context !== undefined) fields.context = context;
    const stack = rest.find((p): p is string => typeof p === 'string' && p.includes('\n    at '));
    if (stack !== undefined) fields.stack = stack;
    if (message instanceof Error) {
      fields.err = message;
      this.logger[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.logger[level](fields, String(message));
    }
  }
}
