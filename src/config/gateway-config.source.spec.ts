import {
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from 'src/config/env.config';
import { GatewayConfigSource } from 'src/config/gateway-config.source';

/**
 * A ConfigMap mounted as a volume, written the way the kubelet's atomic writer does it: the files live in
 * a timestamped directory, `..data` points at it, and each key is a symlink `gateway.yaml -> ..data/gateway.yaml`.
 * An update writes a new directory, points `..data_tmp` at it, renames that over `..data` and deletes the old
 * directory; `gateway.yaml` itself never changes.
 */
class ProjectedVolume {
  private generation = 0;

  constructor(readonly dir: string) {}

  get file(): string {
    return join(this.dir, 'gateway.yaml');
  }

  write(text: string): void {
    const version = `..2026_12_07_12_00_00.${++this.generation}`;
    mkdirSync(join(this.dir, version));
    writeFileSync(join(this.dir, version, 'gateway.yaml'), text);
    const data = join(this.dir, '..data');
    const previous = this.generation > 1 ? readlinkSync(data) : undefined;
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), data);
    if (!previous) symlinkSync('..data/gateway.yaml', this.file);
    else rmSync(join(this.dir, previous), { recursive: true });
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('GatewayConfigSource on a Kubernetes ConfigMap volume', () => {
  let dir: string;
  let source: GatewayConfigSource | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-configmap-'));
  });

  afterEach(async () => {
    await source?.onModuleDestroy();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads after each ..data symlink swap, reading the new text through the unchanged key symlink', async () => {
    const volume = new ProjectedVolume(dir);
    volume.write('endpoints: [] # v1\n');
    source = new GatewayConfigSource(loadAppConfig({ GATEWAY_CONFIG: volume.file }));
    expect((await source.read()).text).toBe('endpoints: [] # v1\n');

    const seen: string[] = [];
    source.watch(async () => {
      seen.push((await source!.read()).text);
    });
    // chokidar needs a moment to arm its watches before the first swap counts.
    await new Promise((resolve) => setTimeout(resolve, 300));

    volume.write('endpoints: [] # v2\n');
    await waitFor(() => seen.includes('endpoints: [] # v2\n'), 10_000);
    // The watch must survive the deletion of the directory it was first resolved into.
    volume.write('endpoints: [] # v3\n');
    await waitFor(() => seen.includes('endpoints: [] # v3\n'), 10_000);

    expect(seen.at(-1)).toBe('endpoints: [] # v3\n');
    expect(seen.every((text) => text === 'endpoints: [] # v2\n' || text === 'endpoints: [] # v3\n')).toBe(
      true,
    );
  });

  it('does not watch when GATEWAY_CONFIG_WATCH is off', async () => {
    const volume = new ProjectedVolume(dir);
    volume.write('endpoints: [] # v1\n');
    source = new GatewayConfigSource(
      loadAppConfig({ GATEWAY_CONFIG: volume.file, GATEWAY_CONFIG_WATCH: 'false' }),
    );
    let calls = 0;
    source.watch(async () => {
      calls++;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    volume.write('endpoints: [] # v2\n');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(calls).toBe(0);
    expect((await source.read()).text).toBe('endpoints: [] # v2\n');
  });
});
