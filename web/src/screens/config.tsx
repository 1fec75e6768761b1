import { diffLines } from 'diff';
import { useEffect, useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import { api, ApiError, Body, must } from '../api';

type Kind = 'endpoint' | 'route';
type Entry = Body<'/admin/v1/endpoints/{name}', 'get'>;
type History = Body<'/admin/v1/endpoints/{name}/revisions', 'get'>;
type Change = Body<'/admin/v1/endpoints/{name}', 'put'>;
type Format = 'yaml' | 'json';
type Definition = Record<string, unknown>;

const NEW: Record<Kind, Definition> = {
  endpoint: {
    name: 'my-endpoint',
    endpoint_type: 'llm/v1/chat',
    model: { provider: 'openai', name: 'gpt-4o-mini', config: { openai_api_key: '$secret:openai' } },
  },
  route: {
    name: 'my-route',
    task_type: 'llm/v1/chat',
    destinations: [{ name: 'my-endpoint', traffic_percentage: 100 }],
    routing_strategy: 'TRAFFIC_SPLIT',
  },
};

function serialize(value: unknown, format: Format): string {
  if (value === null || value === undefined) return '';
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** YAML or JSON (JSON is YAML): one mapping, the shape of a gateway.yaml entry. */
function read(text: string): Definition {
  const value: unknown = parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('The definition must be one mapping (an endpoint or a route entry).');
  return value as Definition;
}

// One typed call per kind and verb: the paths differ, the shapes are the same.
const calls = {
  list: (kind: Kind) => (kind === 'endpoint' ? api.GET('/admin/v1/endpoints') : api.GET('/admin/v1/routes')),
  get: (kind: Kind, name: string) =>
    kind === 'endpoint'
      ? api.GET('/admin/v1/endpoints/{name}', { params: { path: { name } } })
      : api.GET('/admin/v1/routes/{name}', { params: { path: { name } } }),
  history: (kind: Kind, name: string) =>
    kind === 'endpoint'
      ? api.GET('/admin/v1/endpoints/{name}/revisions', { params: { path: { name } } })
      : api.GET('/admin/v1/routes/{name}/revisions', { params: { path: { name } } }),
  put: (kind: Kind, name: string, body: Definition, dryRun: boolean) => {
    const params = { path: { name }, query: { dry_run: dryRun } };
    return kind === 'endpoint'
      ? api.PUT('/admin/v1/endpoints/{name}', { params, body })
      : api.PUT('/admin/v1/routes/{name}', { params, body });
  },
  rollback: (kind: Kind, name: string, revision: number, dryRun: boolean) => {
    const params = { path: { name }, query: { dry_run: dryRun } };
    return kind === 'endpoint'
      ? api.POST('/admin/v1/endpoints/{name}/rollback', { params, body: { revision } })
      : api.POST('/admin/v1/routes/{name}/rollback', { params, body: { revision } });
  },
};

function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const parts = diffLines(before, after);
  const changed = parts.some((p) => p.added || p.removed);
  return (
    <figure class="diff-figure">
      <figcaption>{label}</figcaption>
      {changed ? (
        <pre class="diff" data-testid="config-diff">
          {parts.map((part, i) => {
            const sign = part.added ? '+' : part.removed ? '-' : ' ';
            const lines = part.value.replace(/\n$/, '').split('\n');
            return (
              <span key={i} class={part.added ? 'diff-add' : part.removed ? 'diff-del' : undefined}>
                {lines.map((line) => `${sign} ${line}\n`).join('')}
              </span>
            );
          })}
        </pre>
      ) : (
        <p data-testid="config-diff">No difference from the running revision.</p>
      )}
    </figure>
  );
}

/**
 * Routes and endpoints as text (YAML or JSON), the admin API's own shape: diff against the running
 * revision, dry-run (the server validates the whole config with the change), apply, roll back. Entries
 * declared in gateway.yaml are shown read-only, as the API treats them.
 */
export function ConfigScreen({ canWrite }: { canWrite: boolean }) {
  const [kind, setKind] = useState<Kind>('endpoint');
  const [names, setNames] = useState<{ name: string; source: string }[]>([]);
  const [selected, setSelected] = useState<string>('');
  const [running, setRunning] = useState<Entry | null>(null);
  const [history, setHistory] = useState<History | null>(null);
  const [format, setFormat] = useState<Format>('yaml');
  const [text, setText] = useState('');
  const [diff, setDiff] = useState<{ before: string; after: string; label: string } | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [tick, setTick] = useState(0);

  const fail = (e: unknown) =>
    setMessage({
      ok: false,
      text:
        e instanceof ApiError && e.status === 403
          ? `Not allowed: ${e.message}`
          : e instanceof Error
            ? e.message
            : String(e),
    });

  useEffect(() => {
    calls
      .list(kind)
      .then((r) => setNames(must(r).map((e) => ({ name: e.name ?? '', source: e.source ?? 'api' }))))
      .catch(fail);
  }, [kind, tick]);

  useEffect(() => {
    setDiff(null);
    if (!selected) {
      setRunning(null);
      setHistory(null);
      setText(serialize(NEW[kind], format));
      return;
    }
    calls
      .get(kind, selected)
      .then((r) => {
        const entry = must(r);
        setRunning(entry);
        setText(serialize(entry.entry, format));
      })
      .catch(fail);
    calls
      .history(kind, selected)
      .then((r) => setHistory(must(r)))
      .catch(() => setHistory(null));
  }, [kind, selected, tick]);

  const switchFormat = (next: Format) => {
    try {
      setText(serialize(read(text), next));
    } catch {
      // Unparseable text stays as it is; only the next load uses the new format.
    }
    setFormat(next);
  };

  const readOnly = !canWrite || running?.source === 'file';
  const runningText = serialize(running?.entry, format);

  const showDiff = () => {
    try {
      setDiff({
        before: runningText,
        after: serialize(read(text), format),
        label: 'Your edit against the running revision',
      });
      setMessage(null);
    } catch (e) {
      fail(e);
    }
  };

  const submit = async (dryRun: boolean) => {
    setMessage(null);
    try {
      const body = read(text);
      const name = selected || (typeof body.name === 'string' ? body.name : '');
      if (!name) throw new Error('The definition needs a name.');
      const change: Change = must(await calls.put(kind, name, body, dryRun));
      setDiff({
        before: serialize(change.before, format),
        after: serialize(change.after, format),
        label: dryRun
          ? 'What applying would change (server dry run)'
          : `Applied: revision ${change.revision}`,
      });
      setMessage({
        ok: true,
        text: dryRun
          ? `Dry run passed: ${change.action} of ${kind} ${name} would be valid.`
          : `Applied: ${kind} ${name} is now at revision ${change.revision}.`,
      });
      if (!dryRun) {
        setSelected(name);
        setTick((t) => t + 1);
      }
    } catch (e) {
      fail(e);
    }
  };

  const rollback = async (revision: number) => {
    setMessage(null);
    try {
      const change: Change = must(await calls.rollback(kind, selected, revision, false));
      setMessage({
        ok: true,
        text: `Rolled back ${kind} ${selected} to revision ${revision} (now revision ${change.revision}).`,
      });
      setDiff({
        before: serialize(change.before, format),
        after: serialize(change.after, format),
        label: 'Rollback',
      });
      setTick((t) => t + 1);
    } catch (e) {
      fail(e);
    }
  };

  return (
    <section>
      <h1>Routing config</h1>
      <div class="toolbar">
        <label>
          Kind
          <select
            name="kind"
            value={kind}
            onChange={(e) => {
              setKind(e.currentTarget.value as Kind);
              setSelected('');
            }}
          >
            <option value="endpoint">Endpoints</option>
            <option value="route">Traffic routes</option>
          </select>
        </label>
        <label>
          Entry
          <select name="entry" value={selected} onChange={(e) => setSelected(e.currentTarget.value)}>
            {canWrite && <option value="">New {kind}…</option>}
            {!canWrite && <option value="">Choose…</option>}
            {names.map((n) => (
              <option key={n.name} value={n.name}>
                {n.name}
                {n.source === 'file' ? ' (gateway.yaml)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Format
          <select
            name="format"
            value={format}
            onChange={(e) => switchFormat(e.currentTarget.value as Format)}
          >
            <option value="yaml">YAML</option>
            <option value="json">JSON</option>
          </select>
        </label>
      </div>
      <p data-testid="config-source">
        {running
          ? running.source === 'file'
            ? 'Declared in gateway.yaml: read-only here (edit the file to change it).'
            : `Running revision ${running.revision ?? '—'}, last changed by ${running.updated_by ?? 'unknown'}.`
          : canWrite
            ? `A new ${kind}: edit the template, dry-run, then apply.`
            : `Choose an ${kind === 'endpoint' ? 'endpoint' : 'route'} to read its definition.`}
      </p>
      <label>
        Definition ({format === 'yaml' ? 'YAML' : 'JSON'})
        <textarea
          name="definition"
          class="code"
          rows={16}
          spellcheck={false}
          readOnly={readOnly}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </label>
      <div class="toolbar actions-row">
        <button type="button" class="secondary" onClick={showDiff}>
          Show diff
        </button>
        {!readOnly && (
          <>
            <button type="button" class="secondary" onClick={() => void submit(true)}>
              Dry run
            </button>
            <button type="button" onClick={() => void submit(false)}>
              Apply
            </button>
          </>
        )}
      </div>
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'} data-testid="config-message">
          {message.text}
        </p>
      )}
      {diff && <DiffView {...diff} />}
      {history?.revisions && history.revisions.length > 0 && (
        <div class="table-wrap">
          <table data-testid="config-revisions">
            <caption>Revisions of {history.name}</caption>
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">Action</th>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                {canWrite && history.source === 'api' && <th scope="col">Restore</th>}
              </tr>
            </thead>
            <tbody>
              {history.revisions.map((r) => (
                <tr key={r.revision}>
                  <th scope="row">{r.revision}</th>
                  <td>{r.action}</td>
                  <td>{r.at ? new Date(r.at).toLocaleString() : '—'}</td>
                  <td>{r.actor?.name ?? r.actor?.id ?? '—'}</td>
                  {canWrite && history.source === 'api' && (
                    <td class="actions">
                      {r.revision !== undefined && r.revision !== history.current_revision && r.after && (
                        <button type="button" class="secondary" onClick={() => void rollback(r.revision!)}>
                          Roll back to revision {r.revision}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
