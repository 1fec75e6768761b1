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
});
