import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdapterCapabilities } from 'src/modules/providers/provider-adapter';
import { ProviderRegistry } from 'src/modules/providers/provider.registry';

/*
 * The README's "Providers" table against the registered adapters: every provider the registry knows has
 * exactly one row, every row names registered providers, and the capability columns say what each
 * adapter declares (✓ where it serves the operation, ✗ where it answers 501).
 */

const COLUMNS: readonly (keyof AdapterCapabilities)[] = [
  'chat',
  'completions',
  'embeddings',
  'chatStream',
  'completionsStream',
];

interface Row {
  providers: string[];
  cells: string[];
}

function providersTable(): Row[] {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Providers\n'));
  if (!section) throw new Error('README has no "## Providers" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      const providers = [...cells[0].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      return { providers, cells: cells.slice(1) };
    });
}

/** As the route table normalises `model.provider`. */
const normalise = (provider: string): string => provider.toLowerCase().replace(/_/g, '-');

describe('README providers table', () => {
  const registry = new ProviderRegistry();
  const rows = providersTable();

  it('lists every registered provider exactly once, and nothing else', () => {
    const listed = rows.flatMap((r) => r.providers.map(normalise));
    expect([...listed].sort()).toEqual([...registry.knownProviders()].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  it("states each adapter's capabilities", () => {
    const wrong: string[] = [];
    for (const row of rows) {
      for (const provider of row.providers) {
        const adapter = registry.get(normalise(provider));
        if (!adapter) continue; // reported by the test above
        COLUMNS.forEach((capability, i) => {
          const says = row.cells[i]?.startsWith('✓');
          if (says !== adapter.capabilities[capability]) {
            wrong.push(
              `${provider} ${capability}: README '${row.cells[i]}', adapter ${adapter.capabilities[capability]}`,
            );
          }
        });
      }
    }
    expect(wrong).toEqual([]);
  });
});
