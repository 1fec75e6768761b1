import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS } from 'src/runtime-flags';

const root = join(__dirname, '..');

describe('GATEWAY_NODE_FLAGS', () => {
  it('are what npm start runs the gateway with', () => {
    const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.start).toContain(`node ${GATEWAY_NODE_FLAGS.join(' ')} dist/src/main.js`);
  });

  it('are what the Docker image runs the gateway with', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
    expect(JSON.parse(cmd ?? '[]')).toEqual(['node', ...GATEWAY_NODE_FLAGS, 'dist/src/main.js']);
  });

  it('start the young generation at 16 MB (this Node.js accepts and applies them)', () => {
    const youngGeneration = (flags: readonly string[]) =>
      Number(
        execFileSync(process.execPath, [
          ...flags,
          '-e',
          "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))",
        ]).toString(),
      );
    expect(youngGeneration(GATEWAY_NODE_FLAGS)).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(youngGeneration([])).toBeLessThan(16 * 1024 * 1024);
  });

  it('keep hot WebAssembly on the baseline compiler (no TurboFan tier-up)', () => {
    // A two-argument `add` module, called in bursts until V8 tiers it up (in the background) or the
    // time is up; prints whether it still runs on Liftoff, V8's baseline compiler.
    const script = [
      'const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,0,0,10,9,1,7,0,32,0,32,1,106,11]);',
      'const { add } = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;',
      'const until = Date.now() + Number(process.argv[1]);',
      'const burst = () => {',
      '  for (let i = 0, sum = 0; i < 1e6; i++) sum = add(sum, 1) | 0;',
      '  if (%IsLiftoffFunction(add) && Date.now() < until) setTimeout(burst, 20);',
      '  else process.stdout.write(String(%IsLiftoffFunction(add)));',
      '};',
      'burst();',
    ].join('\n');
    const onLiftoff = (flags: readonly string[], ms: number) =>
      execFileSync(process.execPath, [
        ...flags,
        '--allow-natives-syntax',
        '-e',
        script,
        String(ms),
      ]).toString();
    expect(onLiftoff(GATEWAY_NODE_FLAGS, 2_000)).toBe('true');
    // Without the flag the same calls are tiered up (the test would notice a flag that does nothing).
    expect(onLiftoff([], 30_000)).toBe('false');
  }, 60_000);
});
