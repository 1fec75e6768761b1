import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A local stand-in for `mlflow models serve`, wire-faithful where Gatehouse looks: `GET /ping` (200
 * with "\n" when up), `POST /invocations` answering `{"predictions": [...]}` as JSON, MLflow-shaped
 * errors (`{"error_code", "message"}`) for a bad payload (400) or an outage (503). Tests switch its
 * mode and count its calls; `stop()` closes the port (connection refused) and `start()` reopens it.
 */
export interface FakeScorer {
  url: string;
  port: number;
  /** `/invocations` calls received (any outcome). */
  calls: number;
  /** Calls in flight right now, and the most seen at once. */
  inFlight: number;
  maxInFlight: number;
  mode: 'ok' | '503' | '400';
  /** Answer delay in ms (to make an instance slow). */
  delayMs: number;
  /** Whether `/ping` (and any other GET) answers 200. */
  healthy: boolean;
  /** GET paths seen (health checks). */
  probes: string[];
  predictions: number[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startFakeScorer(predictions: number[], port = 0): Promise<FakeScorer> {
  let server: Server | undefined;
  const scorer: FakeScorer = {
    url: '',
    port,
    calls: 0,
    inFlight: 0,
    maxInFlight: 0,
    mode: 'ok',
    delayMs: 0,
    healthy: true,
    probes: [],
    predictions,
    stop: () =>
      new Promise<void>((done) => {
        if (!server) return done();
        server.closeAllConnections();
        server.close(() => done());
        server = undefined;
      }),
    start: async () => {
      server = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          if (request.method === 'GET') {
            scorer.probes.push(request.url ?? '');
            response.writeHead(scorer.healthy ? 200 : 503, { 'content-type': 'application/json' }).end('\n');
            return;
          }
          scorer.calls++;
          scorer.inFlight++;
          scorer.maxInFlight = Math.max(scorer.maxInFlight, scorer.inFlight);
          setTimeout(() => {
            scorer.inFlight--;
            response.setHeader('content-type', 'application/json');
            if (scorer.mode === '503') {
              response.writeHead(503);
              response.end(JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'overloaded' }));
            } else if (scorer.mode === '400') {
              response.writeHead(400);
              response.end(
                JSON.stringify({
                  error_code: 'BAD_REQUEST',
                  message: 'Incompatible input types for column x.',
                  stack_trace: 'Traceback (most recent call last): ...',
                }),
              );
            } else {
              response.writeHead(200);
              response.end(JSON.stringify({ predictions: scorer.predictions }));
            }
          }, scorer.delayMs);
        });
      });
      await new Promise<void>((done) => server!.listen(scorer.port, '127.0.0.1', done));
      scorer.port = (server.address() as AddressInfo).port;
      scorer.url = `http://127.0.0.1:${scorer.port}`;
    },
  };
  await scorer.start();
  return scorer;
}
