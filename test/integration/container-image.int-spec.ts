import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadAppConfig } from 'src/config/env.config';

/**
 * The Dockerfile and docker-compose.yml are for users: no Docker engine runs here, so this reads them and
 * checks what a build and `docker compose up` depend on. (The CMD's Node flags: src/runtime-flags.spec.ts.)
 */
const ROOT = resolve(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile instructions, continuation lines joined, comments dropped; split into build stages. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      logical.push(pending);
      pending = '';
    }
  }
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^(\w+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`unparsed Dockerfile line: ${line}`);
    const op = match[1].toUpperCase();
    const rest = match[2];
    if (op === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=');
      args.set(name, value ?? '');
      continue;
    }
    if (op === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const from = image.replace(/\$\{(\w+)\}/g, (_, key: string) => args.get(key) ?? '');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    stages.at(-1)!.instructions.push({ op, args: rest });
  }
  return { args, stages };
}

/** `${NAME:-default}` and `${NAME}` as compose interpolates them with an empty environment. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{(\w+)(?::?-([^}]*))?\}/g,
    (_, _name: string, fallback?: string) => fallback ?? '',
  );
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  deploy?: { replicas?: number };
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  volumes?: string[];
}

describe('Dockerfile', () => {
  const { args, stages } = parseDockerfile(read('Dockerfile'));
  const final = stages.at(-1)!;
  const ops = (stage: Stage, op: string): string[] =>
    stage.instructions.filter((i) => i.op === op).map((i) => i.args);

  it('builds every stage on Node 24 LTS (Debian slim)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^node:24(\.\d+){0,2}-bookworm-slim$/);
    expect(args.get('NODE_IMAGE')).toBe('node:24-bookworm-slim');
  });

  it('installs from the lock file with npm ci, never npm install', () => {
    const runs = stages.flatMap((stage) => ops(stage, 'RUN'));
    expect(runs.join('\n')).not.toMatch(/npm (install|i)\b/);
    for (const stage of stages.filter((s) => ops(s, 'RUN').some((run) => run.includes('npm ci')))) {
      const copies = ops(stage, 'COPY');
      const lockCopy = copies.findIndex((c) => c.split(/\s+/).includes('package-lock.json'));
      expect(lockCopy).toBeGreaterThanOrEqual(0);
      const lockIndex = stage.instructions.findIndex(
        (i) => i.op === 'COPY' && i.args.includes('package-lock.json'),
      );
      const ciIndex = stage.instructions.findIndex((i) => i.op === 'RUN' && i.args.includes('npm ci'));
      expect(lockIndex).toBeLessThan(ciIndex);
    }
  });

  it('ships no dev dependencies: node_modules come from a stage that ran npm ci --omit=dev', () => {
    expect(ops(final, 'RUN').join('\n')).not.toMatch(/npm ci/);
    const copies = ops(final, 'COPY').filter((c) => /\/node_modules\b/.test(c));
    expect(copies).toHaveLength(1);
    const fromStage = /--from=(\S+)/.exec(copies[0])?.[1];
    const source = stages.find((s) => s.name === fromStage)!;
    expect(source).toBeDefined();
    expect(ops(source, 'RUN').some((run) => /npm ci\b.*--omit=dev/.test(run))).toBe(true);
    // The compiled app only: the build stage's sources and tools stay behind.
    const copied = ops(final, 'COPY').map((c) => c.split(/\s+/).filter((p) => !p.startsWith('--')));
    expect(copied.map((parts) => parts[0])).not.toContain('src');
    expect(ops(final, 'COPY').some((c) => c.includes('/app/dist'))).toBe(true);
  });

  it('copies into the build stage everything `npm run build` reads (tsconfigs, sources, web, scripts)', () => {
    const build = stages.find((stage) => ops(stage, 'RUN').some((run) => run.includes('npm run build')))!;
    expect(build).toBeDefined();
    const sources = ops(build, 'COPY').flatMap((c) =>
      c
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))
        .slice(0, -1),
    );
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
      string,
      string
    >;
    const command = `${scripts.build} ${scripts['build:web']}`;
    // Every repository path the build command names, e.g. tsconfig.build.json, web/vite.config.mjs,
    // scripts/build-embedded-template.mjs: it or a folder holding it is copied before the build runs.
    const named = [...command.matchAll(/(?:^|\s)([\w.-]+(?:\/[\w.-]+)*\.(?:json|mjs|js))\b/g)].map(
      (m) => m[1],
    );
    expect(named).toEqual(
      expect.arrayContaining(['tsconfig.build.json', 'scripts/build-embedded-template.mjs']),
    );
    for (const path of named) {
      expect({
        path,
        copied: sources.some((s) => path === s || path.startsWith(`${s.replace(/\/$/, '')}/`)),
      }).toEqual({
        path,
        copied: true,
      });
    }
  });

  it('runs as a non-root numeric user', () => {
    const users = ops(final, 'USER');
    expect(users).toHaveLength(1);
    const [user, group] = users[0].split(':');
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    expect(Number(group ?? user)).toBeGreaterThan(0);
    // Nothing after USER switches back.
    const userIndex = final.instructions.findIndex((i) => i.op === 'USER');
    expect(final.instructions.slice(userIndex + 1).map((i) => i.op)).not.toContain('USER');
  });

  it('has a HEALTHCHECK against the readiness route on the configured port', () => {
    const checks = ops(final, 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatch(/--interval=\d+s/);
    expect(checks[0]).toMatch(/--start-period=\d+s/);
    expect(checks[0]).toContain('/health/ready');
    expect(checks[0]).toContain('process.env.PORT');
    const env = ops(final, 'ENV').join(' ');
    expect(env).toMatch(/PORT=8080/);
    expect(ops(final, 'EXPOSE')).toEqual(['8080']);
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.env', '.git', 'data', 'dist']));
  });

  it('declares Node >= 20.19 in package.json (Node 24 LTS recommended, 20 still supported)', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe('>=20.19');
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
  const services = compose.services;
  const gatehouse = services.gatehouse;
  const environment = (service: ComposeService): Record<string, string> =>
    Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
    );

  it('runs three gateway replicas built from this Dockerfile, with no host port of their own', () => {
    expect(gatehouse.deploy?.replicas).toBe(3);
    expect(gatehouse.build).toBe('.');
    expect(gatehouse.ports).toBeUndefined();
  });

  it('puts one front door on :8080 that round-robins over the replicas by Docker DNS', () => {
    const lb = services.lb;
    expect(lb.ports).toEqual(['8080:8080']);
    expect(lb.depends_on?.gatehouse).toEqual({ condition: 'service_healthy' });
    const mount = lb.volumes!.find((v) => v.endsWith(':/etc/nginx/nginx.conf:ro'))!;
    const nginx = read(mount.split(':')[0]);
    expect(nginx).toMatch(/resolver 127\.0\.0\.11\b/);
    expect(nginx).toMatch(/set \$gatehouse http:\/\/gatehouse:8080;/);
    expect(nginx).toMatch(/proxy_pass \$gatehouse;/);
    expect(nginx).toMatch(/proxy_buffering off;/);
  });

  it('shares one PostgreSQL with pgvector and one Redis between the replicas', () => {
    expect(services.postgres.image).toMatch(/^pgvector\/pgvector:pg\d+$/);
    expect(services.redis.image).toMatch(/^redis:/);
    const env = environment(gatehouse);
    expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
    expect(new URL(env.REDIS_URL).hostname).toBe('redis');
    // Every value passes the gateway's boot-time validation.
    const config = loadAppConfig(env);
    expect(config.DATABASE_URL).toBe(env.DATABASE_URL);
    expect(config.TRUST_PROXY).toBe(1);
  });

  it('migrates once before the replicas start, with the same image and database', () => {
    const migrate = services.migrate;
    expect(migrate.image).toBe(gatehouse.image);
    expect(migrate.command).toEqual(['node', 'dist/src/infra/database/migrate.cli.js']);
    expect(environment(migrate).DATABASE_URL).toBe(environment(gatehouse).DATABASE_URL);
    expect(gatehouse.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(migrate.depends_on?.postgres).toEqual({ condition: 'service_healthy' });
  });

  it('gives a stopping replica its drain deadline before Docker kills it', () => {
    const env = environment(gatehouse);
    const grace = /^(\d+)s$/.exec(gatehouse.stop_grace_period ?? '')?.[1];
    expect(Number(grace)).toBeGreaterThanOrEqual(Math.ceil(Number(env.SHUTDOWN_DRAIN_MS) / 1000) + 10);
    expect(Number(env.GATEHOUSE_WORKERS)).toBe(1);
  });

  it('lets Prometheus scrape every replica, not whichever one DNS returns', () => {
    const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: {
        job_name: string;
        dns_sd_configs?: { names: string[]; type: string; port: number }[];
      }[];
    };
    const job = prometheus.scrape_configs.find((j) => j.job_name === 'gatehouse')!;
    expect(job.dns_sd_configs).toEqual([
      expect.objectContaining({ names: ['gatehouse'], type: 'A', port: 8080 }),
    ]);
  });
});
