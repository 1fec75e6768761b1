import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { INVOCATION_FINISHED, InvocationRecord } from 'src/common/observability/invocation';
import {
  AttemptInfo,
  AttemptObserver,
  AttemptResult,
  AttemptScope,
  Telemetry,
} from 'src/common/observability/telemetry';
import { APP_CONFIG, AppConfig } from 'src/config/env.config';
import { scrapeMetrics, shareWithCluster } from 'src/infra/cluster/cluster-metrics';
import { AuthSnapshotService } from 'src/modules/auth/auth-snapshot.service';
import { CacheStatsService } from 'src/modules/cache/cache-stats.service';
import { MODERATION_VERDICT_EVENT, ModerationVerdictEvent } from 'src/modules/moderation/moderation.events';
import { SEMANTIC_CACHE_LOOKUP, SemanticCacheLookupEvent } from 'src/modules/knowledge/semantic-cache.events';
import { SCORING_CHUNK_EVENT, ScoringChunkEvent } from 'src/modules/registry/scoring-fanout';
import { CIRCUIT_STATES, CircuitStates } from 'src/modules/observability/metrics/circuit-states';
import {
  attemptResult,
  MetricLabels,
  OTHER,
  statusClass,
} from 'src/modules/observability/metrics/metric-labels';
import { RegistryService } from 'src/modules/registry/registry.service';
import { RouteTableHolder } from 'src/modules/routing/route-table.holder';

/** Seconds; LLM calls run from tens of milliseconds (cache, embeddings) to minutes (long generations). */
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
const TTFT_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

/** Gateway error codes that are our own refusals, by kind (codes of modules still to come included). */
const REFUSALS: Record<string, string> = {
  rate_limit_exceeded: 'rate_limit',
  budget_exceeded: 'budget',
  quota_exceeded: 'quota',
  concurrency_limit_exceeded: 'concurrency',
};

/** As published in the OpenAPI document. */
const GATEHOUSE_VERSION = '0.1.0';

const MODERATION_ACTIONS = new Set(['allow', 'redact', 'flag', 'block']);

/**
 * The Prometheus registry of one gateway process and everything that feeds it. Request-level series
 * come from the one invocation record per request (INVOCATION_FINISHED); upstream attempts from the
 * telemetry seam; cache, registry and circuit figures are read when scraped. Feeding a request is a
 * handful of counter/histogram updates with bounded labels.
 */
@Injectable()
export class MetricsService implements OnModuleInit, AttemptObserver {
  readonly registry = new Registry();
  readonly labels: MetricLabels;
  private readonly bootedAt = Date.now();

  private readonly requests: Counter<'endpoint' | 'target' | 'team' | 'status_class'>;
  private readonly duration: Histogram<'endpoint' | 'target' | 'status_class'>;
  private readonly ttft: Histogram<'endpoint' | 'target'>;
  private readonly attemptDuration: Histogram<'endpoint' | 'target' | 'provider' | 'result'>;
  private readonly attemptTtft: Histogram<'endpoint' | 'target' | 'provider'>;
  private readonly tokens: Counter<'endpoint' | 'team' | 'direction'>;
  private readonly cost: Counter<'endpoint' | 'team'>;
  private readonly cacheHits: Counter<'endpoint' | 'team'>;
  private readonly refusals: Counter<'kind' | 'endpoint' | 'team'>;
  private readonly moderation: Counter<'endpoint' | 'stage' | 'action'>;
  private readonly semantic: Counter<'endpoint' | 'outcome'>;
  private readonly scoringChunks: Counter<'endpoint' | 'outcome'>;
  private readonly inFlight: Gauge;
  private readonly httpRequests: Counter<'status_class'>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    holder: RouteTableHolder,
    auth: AuthSnapshotService,
    registryService: RegistryService,
    cacheStats: CacheStatsService,
    circuits: CircuitStates,
    private readonly telemetry: Telemetry,
  ) {
    const registers = [this.registry];
    this.labels = new MetricLabels(
      () => holder.current,
      (teamId) => auth.team(teamId)?.name,
      config.METRICS_MAX_TEAMS,
    );
    collectDefaultMetrics({ register: this.registry });
    // Gauges named `_total` fail `promtool check metrics`; the same figures are in the per-type series
    // (nodejs_active_handles, nodejs_active_requests, nodejs_active_resources).
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }

    this.requests = new Counter({
      name: 'gatehouse_requests_total',
      help: 'Inference and prediction requests, by endpoint, answering target, team and status class.',
      labelNames: ['endpoint', 'target', 'team', 'status_class'],
      registers,
    });
    this.duration = new Histogram({
      name: 'gatehouse_request_duration_seconds',
      help: 'Inference and prediction request duration, to the last byte sent (streams included).',
      labelNames: ['endpoint', 'target', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: 'gatehouse_time_to_first_token_seconds',
      help: 'Streamed requests: time from the request to the first chunk sent to the client.',
      labelNames: ['endpoint', 'target'],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'gatehouse_upstream_attempt_duration_seconds',
      help: 'Upstream provider attempts (one per retry or fallback), by result: status class or error kind.',
      labelNames: ['endpoint', 'target', 'provider', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.attemptTtft = new Histogram({
      name: 'gatehouse_upstream_time_to_first_token_seconds',
      help: 'Streamed upstream attempts: time from the attempt start to the first upstream chunk.',
      labelNames: ['endpoint', 'target', 'provider'],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.tokens = new Counter({
      name: 'gatehouse_tokens_total',
      help: 'Tokens consumed upstream (cache hits excluded), direction input (prompt) or output (completion).',
      labelNames: ['endpoint', 'team', 'direction'],
      registers,
    });
    this.cost = new Counter({
      name: 'gatehouse_cost_usd_total',
      help: 'Upstream cost in US dollars, as priced on the invocation record.',
      labelNames: ['endpoint', 'team'],
      registers,
    });
    this.cacheHits = new Counter({
      name: 'gatehouse_cache_hits_total',
      help: 'Requests answered from the response cache, by endpoint and team.',
      labelNames: ['endpoint', 'team'],
      registers,
    });
    this.refusals = new Counter({
      name: 'gatehouse_refusals_total',
      help: 'Requests refused by a gateway limit, by kind (rate_limit, budget, quota, concurrency).',
      labelNames: ['kind', 'endpoint', 'team'],
      registers,
    });
    this.moderation = new Counter({
      name: 'gatehouse_moderation_verdicts_total',
      help: 'Guardrail verdicts by stage (input, output) and strongest action (allow, redact, flag, block).',
      labelNames: ['endpoint', 'stage', 'action'],
      registers,
    });
    this.semantic = new Counter({
      name: 'gatehouse_semantic_cache_lookups_total',
      help: 'Semantic cache lookups by endpoint and outcome: hit, near_miss (within 0.1 below the threshold), miss.',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.scoringChunks = new Counter({
      name: 'gatehouse_scoring_chunks_total',
      help: 'Chunks of fanned-out scoring requests by endpoint and outcome: success, failure (after retries and fallbacks).',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'gatehouse_requests_in_flight',
      help: 'HTTP requests being served now (health probes and metric scrapes excluded).',
      registers,
    });
    this.httpRequests = new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'Every HTTP request served (admin and inference; probes and scrapes excluded), by status class.',
      labelNames: ['status_class'],
      registers,
    });

    const seen = { hit: 0, miss: 0, bypass: 0 };
    new Counter({
      name: 'gatehouse_cache_lookups_total',
      help: 'Response cache lookups of cacheable endpoints: hit, miss, or bypass (not cacheable request).',
      labelNames: ['result'],
      registers,
      collect() {
        const now = cacheStats.snapshot();
        for (const [result, value] of [
          ['hit', now.hits],
          ['miss', now.misses],
          ['bypass', now.bypasses],
        ] as const) {
          const delta = value - seen[result];
          this.inc({ result }, delta > 0 ? delta : 0);
          seen[result] = value;
        }
      },
    });

    new Gauge({
      name: 'gatehouse_circuit_breaker_state',
      // Per worker (each has its own breakers): across workers, 1 where any worker is in that state.
      aggregator: 'max',
      help: 'Circuit breaker of each upstream target: 1 for its current state (closed, half_open, open).',
      labelNames: ['target', 'state'],
      registers,
      collect() {
        this.reset();
        for (const circuit of circuits.snapshot()) {
          for (const state of CIRCUIT_STATES)
            this.set({ target: circuit.target, state }, circuit.state === state ? 1 : 0);
        }
      },
    });

    // Registry series exist only where a registry is configured (an age of 0 would read as "fresh").
    if (config.MLFLOW_TRACKING_URI) {
      const bootedAt = this.bootedAt;
      new Gauge({
        name: 'gatehouse_registry_sync_age_seconds',
        aggregator: 'max',
        help: 'Seconds since the last successful MLflow registry sync (since start-up when none succeeded yet).',
        registers,
        collect() {
          const synced = registryService.health().lastSyncedAt;
          this.set((Date.now() - (synced ? Date.parse(synced) : bootedAt)) / 1000);
        },
      });
      new Gauge({
        name: 'gatehouse_registry_sync_healthy',
        aggregator: 'min',
        help: '1 when the last MLflow registry sync attempt succeeded, else 0 (the last snapshot keeps serving).',
        registers,
        collect() {
          this.set(registryService.health().state === 'ok' ? 1 : 0);
        },
      });
      new Gauge({
        name: 'gatehouse_registry_models',
        aggregator: 'max',
        help: 'Registered models in the current registry snapshot.',
        registers,
        collect() {
          this.set(registryService.health().models);
        },
      });
    }

    new Gauge({
      name: 'gatehouse_build_info',
      aggregator: 'max',
      help: 'Always 1; labels carry the gateway version.',
      labelNames: ['version'],
      registers,
    }).set({ version: GATEHOUSE_VERSION }, 1);
  }

  onModuleInit(): void {
    this.telemetry.addAttemptObserver(this);
    shareWithCluster(this.registry);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** This process's series, or under GATEHOUSE_WORKERS > 1 the sum over every worker. */
  render(): Promise<string> {
    return scrapeMetrics(this.registry);
  }

  @OnEvent(INVOCATION_FINISHED)
  onInvocation(record: InvocationRecord): void {
    const labels = this.labels;
    const endpoint = labels.endpoint(record.endpoint ?? record.requested);
    // A cache hit made no upstream attempt: its target is the cache.
    const target = record.cacheHit && !record.target ? 'cache' : labels.target(record.target);
    const team = labels.team(record.team);
    const status = statusClass(record.status, record.outcome === 'cancelled');
    this.requests.inc({ endpoint, target, team, status_class: status });
    if (record.latencyMs !== undefined)
      this.duration.observe({ endpoint, target, status_class: status }, record.latencyMs / 1000);
    if (record.stream && record.ttftMs !== undefined)
      this.ttft.observe({ endpoint, target }, record.ttftMs / 1000);
    if (record.cacheHit) {
      this.cacheHits.inc({ endpoint, team });
    } else {
      if (record.promptTokens) this.tokens.inc({ endpoint, team, direction: 'input' }, record.promptTokens);
      if (record.completionTokens)
        this.tokens.inc({ endpoint, team, direction: 'output' }, record.completionTokens);
      if (record.costUsd) this.cost.inc({ endpoint, team }, record.costUsd);
    }
    const refusal = record.errorCode === undefined ? undefined : REFUSALS[record.errorCode];
    if (refusal) this.refusals.inc({ kind: refusal, endpoint, team });
  }

  @OnEvent(MODERATION_VERDICT_EVENT)
  onModeration(event: ModerationVerdictEvent): void {
    const action = MODERATION_ACTIONS.has(event.action) ? event.action : OTHER;
    const stage = event.stage === 'input' || event.stage === 'output' ? event.stage : OTHER;
    this.moderation.inc({ endpoint: this.labels.endpoint(event.endpoint), stage, action });
  }

  @OnEvent(SEMANTIC_CACHE_LOOKUP)
  onSemanticLookup(event: SemanticCacheLookupEvent): void {
    this.semantic.inc({ endpoint: this.labels.endpoint(event.endpoint), outcome: event.outcome });
  }

  @OnEvent(SCORING_CHUNK_EVENT)
  onScoringChunk(event: ScoringChunkEvent): void {
    this.scoringChunks.inc({ endpoint: this.labels.endpoint(event.endpoint), outcome: event.outcome });
  }

  /** Telemetry seam: one upstream attempt (routing and model serving call it per retry or fallback). */
  attempt(record: InvocationRecord | undefined, info: AttemptInfo): AttemptScope {
    const started = performance.now();
    const endpoint = this.labels.endpoint(info.endpoint);
    const target = this.labels.target(info.target);
    const provider = info.provider.length <= 64 ? info.provider : OTHER;
    let first = true;
    let firstAt = 0;
    let open = true;
    return {
      firstByte: () => {
        if (!first) return;
        first = false;
        firstAt = performance.now();
        this.attemptTtft.observe({ endpoint, target, provider }, (firstAt - started) / 1000);
      },
      end: (result: AttemptResult) => {
        if (!open) return;
        open = false;
        const labels = { endpoint, target, provider, result: attemptResult(result.status, result.error) };
        const now = performance.now();
        if (record && !first) record.streamedMs = (record.streamedMs ?? 0) + (now - firstAt);
        this.attemptDuration.observe(labels, (now - started) / 1000);
      },
    };
  }

  /** An HTTP request started (Fastify hook); `finished` is called once when its response closes. */
  httpStarted(): void {
    this.inFlight.inc();
  }

  httpFinished(status: number, cancelled: boolean): void {
    this.inFlight.dec();
    this.httpRequests.inc({ status_class: statusClass(status, cancelled) });
  }
}
