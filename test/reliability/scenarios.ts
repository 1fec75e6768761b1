import { Readable } from 'node:stream';
import { request } from 'undici';
import { Cluster, Reply } from 'test/reliability/cluster';
import { runFuzz } from 'test/reliability/fuzz';
import { atRate, percentile } from 'test/reliability/load';
import { sleep } from 'test/reliability/services';

export interface ScenarioResult {
  id: string;
  fault: string;
  figure: string;
  goal: string;
  pass: boolean;
  /** Numbers behind the figure, for the JSON report and the e2e assertions. */
  details: Record<string, number | string>;
}

export type Scenario = (cluster: Cluster) => Promise<ScenarioResult>;

const ok = (r: Reply) => r.status === 200;
const fmtPct = (x: number) => `${(x * 100).toFixed(2)}%`;
/** Failures by kind (status, or the transport error's code), e.g. "0 UND_ERR_SOCKET×3, 503×1". */
function failureKinds<R extends Reply>(replies: R[], counted: (r: R) => boolean): string {
  const kinds = new Map<string, number>();
  for (const r of replies) {
    if (!counted(r)) continue;
    const kind = r.status === 0 ? `0 ${(r.error ?? '').split(' ')[0]}` : String(r.status);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([kind, count]) => `${kind}×${count}`).join(', ');
}
let ridSeq = 0;
const rid = (tag: string) => `${tag}-${Date.now().toString(36)}-${(ridSeq++).toString(36)}`;

/** One chat call through the rotation, tagged with a request id the ledger and the upstream both see. */
function chat(cluster: Cluster, model: string, tag: string, extra: Record<string, unknown> = {}) {
  const id = rid(tag);
  return cluster
    .send({
      path: '/v1/chat/completions',
      headers: { ...cluster.userAuth, 'x-request-id': id },
      body: cluster.chatBody(model, id, extra),
    })
    .then((reply) => ({ ...reply, rid: id }));
}

async function createBudget(
  cluster: Cluster,
  name: string,
  endpoint: string,
  amount: number,
): Promise<string> {
  const created = await cluster.admin('POST', '/admin/v1/budgets', {
    name,
    scope: 'endpoint',
    subject: endpoint,
    period: 'monthly',
    amount_usd: amount,
    mode: 'hard',
  });
  if (created.status !== 201) throw new Error(`budget ${name}: ${created.status} ${created.text}`);
  // Admin writes reach every replica within a second.
  await sleep(1_500);
  return (JSON.parse(created.text) as { id: string }).id;
}

export const r1: Scenario = async (cluster) => {
  const { r1Rate, r1Seconds } = cluster.profile;
  const count = r1Rate * r1Seconds;
  let restarting: Promise<void> | undefined;
  let restartMs = 0;
  const replies = await atRate(
    r1Rate,
    count,
    (i) => chat(cluster, 'chat', `r1-${i}`),
    (i) => {
      if (i === Math.floor(r1Rate * 3)) {
        restarting = (async () => {
          const started = Date.now();
          for (const replica of cluster.replicas) {
            await replica.stop('SIGTERM');
            await replica.start();
          }
          restartMs = Date.now() - started;
        })();
      }
    },
  );
  await restarting;
  const good = replies.filter(ok);
  const rows = await cluster.ledgerRows(good.map((r) => r.rid));
  const rowCount = [...rows.values()].reduce((a, b) => a + b, 0);
  const failed = replies.length - good.length;
  const kinds = failureKinds(replies, (r) => !ok(r));
  return {
    id: 'R1',
    fault: `rolling restart of 3 replicas (SIGTERM, one at a time) at ${r1Rate} req/s`,
    figure: `${failed} failed of ${replies.length}${kinds ? ` (${kinds})` : ''}; ${rowCount} ledger rows for ${good.length} answers`,
    goal: '0 failed; rows = answers',
    pass: failed === 0 && rowCount === good.length,
    details: {
      requests: replies.length,
      failed,
      failedKinds: kinds,
      ledgerRows: rowCount,
      answered: good.length,
      restartMs,
    },
  };
};

export const r2: Scenario = async (cluster) => {
  const { r2Concurrent, r2Room } = cluster.profile;
  const maxTokens = 5;
  // $1 per completion token, prompt tokens free: each request reserves exactly max_tokens dollars.
  const amount = r2Room * maxTokens;
  const budgetId = await createBudget(cluster, 'r2-room', 'budgeted', amount);
  const since = Date.now();
  const replies = await Promise.all(
    Array.from({ length: r2Concurrent }, (_, i) =>
      chat(cluster, 'budgeted', `r2-${i}`, { max_tokens: maxTokens }),
    ),
  );
  const admitted = replies.filter(ok).length;
  const refused = replies.filter((r) => r.status === 429).length;
  await sleep(1_000);
  const billed = cluster.upstream
    .byMode('ok', since)
    .filter((c) => c.rid?.startsWith('r2-'))
    .reduce((sum, c) => sum + c.completionTokens, 0);
  const status = await cluster.admin('GET', `/admin/v1/budgets/${budgetId}/status`);
  const spent = Number((JSON.parse(status.text) as { spent_usd?: number }).spent_usd ?? NaN);
  const overspend = Math.max(billed - amount, (Number.isFinite(spent) ? spent : 0) - amount);
  return {
    id: 'R2',
    fault: `${r2Concurrent} concurrent requests, budget room for ${r2Room}`,
    figure: `${admitted} admitted (${refused} refused 429); overspend $${Math.max(0, overspend)}`,
    goal: `exactly ${r2Room}; $0`,
    pass: admitted === r2Room && overspend <= 0 && refused === r2Concurrent - r2Room,
    details: { admitted, refused, upstreamCost: billed, ledgerSpent: spent, amount },
  };
};

export const r3: Scenario = async (cluster) => {
  const { r3Limit, rate } = cluster.profile;
  const replies = await atRate(rate, r3Limit * 5, (i) => chat(cluster, 'limited', `r3-${i}`));
  const admitted = replies.filter(ok).length;
  const refused = replies.filter((r) => r.status === 429 && r.headers['retry-after'] !== undefined).length;
  const perReplica = [0, 1, 2].map((p) => replies.filter((r) => r.replica === p && ok(r)).length);
  return {
    id: 'R3',
    fault: `request limit L=${r3Limit} across 3 replicas, ${r3Limit * 5} offered at ${rate}/s`,
    figure: `${admitted} admitted (per replica ${perReplica.join('/')}); ${refused} refused with Retry-After`,
    goal: `exactly ${r3Limit}`,
    pass: admitted === r3Limit && refused === r3Limit * 4,
    details: { admitted, refused, offered: r3Limit * 5 },
  };
};

export const r4: Scenario = async (cluster) => {
  const { r4Requests, rate } = cluster.profile;
  const since = Date.now();
  const events: Promise<void>[] = [];
  let killed = -1;
  let bootFailures = 0;
  const replies = await atRate(
    rate,
    r4Requests,
    (i) => chat(cluster, 'chat', `r4-${i}`),
    (i) => {
      if (i === Math.floor(r4Requests / 3)) {
        const victim = cluster.replicas[2];
        killed = victim.index;
        events.push(
          (async () => {
            await victim.stop('SIGKILL');
            await sleep(1_000);
            // As a supervisor would: a replica whose start fails (e.g. PostgreSQL restarting under it,
            // which the gateway does not wait out at boot) is started again.
            for (let attempt = 1; ; attempt++) {
              try {
                await victim.start();
                break;
              } catch (error) {
                if (attempt >= 5) throw error;
                bootFailures++;
                await sleep(2_000);
              }
            }
          })(),
        );
      }
      if (i === Math.floor((2 * r4Requests) / 3)) {
        events.push(
          (async () => {
            await cluster.pg.stop();
            await cluster.pg.start();
          })(),
        );
      }
    },
  );
  await Promise.all(events);
  const good = replies.filter(ok);
  const rows = await cluster.ledgerRows(
    good.map((r) => r.rid),
    30_000,
  );
  const missing = good.filter((r) => !rows.has(r.rid)).length;
  // Rows lost anywhere but on the killed replica would be a different bug from its unflushed buffer.
  const missingElsewhere = good.filter((r) => !rows.has(r.rid) && r.replica !== killed).length;
  const duplicated = [...rows.values()].filter((n) => n > 1).length;
  const goodIds = new Set(good.map((r) => r.rid));
  const upstreamTokens = cluster.upstream
    .byMode('ok', since)
    .filter((c) => c.rid && goodIds.has(c.rid) && c.billed)
    .reduce((sum, c) => sum + c.promptTokens + c.completionTokens, 0);
  const [ledger] = await cluster.sql<{ tokens: string | null }>(
    'SELECT sum(coalesce(prompt_tokens,0) + coalesce(completion_tokens,0)) AS tokens FROM usage_records WHERE request_id = ANY($1)',
    [good.map((r) => r.rid)],
  );
  const ledgerTokens = Number(ledger?.tokens ?? 0);
  const upstreamTokensOfRows = cluster.upstream
    .byMode('ok', since)
    .filter((c) => c.rid && rows.has(c.rid) && c.billed)
    .reduce((sum, c) => sum + c.promptTokens + c.completionTokens, 0);
  const failed = replies.length - good.length;
  return {
    id: 'R4',
    fault: `${r4Requests} requests; SIGKILL of replica ${killed} at 1/3, PostgreSQL restart at 2/3`,
    figure: `${missing} missing / ${duplicated} duplicated rows; tokens ledger ${ledgerTokens} vs upstream ${upstreamTokens} (${failed} requests failed at the kill)`,
    goal: '0 / 0; equal',
    pass: missing === 0 && duplicated === 0 && ledgerTokens === upstreamTokens,
    details: {
      requests: replies.length,
      answered: good.length,
      failed,
      missing,
      missingElsewhere,
      bootFailures,
      duplicated,
      ledgerTokens,
      upstreamTokens,
      upstreamTokensOfRows,
    },
  };
};

export const r5: Scenario = async (cluster) => {
  const { r5Requests, rate } = cluster.profile;
  cluster.upstream.settings.failRate = 0.1;
  const since = Date.now();
  const replies = await atRate(rate, r5Requests, (i) => chat(cluster, 'flaky', `r5-${i}`));
  const success = replies.filter(ok).length / replies.length;
  const calls = [...cluster.upstream.byMode('flaky', since), ...cluster.upstream.byMode('ok', since)].filter(
    (c) => c.rid?.startsWith('r5-'),
  );
  const injected = calls.filter((c) => c.failed).length;
  const perRequest = calls.length / replies.length;
  return {
    id: 'R5',
    fault: `10% of upstream calls fail (503 or reset), fallback configured; ${r5Requests} requests`,
    figure: `success ${fmtPct(success)}; ${perRequest.toFixed(3)} upstream calls/request (${injected} faults injected)`,
    goal: '≥ 99.9%; ≤ 1.2',
    pass: success >= 0.999 && perRequest <= 1.2 && injected > 0,
    details: { success, perRequest, injected, requests: replies.length },
  };
};

export const r6: Scenario = async (cluster) => {
  const { r6Requests, r6TimeoutMs } = cluster.profile;
  const replies = await atRate(10, r6Requests, (i) =>
    chat(cluster, 'hang', `r6-${i}`, i % 2 === 1 ? { stream: true } : {}),
  );
  const longest = Math.max(...replies.map((r) => r.ms));
  const statuses = [...new Set(replies.map((r) => r.status))].join(',');
  return {
    id: 'R6',
    fault: `upstream accepts and never answers (timeout_ms ${r6TimeoutMs}); ${r6Requests} requests`,
    figure: `longest ${Math.round(longest)} ms (status ${statuses})`,
    goal: `≤ ${r6TimeoutMs + 1000} ms`,
    pass: longest <= r6TimeoutMs + 1000 && replies.every((r) => r.status === 504),
    details: { longestMs: Math.round(longest), statuses },
  };
};

export const r7: Scenario = async (cluster) => {
  const { r7Clients } = cluster.profile;
  const abortedAt = new Map<string, number>();
  await Promise.all(
    Array.from({ length: r7Clients }, async (_, i) => {
      const id = rid(`r7-${i}`);
      const replica = cluster.pick();
      if (!replica) return;
      const controller = new AbortController();
      const response = await request(`${replica.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...cluster.userAuth, 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify(cluster.chatBody('slow', id, { stream: true })),
        signal: controller.signal,
      });
      let chunks = 0;
      for await (const part of response.body as Readable) {
        chunks += String(part).split('data: ').length - 1;
        // Clients leave at different points of their streams (after 3 to 22 chunks, ~0.3-2.2 s), as real
        // callers do, rather than in one burst.
        if (chunks >= 3 + (i % 20)) break;
      }
      abortedAt.set(id, Date.now());
      controller.abort();
      response.body.destroy();
    }),
  );
  await sleep(2_000);
  const calls = cluster.upstream.byMode('slow').filter((c) => c.rid && abortedAt.has(c.rid));
  const within = calls.filter(
    (c) => c.abortedAt !== undefined && c.abortedAt - abortedAt.get(c.rid!)! <= 1_000,
  );
  const lags = calls
    .filter((c) => c.abortedAt !== undefined)
    .map((c) => c.abortedAt! - abortedAt.get(c.rid!)!);
  const share = calls.length === 0 ? 0 : within.length / abortedAt.size;
  return {
    id: 'R7',
    fault: `${r7Clients} clients disconnect mid-stream`,
    figure: `${fmtPct(share)} upstream calls aborted within 1 s (max lag ${Math.max(0, ...lags)} ms)`,
    goal: '100%',
    pass: abortedAt.size === r7Clients && within.length === r7Clients,
    details: {
      clients: abortedAt.size,
      upstreamCalls: calls.length,
      within: within.length,
      neverAborted: calls.length - lags.length,
      lagP50: percentile(lags, 50),
      lagP90: percentile(lags, 90),
      lagMax: Math.max(0, ...lags),
    },
  };
};

export const r8: Scenario = async (cluster) => {
  // Capacity: a closed loop of 32 callers for 5 s.
  let done = 0;
  const until = Date.now() + 5_000;
  await Promise.all(
    Array.from({ length: 32 }, async (_, w) => {
      while (Date.now() < until) {
        const r = await chat(cluster, 'chat', `r8c-${w}`);
        if (ok(r)) done++;
      }
    }),
  );
  const capacity = done / 5;
  const offered = Math.max(20, Math.round(capacity * 2));
  const replies = await atRate(offered, offered * cluster.profile.r8OfferS, (i) =>
    chat(cluster, 'chat', `r8-${i}`),
  );
  const admitted = replies.filter(ok);
  const shed = replies.filter(
    (r) => (r.status === 429 || r.status === 503) && r.headers['retry-after'] !== undefined,
  );
  const other = replies.length - admitted.length - shed.length;
  // What the other failures were (status, or the transport error's code), e.g. "0 UND_ERR_HEADERS_TIMEOUT×3".
  const shedSet = new Set(shed);
  const kinds = failureKinds(replies, (r) => !ok(r) && !shedSet.has(r));
  const p99 = percentile(
    admitted.map((r) => r.ms),
    99,
  );
  const alive = cluster.replicas.every((r) => r.alive());
  return {
    id: 'R8',
    fault: `2× measured capacity (${capacity.toFixed(0)} req/s → ${offered} req/s offered)`,
    figure: `${shed.length} shed with Retry-After, ${other} other failures${kinds ? ` (${kinds})` : ''}; p99 admitted ${Math.round(p99)} ms; alive ${alive}`,
    goal: 'no crash; errors only 429/503 + Retry-After; p99 ≤ 2 s',
    pass: alive && other === 0 && p99 <= 2_000,
    details: {
      capacity,
      offered,
      shed: shed.length,
      other,
      // Answers other than 200 and shedding (the gateway's own failures), and transport failures
      // (no answer: a client timeout or reset while the request queued).
      answeredOther: replies.filter((r) => r.status !== 0 && !ok(r) && !shedSet.has(r)).length,
      transport: replies.filter((r) => r.status === 0).length,
      otherKinds: kinds,
      p99: Math.round(p99),
    },
  };
};

export const r9: Scenario = async (cluster) => {
  const { r9FreezeMs } = cluster.profile;
  const budgetId = await createBudget(cluster, 'r9-hard', 'r9-budget', 1_000_000);
  const rate = 30;
  const before = 2_000;
  const after = 8_000;
  const count = Math.round(((before + r9FreezeMs + after) / 1000) * rate);
  let frozenAt = 0;
  let resumedAt = 0;
  const models = ['r9-budget', 'r9-limit', 'chat'];
  const replies = await atRate(
    rate,
    count,
    async (i) => {
      const sentAt = Date.now();
      const model = models[i % 3];
      const reply = await chat(cluster, model, `r9-${i}`, { max_tokens: 5 });
      return { ...reply, model, sentAt };
    },
    (i) => {
      if (i === Math.round((before / 1000) * rate)) {
        cluster.redis.freeze();
        frozenAt = Date.now();
      }
      if (i === Math.round(((before + r9FreezeMs) / 1000) * rate)) {
        cluster.redis.resume();
        resumedAt = Date.now();
      }
    },
  );
  if (!resumedAt) cluster.redis.resume();
  // The first second of the freeze is detection (LIMITS_REDIS_TIMEOUT_MS per call); after it the
  // documented behaviour must hold.
  const during = replies.filter((r) => r.sentAt >= frozenAt + 1_000 && r.sentAt + r.ms < resumedAt);
  const budgetDuring = during.filter((r) => r.model === 'r9-budget');
  const budgetAdmitted = budgetDuring.filter(ok).length;
  const budgetRefused = budgetDuring.filter((r) => r.status === 503 && r.headers['retry-after']).length;
  const limitDuring = during.filter((r) => r.model === 'r9-limit');
  const limitOk = limitDuring.filter(ok).length / Math.max(1, limitDuring.length);
  const plainDuring = during.filter((r) => r.model === 'chat');
  const plainOk = plainDuring.filter(ok).length / Math.max(1, plainDuring.length);
  // Recovery: the first budget request sent after resume from which every budget request succeeds.
  const afterResume = replies.filter((r) => r.sentAt >= resumedAt && r.model === 'r9-budget');
  let recoveredAt = resumedAt;
  for (const r of afterResume) if (!ok(r)) recoveredAt = r.sentAt + r.ms;
  const recoveryMs =
    afterResume.length > 0 && ok(afterResume[afterResume.length - 1])
      ? Math.round(recoveredAt - resumedAt)
      : Infinity;
  await sleep(1_500);
  const status = await cluster.admin('GET', `/admin/v1/budgets/${budgetId}/status`);
  const reserved = Number((JSON.parse(status.text) as { reserved_usd?: number }).reserved_usd ?? 0);
  return {
    id: 'R9',
    fault: `Redis frozen ${r9FreezeMs / 1000} s (SIGSTOP), then resumed`,
    figure: `budgets: ${budgetAdmitted} admitted, ${budgetRefused}/${budgetDuring.length} refused 503; limits ${fmtPct(limitOk)} served (local caps); unlimited ${fmtPct(plainOk)}; recovery ${recoveryMs} ms; holds left $${reserved}`,
    goal: 'budgets fail closed; limits fall back; ≤ 5 s; $0 held',
    pass:
      budgetAdmitted === 0 &&
      budgetRefused === budgetDuring.length &&
      limitOk >= 0.99 &&
      plainOk >= 0.99 &&
      recoveryMs <= 5_000 &&
      reserved === 0,
    details: {
      budgetAdmitted,
      budgetRefused,
      budgetDuring: budgetDuring.length,
      limitOk,
      plainOk,
      recoveryMs,
      reserved,
    },
  };
};

export const r10: Scenario = async (cluster) => {
  const { r10DownMs, rate } = cluster.profile;
  const before = 2_000;
  const after = 4_000;
  const count = Math.round(((before + r10DownMs + after) / 1000) * rate);
  let restart: Promise<void> | undefined;
  const replies = await atRate(
    rate,
    count,
    (i) => chat(cluster, 'chat', `r10-${i}`),
    (i) => {
      if (i === Math.round((before / 1000) * rate)) {
        restart = (async () => {
          await cluster.pg.stop();
          await sleep(r10DownMs);
          await cluster.pg.start();
        })();
      }
    },
  );
  await restart;
  const good = replies.filter(ok);
  const success = good.length / replies.length;
  const rows = await cluster.ledgerRows(
    good.map((r) => r.rid),
    40_000,
  );
  const lost = good.filter((r) => !rows.has(r.rid)).length;
  return {
    id: 'R10',
    fault: `PostgreSQL down ${r10DownMs / 1000} s; ${replies.length} requests with a warm key`,
    figure: `success ${fmtPct(success)}; ${lost} usage rows lost`,
    goal: '≥ 99.9%; 0',
    pass: success >= 0.999 && lost === 0,
    details: { success, lost, requests: replies.length },
  };
};

export const r11: Scenario = async (cluster) => {
  const result = await runFuzz(cluster, cluster.profile.r11Cases, cluster.profile.seed);
  const alive = cluster.replicas.every((r) => r.alive());
  return {
    id: 'R11',
    fault: `${result.cases} fuzzed bodies and headers on ${result.routes} routes (fast-check seed ${cluster.profile.seed})`,
    figure: `${result.serverErrors} 5xx; ${result.transportErrors} dropped connections; crashes ${alive ? 0 : 1}`,
    goal: '0; 0',
    pass: result.serverErrors === 0 && result.transportErrors === 0 && alive,
    details: {
      cases: result.cases,
      routes: result.routes,
      serverErrors: result.serverErrors,
      transportErrors: result.transportErrors,
      unavailableByDesign: result.unavailableByDesign,
      firstFailure: result.examples[0] ?? '',
    },
  };
};

export const r12: Scenario = async (cluster) => {
  // Make each place a secret could leak speak: upstream echoes (YAML and stored-secret keys), admin
  // listings, metrics, then collect logs and spans.
  for (const model of ['echo', 'echo-stored']) {
    for (let i = 0; i < 6; i++)
      await chat(cluster, model, `r12-${model}-${i}`, i % 2 ? { stream: true } : {});
  }
  for (const path of [
    '/admin/v1/endpoints',
    '/admin/v1/endpoints/echo-stored',
    '/admin/v1/endpoints/echo-stored/revisions',
    '/admin/v1/secrets',
    '/admin/v1/keys',
    '/admin/v1/audit',
    '/admin/v1/budgets',
    '/admin/v1/limits',
    '/api/2.0/endpoints/',
    '/v1/models',
    '/health/ready',
    '/openapi.json',
  ]) {
    await cluster.admin('GET', path);
  }
  for (const replica of cluster.replicas) {
    if (!replica.up) continue;
    await cluster.send({
      method: 'GET',
      path: '/metrics',
      replica: replica.index,
      headers: { authorization: `Bearer ${cluster.canary.token}-metrics` },
    });
  }
  await sleep(2_000);
  for (const replica of cluster.replicas) {
    replica.logs.forEach((text, n) => cluster.canary.scan(`log replica ${replica.index}#${n}`, text));
  }
  cluster.otlp.bodies.forEach((body) => cluster.canary.scan('span export', body));
  const hits = cluster.canary.hits;
  const where = [...new Set(hits.map((h) => h.source))].slice(0, 5).join('; ');
  return {
    id: 'R12',
    fault: 'a canary in every secret; every response, log line, span and metric of the run searched',
    figure: `${hits.length} occurrences in ${(cluster.canary.scanned / 1e6).toFixed(1)} MB${where ? ` (${where})` : ''}`,
    goal: '0',
    pass: hits.length === 0 && cluster.otlp.bodies.length > 0,
    details: {
      hits: hits.length,
      scannedBytes: cluster.canary.scanned,
      spans: cluster.otlp.bodies.length,
      first: hits[0]?.excerpt ?? '',
    },
  };
};

export const r13: Scenario = async (cluster) => {
  const { r13Requests, rate } = cluster.profile;
  const route = (destination: string) => ({
    name: 'r13-alias',
    task_type: 'llm/v1/chat',
    destinations: [{ name: destination, traffic_percentage: 100 }],
  });
  const created = await cluster.admin('POST', '/admin/v1/routes', route('chat'));
  if (created.status !== 201) throw new Error(`route: ${created.status} ${created.text}`);
  await sleep(1_000);
  let changes = 0;
  const moves: Promise<unknown>[] = [];
  const replies = await atRate(
    rate,
    r13Requests,
    (i) => chat(cluster, 'r13-alias', `r13-${i}`),
    (i) => {
      if (i > 0 && i % Math.max(5, Math.floor(rate / 2)) === 0) {
        // Alternately move the alias to the other endpoint and roll back to the first revision.
        const move = (
          changes++ % 2 === 0
            ? cluster.admin('PUT', '/admin/v1/routes/r13-alias', route('steady'))
            : cluster.admin('POST', '/admin/v1/routes/r13-alias/rollback', { revision: 1 })
        ).then((r) => {
          if (r.status >= 300) throw new Error(`r13 change: ${r.status} ${r.text}`);
        });
        moves.push(move);
      }
    },
  );
  await Promise.all(moves);
  const failed = replies.filter((r) => !ok(r)).length;
  const targets = new Set(replies.map((r) => r.headers['x-gatehouse-target']));
  return {
    id: 'R13',
    fault: `route alias moved and rolled back ${changes} times under ${rate} req/s`,
    figure: `${failed} failed of ${replies.length} (answered by ${[...targets].join(', ')})`,
    goal: '0',
    pass: failed === 0 && targets.size >= 2,
    details: { failed, requests: replies.length, changes },
  };
};

/** Run order: exactness and faults first, the destructive ones after, the fuzz and the canary search last. */
export const SCENARIOS: Record<string, Scenario> = {
  R2: r2,
  R3: r3,
  R5: r5,
  R6: r6,
  R7: r7,
  R13: r13,
  R9: r9,
  R10: r10,
  R4: r4,
  R8: r8,
  R1: r1,
  R11: r11,
  R12: r12,
};
