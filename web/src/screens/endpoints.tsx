import { useEffect, useState } from 'preact/hooks';
import { api, EndpointEntry, must } from '../api';

const TYPES = ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'] as const;
const PROVIDERS = ['openai', 'anthropic', 'mistral', 'cohere', 'gemini'] as const;

function describe(entry: EndpointEntry['entry']): { type: string; provider: string; model: string } {
  const e = entry as { endpoint_type?: string; model?: { provider?: string; name?: string } };
  return { type: e.endpoint_type ?? '', provider: e.model?.provider ?? '', model: e.model?.name ?? '' };
}

export function EndpointsScreen({ canWrite }: { canWrite: boolean }) {
  const [entries, setEntries] = useState<EndpointEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/endpoints')
      .then((r) => setEntries(must(r)))
      .catch((e: unknown) => setError(String(e)));
  }, [tick]);

  return (
    <section>
      <h1>Endpoints</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="endpoints-table">
          <caption class="sr-only">Endpoints of the gateway</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Provider</th>
              <th scope="col">Model</th>
              <th scope="col">Managed in</th>
              <th scope="col">Revision</th>
            </tr>
          </thead>
          <tbody>
            {(entries ?? []).map((e) => {
              const d = describe(e.entry);
              return (
                <tr key={e.name}>
                  <th scope="row">{e.name}</th>
                  <td>{d.type}</td>
                  <td>{d.provider}</td>
                  <td>{d.model}</td>
                  <td>{e.source === 'file' ? 'gateway.yaml' : 'admin API'}</td>
                  <td>{e.revision ?? '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {entries && entries.length === 0 && <p>No endpoints yet.</p>}
      {canWrite && <CreateEndpoint onCreated={() => setTick(tick + 1)} />}
    </section>
  );
}

function CreateEndpoint({ onCreated }: { onCreated: () => void }) {
  const [form, setForm] = useState({
    name: '',
    type: TYPES[0],
    provider: PROVIDERS[0],
    model: '',
    apiBase: '',
    secret: '',
  });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    const config: Record<string, string> = { [`${form.provider}_api_key`]: `$secret:${form.secret}` };
    if (form.apiBase) config[`${form.provider}_api_base`] = form.apiBase;
    try {
      const change = must(
        await api.POST('/admin/v1/endpoints', {
          params: { query: {} },
          body: {
            name: form.name,
            endpoint_type: form.type,
            model: { provider: form.provider, name: form.model, config },
          },
        }),
      );
      setMessage({ ok: true, text: `Endpoint ${change.name} created (revision ${change.revision}).` });
      onCreated();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };

  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="create-endpoint">
      <h2>New endpoint</h2>
      <div class="grid">
        <label>
          Name
          <input
            name="name"
            required
            pattern="[A-Za-z0-9][A-Za-z0-9_.-]*"
            value={form.name}
            onInput={set('name')}
          />
        </label>
        <label>
          Type
          <select name="type" value={form.type} onChange={set('type')}>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Provider
          <select name="provider" value={form.provider} onChange={set('provider')}>
            {PROVIDERS.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          Model
          <input name="model" required value={form.model} onInput={set('model')} />
        </label>
        <label>
          API base URL (optional)
          <input name="apiBase" type="url" value={form.apiBase} onInput={set('apiBase')} />
        </label>
        <label>
          Provider key (stored secret name)
          <input name="secret" required value={form.secret} onInput={set('secret')} />
        </label>
      </div>
      <button type="submit">Create endpoint</button>
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
    </form>
  );
}
