import { useEffect, useState } from 'preact/hooks';
import { api, Body, Me, must } from '../api';
import { explain, Form } from '../form';

type Stats = Body<'/admin/v1/cache/stats', 'get'>;
type Policy = Body<'/admin/v1/cache/policies', 'get'>[number];
type Message = { ok: boolean; text: string } | null;

const count = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');
const bytes = (n: number | undefined) => {
  const value = n ?? 0;
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
};

/**
 * The response cache: this replica's counters (hit ratio, tokens saved, what the store holds), the
 * effective policy of every endpoint (changed here, or back to gateway.yaml's by removing the override),
 * and invalidation by endpoint (the identity's own team's entries unless it holds `tenancy.all`) or of
 * everything (admins). The API decides who may change an endpoint's policy (its owners and admins).
 */
export function CacheScreen({ me }: { me: Me }) {
  const everyone = me.permissions.includes('tenancy.all');
  const [stats, setStats] = useState<Stats | null>(null);
  const [policies, setPolicies] = useState<Policy[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [tick, setTick] = useState(0);
  const [editing, setEditing] = useState<Policy | null>(null);

  useEffect(() => {
    const failed = (e: unknown) => setError(explain(e));
    api
      .GET('/admin/v1/cache/stats')
      .then((r) => setStats(must(r)))
      .catch(failed);
    api
      .GET('/admin/v1/cache/policies')
      .then((r) => setPolicies(must(r)))
      .catch(failed);
  }, [tick]);

  const invalidate = async (what: { endpoint: string } | { all: true }, label: string) => {
    if (!confirm(`Delete the cached answers of ${label}?`)) return;
    try {
      const r = must(await api.POST('/admin/v1/cache/invalidations', { body: what }));
      setMessage({ ok: true, text: `${label}: ${r.deleted ?? 0} cached answers deleted.` });
      setTick((t) => t + 1);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  const removeOverride = async (p: Policy) => {
    const endpoint = p.endpoint ?? '';
    if (!confirm(`Remove the cache policy set for ${endpoint}? gateway.yaml's applies again.`)) return;
    try {
      const r = must(
        await api.DELETE('/admin/v1/cache/policies/{endpoint}', { params: { path: { endpoint } } }),
      );
      setMessage({ ok: true, text: `${endpoint}: override removed, caching ${describe(r)}.` });
      setEditing(null);
      setTick((t) => t + 1);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  const lookups = (stats?.hits ?? 0) + (stats?.misses ?? 0);
  const ratio = lookups > 0 ? `${(((stats?.hits ?? 0) / lookups) * 100).toFixed(1)}%` : '—';

  return (
    <section>
      <h1>Response cache</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'} data-testid="cache-message">
          {message.text}
        </p>
      )}
      <h2>This replica's counters</h2>
      {stats && (
        <dl class="cards" data-testid="cache-stats">
          <div>
            <dt>Hit ratio</dt>
            <dd data-stat="ratio">{ratio}</dd>
          </div>
          <div>
            <dt>Hits</dt>
            <dd data-stat="hits">{count(stats.hits)}</dd>
          </div>
          <div>
            <dt>Misses</dt>
            <dd data-stat="misses">{count(stats.misses)}</dd>
          </div>
          <div>
            <dt>Not cacheable (bypassed)</dt>
            <dd data-stat="bypasses">{count(stats.bypasses)}</dd>
          </div>
          <div>
            <dt>Tokens saved</dt>
            <dd data-stat="tokens">{count(stats.tokens_saved)}</dd>
          </div>
          <div>
            <dt>Answers stored</dt>
            <dd data-stat="writes">{count(stats.writes)}</dd>
          </div>
          <div>
            <dt>Store ({stats.store})</dt>
            <dd data-stat="held">
              {stats.held
                ? `${count(stats.held.entries)} ${stats.held.entries === 1 ? 'entry' : 'entries'}, ${bytes(stats.held.bytes)}`
                : 'shared (Redis)'}
            </dd>
          </div>
          <div>
            <dt>Store errors</dt>
            <dd data-stat="errors">{count(stats.store_errors)}</dd>
          </div>
        </dl>
      )}
      <h2>Policies</h2>
      <div class="table-wrap">
        <table data-testid="cache-policies">
          <caption class="sr-only">The effective cache policy of every endpoint</caption>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Caching</th>
              <th scope="col">Shared by</th>
              <th scope="col">Requests cached</th>
              <th scope="col">Set by</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(policies ?? []).map((p) => (
              <tr key={p.endpoint} data-endpoint={p.endpoint}>
                <th scope="row">{p.endpoint}</th>
                <td>{p.policy?.enabled ? `on, ${p.policy.ttl_seconds} s` : 'off'}</td>
                <td>{p.policy?.enabled ? p.policy.scope : '—'}</td>
                <td>{p.policy?.enabled ? p.policy.requests : '—'}</td>
                <td>
                  {p.source === 'override' ? 'admin API' : p.source === 'yaml' ? 'gateway.yaml' : 'default'}
                </td>
                <td class="actions">
                  <button type="button" class="secondary" onClick={() => setEditing(p)}>
                    Edit {p.endpoint}
                  </button>
                  {p.source === 'override' && (
                    <button type="button" class="danger" onClick={() => void removeOverride(p)}>
                      Remove override of {p.endpoint}
                    </button>
                  )}
                  {p.policy?.enabled && (
                    <button
                      type="button"
                      class="secondary"
                      onClick={() =>
                        void invalidate({ endpoint: p.endpoint ?? '' }, `endpoint ${p.endpoint}`)
                      }
                    >
                      Clear {p.endpoint}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editing && (
        <PolicyForm
          key={editing.endpoint}
          policy={editing}
          everyone={everyone}
          onCancel={() => setEditing(null)}
          onDone={(text) => {
            setMessage({ ok: true, text });
            setEditing(null);
            setTick((t) => t + 1);
          }}
        />
      )}
      {everyone && (
        <p>
          <button
            type="button"
            class="danger"
            onClick={() => void invalidate({ all: true }, 'every endpoint')}
          >
            Clear the whole cache
          </button>
        </p>
      )}
    </section>
  );
}

const describe = (p: Policy) =>
  p.policy?.enabled ? `on, ${p.policy.ttl_seconds} s, ${p.policy.scope}, ${p.policy.requests}` : 'off';

/** An endpoint's cache policy set through the admin API (it overrides gateway.yaml's until removed). */
function PolicyForm(props: {
  policy: Policy;
  everyone: boolean;
  onDone: (text: string) => void;
  onCancel: () => void;
}) {
  const endpoint = props.policy.endpoint ?? '';
  const current = props.policy.policy;
  // A cache shared by every team is an admin's choice: others are offered it only to keep it.
  const scopes = ['team', 'key', ...(props.everyone || current?.scope === 'global' ? ['global'] : [])];
  return (
    <Form
      testid="cache-policy-form"
      title={`Cache policy of ${endpoint}`}
      initial={{
        enabled: String(current?.enabled ?? false),
        ttl: String(current?.ttl_seconds ?? 300),
        scope: current?.scope ?? 'team',
        requests: current?.requests ?? 'deterministic',
      }}
      fields={(form) => [
        { name: 'enabled', label: 'Cache answers', kind: 'checkbox' },
        form.enabled === 'true' && {
          name: 'ttl',
          label: 'Keep answers for (seconds)',
          kind: 'number',
          min: 1,
          step: 1,
          required: true,
        },
        form.enabled === 'true' && { name: 'scope', label: 'Shared by', kind: 'select', options: scopes },
        form.enabled === 'true' && {
          name: 'requests',
          label: 'Requests cached',
          kind: 'select',
          options: [
            { value: 'deterministic', label: 'deterministic (temperature 0)' },
            { value: 'all', label: 'all' },
          ],
        },
      ]}
      submit="Save policy"
      onCancel={props.onCancel}
      onSubmit={async (form) => {
        const enabled = form.enabled === 'true';
        const saved = must(
          await api.PUT('/admin/v1/cache/policies/{endpoint}', {
            params: { path: { endpoint } },
            body: enabled
              ? {
                  enabled,
                  ttl_seconds: Number(form.ttl),
                  scope: form.scope,
                  requests: form.requests,
                }
              : { enabled },
          }),
        );
        props.onDone(`${endpoint}: caching ${describe(saved)}.`);
      }}
    />
  );
}
