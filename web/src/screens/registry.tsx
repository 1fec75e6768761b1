import { useEffect, useState } from 'preact/hooks';
import { api, Body, must } from '../api';
import { explain } from '../form';

type Models = Body<'/admin/v1/registry/models', 'get'>;
type Versions = Body<'/admin/v1/registry/models/{name}/versions', 'get'>;
type Message = { ok: boolean; text: string } | null;

const aliasList = (aliases: Record<string, string>) =>
  Object.entries(aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, version]) => `${alias} → v${version}`)
    .join(', ') || '—';

/**
 * The MLflow Model Registry as the gateway last synced it: models with their aliases and the
 * endpoints serving them; one opened shows its versions (status, stage, aliases, the endpoints routing
 * to each). With `registry.sync`, _Sync now_ reads MLflow at once instead of at the next interval.
 */
export function RegistryScreen({ canSync, selected }: { canSync: boolean; selected: string | undefined }) {
  const [models, setModels] = useState<Models | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/registry/models')
      .then((r) => setModels(must(r)))
      .catch((e: unknown) => setError(explain(e)));
  }, [tick]);

  const sync = async () => {
    try {
      const r = must(await api.POST('/admin/v1/registry/sync'));
      setMessage({
        ok: r.status !== 'failed',
        text: `Sync ${r.status}: ${r.models} models, ${r.versions} versions${r.reason ? ` (${r.reason})` : ''}.`,
      });
      setTick((t) => t + 1);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <section>
      <h1>Model registry</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {models && (
        <p data-testid="registry-state">
          Registry {models.state}
          {models.syncedAt
            ? `, last synced ${new Date(models.syncedAt).toLocaleString()}`
            : ', not synced yet'}
          .
        </p>
      )}
      {canSync && (
        <p>
          <button type="button" onClick={() => void sync()}>
            Sync now
          </button>
        </p>
      )}
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'} data-testid="registry-message">
          {message.text}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="models-table">
          <caption class="sr-only">Registered models</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Description</th>
              <th scope="col">Aliases</th>
              <th scope="col">Latest version</th>
              <th scope="col">Versions</th>
              <th scope="col">Served by</th>
            </tr>
          </thead>
          <tbody>
            {(models?.models ?? []).map((m) => (
              <tr key={m.name} data-model={m.name}>
                <th scope="row">
                  <a href={`#/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
                </th>
                <td>{m.description || '—'}</td>
                <td>{aliasList(m.aliases)}</td>
                <td>{m.latestVersion ? `v${m.latestVersion}` : '—'}</td>
                <td>{m.versionCount}</td>
                <td>{m.endpoints.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {models && models.models.length === 0 && <p>No registered models (is MLFLOW_TRACKING_URI set?).</p>}
      {selected && <ModelVersions key={`${selected}-${tick}`} name={selected} />}
    </section>
  );
}

function ModelVersions({ name }: { name: string }) {
  const [versions, setVersions] = useState<Versions | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .GET('/admin/v1/registry/models/{name}/versions', { params: { path: { name } } })
      .then((r) => setVersions(must(r)))
      .catch((e: unknown) => setError(explain(e)));
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!versions) return <p class="loading">Loading…</p>;
  return (
    <>
      <h2>{versions.name}</h2>
      <div class="table-wrap">
        <table data-testid="model-versions">
          <caption class="sr-only">Versions of {versions.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Status</th>
              <th scope="col">Stage</th>
              <th scope="col">Aliases</th>
              <th scope="col">Routed by</th>
              <th scope="col">Run</th>
            </tr>
          </thead>
          <tbody>
            {[...versions.versions].reverse().map((v) => (
              <tr key={v.version} data-version={v.version}>
                <th scope="row">v{v.version}</th>
                <td>{v.status}</td>
                <td>{v.stage}</td>
                <td>{v.aliases.join(', ') || '—'}</td>
                <td>{v.endpoints.join(', ') || '—'}</td>
                <td>{v.runId ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
