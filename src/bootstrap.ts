import { IncomingMessage, ServerOptions } from 'node:http';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import fastifyMultipart from '@fastify/multipart';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DestinationStream } from 'pino';
import { AppModule } from 'src/app.module';
import { GatewayErrorCode, GatewayException } from 'src/common/errors/gateway.exception';
import { acceptsCsv, CsvBody, keepsRawBody } from 'src/common/http/csv-body';
import { acceptsMultipart } from 'src/common/http/multipart-parts';
import { parseJsonBody } from 'src/common/http/json-body.parser';
import { ADMISSION_BUSY_UTILISATION, OverloadShedder } from 'src/common/http/overload-shedder';
import { credentialInQuery } from 'src/common/http/query-credentials';
import { AppConfig } from 'src/config/env.config';
import { installCheapAsyncResourceBind } from 'src/infra/http/async-resource-bind';
import { PromptApiDocs } from 'src/modules/prompts/prompt-api.docs';
import { AccessLog } from 'src/modules/observability/logging/access-log.service';
import { createGatewayLog, PinoNestLogger } from 'src/modules/observability/logging/gateway-logger';
import { GatewayTracing } from 'src/modules/observability/tracing/gateway-tracing.service';
import { MetricsHttpCounter } from 'src/modules/observability/metrics/metrics-http.counter';
import { EarlyAuthenticationHook } from 'src/modules/auth/early-authentication.hook';
import { consoleCsp, serveConsole } from 'src/modules/console/console-assets';
import { consoleConnectOrigins } from 'src/modules/console/console.service';
import { drainHook, installGracefulShutdown } from 'src/infra/lifecycle/graceful-shutdown';
import { ShutdownState } from 'src/infra/lifecycle/shutdown-state';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface CreateAppOptions {
  /**
   * Where the JSON log lines go. Default: stdout through pino's asynchronous destination (sonic-boom on
   * fd 1). In-process tests pass `process.stdout` so that they can capture the lines.
   */
  logDestination?: DestinationStream;
}

/** Builds the whole application (used by main.ts, the e2e tests and the benchmark). */
export async function createApp(
  config: AppConfig,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  installCheapAsyncResourceBind();
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A caller's x-request-id is kept when it is a sane token; otherwise a fresh one.
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Slow clients (slowloris headers, a body that never completes) get 408 and a closed connection.
    requestTimeout: config.REQUEST_BODY_TIMEOUT_MS,
    http: listenerTimeouts(config),
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    // While it drains, requests arriving on open keep-alive connections are served (with Connection:
    // close), not refused: a 503 there would be a lost request (src/infra/lifecycle/graceful-shutdown.ts).
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    trustProxy: config.TRUST_PROXY,
  });
  // JSON logs (pino) from the first line Nest writes; LOG_LEVEL filters.
  const log = createGatewayLog(config, options.logDestination);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    logger: new PinoNestLogger(log.logger),
    abortOnError: false,
  });
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const httpCounter = app.get(MetricsHttpCounter);
  const admission =
    config.ADMISSION_TARGET_DELAY_MS > 0
      ? new OverloadShedder(
          {
            targetMs: config.ADMISSION_TARGET_DELAY_MS,
            intervalMs: config.ADMISSION_INTERVAL_MS,
            busyUtilisation: ADMISSION_BUSY_UTILISATION,
          },
          httpCounter,
        )
      : undefined;
  if (admission) {
    httpCounter.measureSojourn = true;
    fastify.addHook('onClose', (_instance, done) => (admission.close(), done()));
  }
  installRequestHooks(fastify, [
    // Every request gets its access line, including those Fastify itself or a later hook refuses (no
    // route, bad body, no credentials): only a hook sees them all. First, so it sees every one.
    app.get(AccessLog).attach(log),
    // A draining process closes every connection after its answer (before any hook can refuse it).
    drainHook(app.get(ShutdownState)),
    // The HTTP instrumentation's server span exists before Nest routes the request: named here, by route.
    app.get(GatewayTracing).onRequestHook(),
    // HTTP request counters by status class, refused requests included (as the access log).
    httpCounter.onRequest,
    // Request hygiene that must hold before a body is read: request id, no compressed bodies, no
    // credentials in the query string.
    hygiene,
    // Admission control: an overloaded process refuses at once, before any work is spent on the request.
    admission?.onRequest,
    // Credentials are checked before the body is read or parsed (guards run after parsing); the
    // global AuthenticationGuard finds the principal set.
    app.get(EarlyAuthenticationHook).onRequest,
  ]);
  configureParsers(fastify, config);
  addCsvParser(fastify, config);
  await addMultipartParser(app, config);
  setupOpenApi(app);
  // The web console (admin console and developer portal) at /ui; `/` sends browsers there.
  serveConsole(fastify, { csp: consoleCsp(consoleConnectOrigins(config)) });
  installGracefulShutdown(app, config, {
    flushLog: () => log.flush(),
    inFlight: () => httpCounter.inFlight,
  });
  return app;
}

/**
 * Node's own request clocks: headers within REQUEST_HEADERS_TIMEOUT_MS (never longer than the whole
 * request may take), and a check interval short enough that REQUEST_BODY_TIMEOUT_MS is kept to within
 * a quarter of itself (Node's default interval, 30 s, would stretch a 60 s limit to 90 s).
 */
function listenerTimeouts(config: AppConfig): ServerOptions {
  const body = config.REQUEST_BODY_TIMEOUT_MS;
  return {
    // Node checks headersTimeout ≤ requestTimeout when the server is created: both are given here.
    requestTimeout: body,
    headersTimeout:
      body > 0 ? Math.min(config.REQUEST_HEADERS_TIMEOUT_MS, body) : config.REQUEST_HEADERS_TIMEOUT_MS,
    connectionsCheckingInterval: Math.min(
      5_000,
      Math.max(100, Math.floor(Math.min(body || Infinity, config.REQUEST_HEADERS_TIMEOUT_MS) / 4)),
    ),
  };
}

type OnRequestHook =
  | ((request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void)
  | ((request: FastifyRequest, reply: FastifyReply) => Promise<void>);

/**
 * The gateway's Fastify hooks, in one declared order (each says why it cannot be a Nest guard or
 * interceptor: those run only for matched routes, after the body is parsed). Undefined entries are
 * hooks a configuration turns off.
 */
function installRequestHooks(fastify: FastifyInstance, hooks: (OnRequestHook | undefined)[]): void {
  for (const hook of hooks) if (hook) fastify.addHook('onRequest', hook as never);
}

function hygiene(request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
  void reply.header('x-request-id', request.id);
  // Compressed bodies are refused rather than inflated; keys never travel in a URL.
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    done(
      new GatewayException(
        415,
        GatewayErrorCode.UnsupportedMediaType,
        `Content-Encoding '${String(encoding).slice(0, 32)}' is not supported.`,
      ),
    );
    return;
  }
  if (credentialInQuery(request.url)) {
    done(
      new GatewayException(
        400,
        GatewayErrorCode.InvalidRequest,
        'Credentials are not accepted in the query string.',
      ),
    );
    return;
  }
  done();
}

function configureParsers(fastify: FastifyInstance, config: AppConfig): void {
  // JSON only: Fastify's default text/plain parser would hand a string body to the handlers (bad-inputs I3).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: config.BODY_LIMIT_BYTES },
    (request, body, done) => {
      const charset = /charset=([^;\s]+)/i.exec(String(request.headers['content-type']))?.[1];
      if (charset && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
        done(
          new GatewayException(
            415,
            GatewayErrorCode.UnsupportedMediaType,
            'Only UTF-8 JSON bodies are supported.',
          ),
          undefined,
        );
        return;
      }
      if (keepsRawBody(request.url)) request.rawBody = body as string;
      try {
        done(null, parseJsonBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}

/** `text/csv` for the scoring paths only; every other path keeps answering 415 for it. */
function addCsvParser(fastify: FastifyInstance, config: AppConfig): void {
  fastify.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: config.BODY_LIMIT_BYTES },
    (request, body, done) => {
      if (!acceptsCsv(request.url)) {
        done(
          new GatewayException(
            415,
            GatewayErrorCode.UnsupportedMediaType,
            "Unsupported Content-Type: send the request body as 'application/json'.",
          ),
          undefined,
        );
        return;
      }
      done(null, new CsvBody(body as string));
    },
  );
}

/**
 * `multipart/form-data` for the Files API upload only (streamed, never buffered: see FilesService); every
 * other path keeps answering 415 for it. The part limit is one byte above FILES_MAX_BYTES so that the
 * service's own check answers the 413.
 */
async function addMultipartParser(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  await app.register(fastifyMultipart, {
    limits: { fileSize: config.FILES_MAX_BYTES + 1, files: 1, fields: 8, fieldSize: 64 * 1024, parts: 9 },
  });
  app
    .getHttpAdapter()
    .getInstance()
    .addHook(
      'preValidation',
      (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
        const type = String(request.headers['content-type'] ?? '');
        if (type.toLowerCase().startsWith('multipart/') && !acceptsMultipart(request.url)) {
          done(
            new GatewayException(
              415,
              GatewayErrorCode.UnsupportedMediaType,
              "Unsupported Content-Type: send the request body as 'application/json'.",
            ),
          );
          return;
        }
        done();
      },
    );
}

function setupOpenApi(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gatehouse')
      .setDescription('AI gateway: MLflow AI Gateway compatible, OpenAI compatible.')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  const promptApis = app.get(PromptApiDocs);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'openapi.yaml',
    // Published prompt APIs change at run time: each is added to the document when it is served.
    patchDocumentOnRequest: (_req, _res, doc) => promptApis.patch(doc),
  });
}
