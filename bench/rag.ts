/**
 * Knowledge-base and RAG benchmark (`npm run bench:rag`), on embedded PGlite with pgvector, or with
 * `--db postgres` on a PostgreSQL server with pgvector that it starts itself (pgserver's PostgreSQL 16
 * with pgvector 0.6, from .venv: scripts/setup-python.sh pgvector; see bench/postgres-cluster.ts). Boots
 * the real gateway in this process against a local OpenAI-shaped mock (a bag-of-words hashing embedding of
 * BENCH_RAG_DIMS dimensions and a fixed chat answer), then measures, through the gateway's HTTP API:
 *
 *   rag-ingest   chunks per second, at each size of BENCH_RAG_SIZES (10k and 100k chunks): JSONL uploads
 *                of up to BENCH_RAG_UPLOAD chunks (1,000 documents of 40-word paragraphs, one chunk
 *                each) top the knowledge base up to that size, every chunk embedded through the
 *                gateway's embeddings endpoint; large uploads take the bulk path (index rebuilt after
 *                the load). Then the incremental rate: BENCH_RAG_TRICKLE chunks in uploads of 50
 *                one-chunk documents, each inserted into the existing HNSW index.
 *   rag-search   p50/p99 of `POST /v1/knowledge-bases/{kb}/search` (top 5), plain and hybrid, at each size
 *   rag-latency  p50/p99 of a RAG answer (`POST /ask/{name}`) against a plain chat call to the same LLM
 *                endpoint, at the first size: the latency the retrieval adds (query embedding, search,
 *                template, fitting)
 *
 * Select with BENCH_SCENARIOS (default: all three; search and latency need the ingested base).
 */
import 'reflect-metadata';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp } from 'src/bootstrap';
import { loadAppConfig } from 'src/config/env.config';
import { envNumber, summarize } from './common';
import { pgvectorBinDir, PostgresCluster, startPostgresCluster } from './postgres-cluster';

const SCENARIOS = ['rag-ingest', 'rag-search', 'rag-latency'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** `--db embedded` (default) or `--db postgres`. */
function databaseArgument(): 'embedded' | 'postgres' {
  const at = process.argv.indexOf('--db');
  const value = at >= 0 ? process.argv[at + 1] : (process.env.BENCH_RAG_DB ?? 'embedded');
  if (value !== 'embedded' && value !== 'postgres') {
    throw new Error(`--db ${value}: expected 'embedded' or 'postgres'`);
  }
  return value;
}

/**
 * The server's settings: PostgreSQL's defaults but for the index build's working memory, which
 * pgvector asks to fit the HNSW graph (about 2 kB a chunk at 256 dimensions: 100k chunks need
 * ~200 MB); with the default 64 MB it builds the rest on disk, several times slower.
 */
const SERVER_SETTINGS = { maintenance_work_mem: '512MB', max_connections: 50 };

const settings = {
  db: databaseArgument(),
  sizes: (process.env.BENCH_RAG_SIZES ?? '10000,100000')
    .split(',')
    .map((size) => Number(size.trim()))
    .filter((size) => Number.isInteger(size) && size >= 100 && size <= 1_000_000)
    .sort((a, b) => a - b),
  upload: envNumber('BENCH_RAG_UPLOAD', 50_000, 1_000, 100_000),
  trickle: envNumber('BENCH_RAG_TRICKLE', 500, 0, 100_000),
  dims: envNumber('BENCH_RAG_DIMS', 256, 8, 2_000),
  queries: envNumber('BENCH_RAG_QUERIES', 300, 10, 100_000),
  scenarios: new Set(
    (process.env.BENCH_SCENARIOS ?? SCENARIOS.join(','))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => (SCENARIOS as readonly string[]).includes(s)) as Scenario[],
  ),
};
/** Documents per upload: the most a JSONL upload takes (MAX_JSONL_DOCUMENTS). */
const DOCUMENTS_PER_UPLOAD = 1_000;
/** Characters per chunk: one 40-word paragraph (at most ~320 characters) is one chunk. */
const CHUNK_SIZE = 400;

const VOCABULARY = Array.from({ length: 5_000 }, (_, i) => `term${i.toString(36)}`);

/** A deterministic pseudo-random document of 40 words (one chunk). */
function documentText(seed: number): string {
  let x = seed * 2654435761;
  const words: string[] = [];
  for (let i = 0; i < 40; i++) {
    x = (Math.imul(x ^ (x >>> 15), 2246822519) + i) >>> 0;
    words.push(VOCABULARY[x % VOCABULARY.length]);
  }
  return words.join(' ');
}

function hashEmbedding(text: string, dims: number): number[] {
  const vector = new Array<number>(dims).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 0x01000193) >>> 0;
    vector[hash % dims] += (hash >>> 31) & 1 ? -1 : 1;
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0)) || 1;
  return vector.map((v) => Math.round((v / norm) * 1e6) / 1e6);
}

/** OpenAI's embeddings and chat completions, just enough for the gateway's OpenAI adapter. */
function startMock(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      let answer: unknown;
      if (req.url?.endsWith('/embeddings')) {
        const inputs = (Array.isArray(body.input) ? body.input : [body.input]) as string[];
        const tokens = inputs.reduce((sum, text) => sum + text.split(' ').length, 0);
        answer = {
          object: 'list',
          model: body.model,
          data: inputs.map((text, index) => ({
            object: 'embedding',
            index,
            embedding: hashEmbedding(text, settings.dims),
          })),
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        };
      } else {
        answer = {
          id: 'chatcmpl-bench',
          object: 'chat.completion',
          created: 1,
          model: body.model,
          choices: [
            { index: 0, message: { role: 'assistant', content: 'An answer.' }, finish_reason: 'stop' },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
        };
      }
      const text = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

async function main(): Promise<void> {
  const mock = await startMock();
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-bench-rag-'));
  const configPath = path.join(dir, 'gateway.yaml');
  const endpoint = (name: string, type: string, model: string) => `
  - name: ${name}
    endpoint_type: ${type}
    model: {provider: openai, name: ${model}, config: {openai_api_key: sk-bench, openai_api_base: ${mock.url}/v1}}`;
  await writeFile(
    configPath,
    `endpoints:${endpoint('embed', 'llm/v1/embeddings', 'hash-embed')}${endpoint('chat', 'llm/v1/chat', 'gpt-4o-mini')}
  - name: ask
    endpoint_type: llm/v1/chat
    gatehouse: {rag: {knowledge_base: bench, template: rag-answer, llm_endpoint: chat, top_k: 4}}
`,
  );
  const key = 'gh-bench-admin-key-0123456789abcdef';
  // Embedded PGlite (or the bench's own server) and in-memory limits: the figures are the gateway's
  // own, on one process, plus the server's.
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  let server: PostgresCluster | undefined;
  // Its own directory: the cluster's owner (under root, the postgres account) cannot enter `dir`.
  const serverDir =
    settings.db === 'postgres' ? await mkdtemp(path.join(tmpdir(), 'gatehouse-bench-pg-')) : undefined;
  if (serverDir) {
    server = await startPostgresCluster({
      dir: serverDir,
      binDir: pgvectorBinDir(),
      password: 'bench-only-password',
      settings: SERVER_SETTINGS,
    });
    env.DATABASE_URL = server.url;
    // Interrupted: stop the server this run started (fast shutdown, by its pid) before exiting.
    const interrupted = (signal: NodeJS.Signals) => {
      const pid = server?.pid();
      if (pid !== undefined) process.kill(pid, 'SIGINT');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    console.log(`rag: PostgreSQL server with pgvector on port ${server.port} (${serverDir})`);
  }
  const config = loadAppConfig({
    ...env,
    GATEWAY_CONFIG: configPath,
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
    GATEHOUSE_ADMIN_API_KEY: key,
    // Bulk uploads of 50k chunks are ~20 MB of JSONL.
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
  });
  const app = await createApp(config).catch(async (error: unknown) => {
    await server?.destroy();
    throw error;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const call = async (method: string, route: string, body?: unknown): Promise<Record<string, unknown>> => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 300)
      throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
  const report: Record<string, unknown> = {
    db: settings.db,
    ...(server ? { serverSettings: SERVER_SETTINGS } : {}),
    dims: settings.dims,
    sizes: {},
  };
  const sizes = report.sizes as Record<string, unknown>;
  /** Where each chunk went: uploads of `perDoc`-chunk documents named after their first chunk. */
  const uploads: { start: number; end: number; perDoc: number }[] = [];
  const locate = (chunk: number): { documentId: string; chunk: number } => {
    const upload = uploads.find((u) => chunk >= u.start && chunk < u.end)!;
    const offset = (chunk - upload.start) % upload.perDoc;
    return { documentId: `doc-${chunk - offset}`, chunk: offset };
  };
  /** Uploads chunks [start, end) as documents of `perDoc` paragraphs (one chunk each). */
  const upload = async (start: number, end: number, perDoc: number, deferIndex = false): Promise<void> => {
    const lines: string[] = [];
    for (let first = start; first < end; first += perDoc) {
      const paragraphs: string[] = [];
      for (let i = first; i < Math.min(end, first + perDoc); i++) paragraphs.push(documentText(i));
      lines.push(
        JSON.stringify({
          id: `doc-${first}`,
          text: paragraphs.join('\n\n'),
          metadata: { shard: first % 10 },
        }),
      );
    }
    const answer = (await call('POST', '/admin/v1/knowledge-bases/bench/documents', {
      format: 'jsonl',
      content: lines.join('\n'),
      deferIndex,
    })) as { chunks: number };
    if (answer.chunks !== end - start)
      throw new Error(`uploaded ${end - start} chunks, stored ${answer.chunks}`);
    uploads.push({ start, end, perDoc });
  };
  try {
    await call('POST', '/admin/v1/prompts', {
      name: 'rag-answer',
      messages: [
        { role: 'system', content: 'Answer from these passages:\n{{context}}' },
        { role: 'user', content: '{{question}}' },
      ],
      variables: [
        { name: 'question', type: 'string', required: true },
        { name: 'context', type: 'string', max_length: 1_000_000 },
      ],
      labels: ['production'],
    });
    await call('POST', '/admin/v1/knowledge-bases', {
      name: 'bench',
      embeddingEndpoint: 'embed',
      chunkSize: CHUNK_SIZE,
      chunkOverlap: 0,
    });

    let loaded = 0;
    for (const [sizeIndex, size] of settings.sizes.entries()) {
      const figures: Record<string, unknown> = {};
      sizes[String(size)] = figures;
      if (size > loaded) {
        // Bulk: even uploads of at most BENCH_RAG_UPLOAD chunks, 1,000 documents each.
        const count = Math.ceil((size - loaded) / settings.upload);
        const perUpload = Math.ceil((size - loaded) / count);
        const started = performance.now();
        const from = loaded;
        // One upload rebuilds the index itself; several defer it and build it once at the end.
        for (let u = 0; u < count; u++) {
          const end = Math.min(size, loaded + perUpload);
          await upload(loaded, end, Math.ceil((end - loaded) / DOCUMENTS_PER_UPLOAD), count > 1);
          loaded = end;
        }
        const indexStarted = performance.now();
        if (count > 1) await call('POST', '/admin/v1/knowledge-bases/bench/index', {});
        const indexSeconds = (performance.now() - indexStarted) / 1000;
        const seconds = (performance.now() - started) / 1000;
        figures.bulk = {
          chunks: loaded - from,
          uploads: count,
          seconds: round(seconds),
          separateIndexBuildSeconds: round(indexSeconds),
          chunksPerSecond: round((loaded - from) / seconds),
        };
        console.log(
          `rag-ingest bulk: ${loaded - from} chunks in ${count} upload(s)${count > 1 ? ` and an index build (${indexSeconds.toFixed(1)} s)` : ''}, ${seconds.toFixed(1)} s = ${((loaded - from) / seconds).toFixed(0)} chunks/s (knowledge base: ${loaded})`,
        );
      }
      if (settings.trickle > 0) {
        const started = performance.now();
        const from = loaded;
        for (; loaded < from + settings.trickle;) {
          const end = Math.min(from + settings.trickle, loaded + 50);
          await upload(loaded, end, 1);
          loaded = end;
        }
        const seconds = (performance.now() - started) / 1000;
        figures.incremental = {
          chunks: loaded - from,
          seconds: round(seconds),
          chunksPerSecond: round((loaded - from) / seconds),
        };
        console.log(
          `rag-ingest incremental: ${loaded - from} chunks in uploads of 50, ${seconds.toFixed(1)} s = ${((loaded - from) / seconds).toFixed(0)} chunks/s (knowledge base: ${loaded})`,
        );
      }

      if (settings.scenarios.has('rag-search')) {
        for (const hybrid of [false, true]) {
          const samples: number[] = [];
          let found = 0;
          for (let q = 0; q < settings.queries; q++) {
            const target = (q * 7919) % loaded;
            // Half of a chunk's words: that chunk must come back first.
            const query = documentText(target).split(' ').slice(0, 20).join(' ');
            const started = performance.now();
            const result = (await call('POST', '/v1/knowledge-bases/bench/search', {
              query,
              top_k: 5,
              hybrid,
            })) as { results: { documentId: string; chunk: number }[] };
            samples.push(performance.now() - started);
            const want = locate(target);
            const top = result.results[0];
            if (top?.documentId === want.documentId && top.chunk === want.chunk) found++;
          }
          const s = summarize(samples);
          figures[hybrid ? 'searchHybrid' : 'search'] = {
            p50Ms: round(s.p50),
            p99Ms: round(s.p99),
            recallAt1: round(found / settings.queries),
          };
          console.log(
            `rag-search${hybrid ? ' (hybrid)' : ''} at ${loaded} chunks: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, right chunk first ${found}/${settings.queries}`,
          );
        }
      }

      if (settings.scenarios.has('rag-latency') && sizeIndex === 0) {
        // Warm-up: the first calls load the model's tokenizer and prepare the statements.
        for (let w = 0; w < 5; w++) {
          await call('POST', '/v1/chat/completions', {
            model: 'chat',
            messages: [{ role: 'user', content: 'warm up' }],
          });
          await call('POST', '/ask/ask', { question: 'warm up' });
        }
        const plain: number[] = [];
        const rag: number[] = [];
        for (let q = 0; q < settings.queries; q++) {
          const question = documentText((q * 104729) % loaded)
            .split(' ')
            .slice(0, 12)
            .join(' ');
          let started = performance.now();
          await call('POST', '/v1/chat/completions', {
            model: 'chat',
            messages: [{ role: 'user', content: question }],
          });
          plain.push(performance.now() - started);
          started = performance.now();
          await call('POST', '/ask/ask', { question });
          rag.push(performance.now() - started);
        }
        const p = summarize(plain);
        const r = summarize(rag);
        figures.ragLatency = {
          plainP50Ms: round(p.p50),
          plainP99Ms: round(p.p99),
          ragP50Ms: round(r.p50),
          ragP99Ms: round(r.p99),
          addedP50Ms: round(r.p50 - p.p50),
        };
        console.log(
          `rag-latency at ${loaded} chunks: plain chat p50 ${p.p50.toFixed(1)} / p99 ${p.p99.toFixed(1)} ms; RAG p50 ${r.p50.toFixed(1)} / p99 ${r.p99.toFixed(1)} ms; added p50 ${(r.p50 - p.p50).toFixed(1)} ms`,
        );
      }
    }
    console.log(JSON.stringify(report));
  } finally {
    await app.close();
    await mock.close();
    await server?.destroy();
    if (serverDir) await rm(serverDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (value: number): number => Math.round(value * 100) / 100;

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/rag: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
