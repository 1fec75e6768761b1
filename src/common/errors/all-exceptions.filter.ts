import { ArgumentsHost, Catch, ExceptionFilter, Inject, Logger, Optional } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { renderError, toGatewayException } from 'src/common/errors/error-renderer';
import { DENIAL_RECORDER, DenialRecorder } from 'src/common/errors/denial-recorder';
import { surfaceOf } from 'src/common/errors/error-surface';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';

/** The single place where errors become HTTP responses: no stack, driver text or secret leaves here. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Optional() @Inject(DENIAL_RECORDER) private readonly denials?: DenialRecorder) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (
      this.denials &&
      error instanceof GatewayException &&
      error.code === GatewayErrorCode.PermissionDenied &&
      request.url.startsWith('/admin/')
    ) {
      this.denials.recordRefusal(request);
    }
    sendError(error, request, reply, this.logger);
  }
}

export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  const { exception, unexpected } = toGatewayException(error);
  if (unexpected) {
    logger.error(
      `request ${request.id} ${request.method} ${request.url} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  const invocation = request.invocation;
  if (reply.sent || reply.raw.headersSent) {
    if (invocation) invocation.record.errorCode ??= exception.code;
    if (!reply.raw.writableEnded) reply.raw.end();
    return;
  }
  const rendered = renderError(exception, surfaceOf(request.url), request.id);
  if (invocation) {
    invocation.record.errorCode = exception.code;
    // What the pipeline's stages learned (endpoint, target, attempts, rate-limit headers) goes out too.
    void reply.headers(invocation.responseHeaders);
  }
  void reply.status(rendered.status).headers(rendered.headers).send(rendered.body);
}
