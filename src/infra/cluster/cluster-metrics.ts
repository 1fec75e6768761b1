import cluster, { Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, Registry } from 'prom-client';

const REQUEST = 'gatehouse:metrics-request';
const RESPONSE = 'gatehouse:metrics-response';
/** prom-client gives each worker 5 s to answer; the asking worker waits a little longer. */
const SCRAPE_TIMEOUT_MS = 6_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: string;
}

interface MetricsResponse {
  type: typeof RESPONSE;
  id: string;
  text?: string;
  error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === REQUEST;
const isResponse = (m: unknown): m is MetricsResponse =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === RESPONSE;

const pending = new Map<string, (response: MetricsResponse) => void>();
let listening = false;

/**
 * In a cluster worker: lets the primary collect this registry (prom-client's cluster protocol). Outside a
 * cluster: nothing to do.
 */
export function shareWithCluster(registry: Registry): void {
  if (!cluster.isWorker) return;
  AggregatorRegistry.setRegistries([registry]);
  // The constructor installs the worker's listener that answers the primary's collection requests.
  new AggregatorRegistry();
}

/**
 * The text of a scrape: this process's registry, or — in a cluster worker — every worker's, summed by
 * the primary (counters and histograms add up; gauges by their declared aggregator). Whichever worker
 * takes the scrape, the answer is the same, so counters never jump back between scrapes.
 */
export async function scrapeMetrics(registry: Registry): Promise<string> {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return registry.metrics();
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (isResponse(message)) pending.get(message.id)?.(message);
    });
  }
  const id = randomUUID();
  const response = await new Promise<MetricsResponse>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('the cluster primary did not answer the metrics request'));
    }, SCRAPE_TIMEOUT_MS);
    pending.set(id, (message) => {
      clearTimeout(timer);
      pending.delete(id);
      resolve(message);
    });
    const request: MetricsRequest = { type: REQUEST, id };
    send(request);
  });
  if (response.text === undefined) throw new Error(response.error ?? 'cluster metrics unavailable');
  return response.text;
}

/** In the primary: answers workers' scrape requests with the sum over all workers. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    const reply = (response: MetricsResponse) => {
      if (worker.isConnected()) worker.send(response);
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ type: RESPONSE, id: message.id, text }),
      (error: unknown) =>
        reply({ type: RESPONSE, id: message.id, error: error instanceof Error ? error.message : 'failed' }),
    );
  });
}
