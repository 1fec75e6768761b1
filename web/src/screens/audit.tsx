import { useEffect, useState } from 'preact/hooks';
import { api, Body, Me, must } from '../api';
import { explain } from '../form';

type Page = Body<'/admin/v1/audit', 'get'>;
type Entry = Page['entries'][number];
type Principal = Body<'/admin/v1/principals', 'get'>[number];

const RANGES = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { value: 'all', label: 'Any time', ms: 0 },
] as const;

interface Filters {
  actorId: string;
  action: string;
  outcome: '' | 'success' | 'denied';
  range: (typeof RANGES)[number]['value'];
}

/**
 * The audit log, newest first, filtered by actor, action, outcome and time range, 50 entries a page. The
 * API scopes it: without `tenancy.all`, the signed-in identity's own team (or own entries) only.
 */
export function AuditScreen({ me }: { me: Me }) {
  const [filters, setFilters] = useState<Filters>({ actorId: '', action: '', outcome: '', range: '24h' });
  const [applied, setApplied] = useState<Filters>(filters);
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [principals, setPrincipals] = useState<Principal[]>([]);

  useEffect(() => {
    if (!me.permissions.includes('principals.read')) return;
    api
      .GET('/admin/v1/principals')
      .then((r) => setPrincipals(must(r)))
      .catch(() => setPrincipals([]));
  }, []);

  const load = async (f: Filters, before?: string) => {
    setError(null);
    const range = RANGES.find((r) => r.value === f.range)!;
    try {
      const page = must(
        await api.GET('/admin/v1/audit', {
          params: {
            query: {
              limit: 50,
              ...(f.actorId ? { actorId: f.actorId } : {}),
              ...(f.action.trim() ? { action: f.action.trim() } : {}),
              ...(f.outcome ? { outcome: f.outcome } : {}),
              ...(range.ms ? { since: new Date(Date.now() - range.ms).toISOString() } : {}),
              ...(before ? { before } : {}),
            },
          },
        }),
      );
      setEntries((current) => (before ? [...(current ?? []), ...page.entries] : page.entries));
      setNext(page.next);
    } catch (e) {
      setError(explain(e));
    }
  };

  useEffect(() => {
    void load(applied);
  }, [applied]);

  const set = (k: keyof Filters) => (e: Event) =>
    setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <section>
      <h1>Audit log</h1>
      <form
        class="toolbar"
        data-testid="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ ...filters });
        }}
      >
        <label>
          Actor
          {principals.length > 0 ? (
            <select name="actor" value={filters.actorId} onChange={set('actorId')}>
              <option value="">Anyone</option>
              {principals.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          ) : (
            <input name="actor" placeholder="principal id" value={filters.actorId} onInput={set('actorId')} />
          )}
        </label>
        <label>
          Action
          <input
            name="action"
            placeholder="e.g. routing.endpoint.update"
            value={filters.action}
            onInput={set('action')}
          />
        </label>
        <label>
          Outcome
          <select name="outcome" value={filters.outcome} onChange={set('outcome')}>
            <option value="">Any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <label>
          Time range
          <select name="range" value={filters.range} onChange={set('range')}>
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Apply filters</button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="audit-table">
          <caption class="sr-only">Audit entries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {(entries ?? []).map((e) => (
              <tr key={e.id} data-action={e.action}>
                <td>{new Date(e.at).toLocaleString()}</td>
                <td>{e.actorName ?? e.actorId ?? 'system'}</td>
                <th scope="row">{e.action}</th>
                <td>
                  {e.targetType}
                  {e.targetId ? ` ${e.targetId}` : ''}
                </td>
                <td class={e.outcome === 'denied' ? 'error' : undefined}>{e.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {entries && (
        <p role="status" data-testid="audit-count">
          {entries.length} {entries.length === 1 ? 'entry' : 'entries'}
          {next ? ' (more available)' : ''}
        </p>
      )}
      {next && (
        <button type="button" class="secondary" onClick={() => void load(applied, next)}>
          Load older entries
        </button>
      )}
    </section>
  );
}
