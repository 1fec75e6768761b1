import { useEffect, useState } from 'preact/hooks';
import { api, Body, must } from '../api';
import { explain } from './access';

type Summary = Body<'/admin/v1/prompts', 'get'>[number];
type Template = Body<'/admin/v1/prompts/{name}', 'get'>;
type Version = Body<'/admin/v1/prompts/{name}/versions/{version}', 'get'>;
type Diff = Body<'/admin/v1/prompts/{name}/diff', 'get'>;
type Message = { ok: boolean; text: string } | null;

const labelList = (labels: Record<string, number>) =>
  Object.entries(labels)
    .map(([label, version]) => `${label} → v${version}`)
    .join(', ') || '—';

/**
 * Prompt templates: each with its latest version and labels; one opened shows its versions, a
 * version's messages and variables, and the diff between any two versions. With `prompts.write`, a
 * label (production, staging, …) is pointed at another version, which is how a prompt is promoted or
 * rolled back. New versions are written through the API (`POST /admin/v1/prompts/{name}/versions`).
 */
export function PromptsScreen({ canWrite, selected }: { canWrite: boolean; selected: string | undefined }) {
  const [templates, setTemplates] = useState<Summary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/prompts')
      .then((r) => setTemplates(must(r)))
      .catch((e: unknown) => setError(explain(e)));
  }, [selected, tick]);

  return (
    <section>
      <h1>Prompt templates</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="prompts-table">
          <caption class="sr-only">Prompt templates</caption>
          <thead>
            <tr>
              <th scope="col">Template</th>
              <th scope="col">Description</th>
              <th scope="col">Latest version</th>
              <th scope="col">Labels</th>
            </tr>
          </thead>
          <tbody>
            {(templates ?? []).map((t) => (
              <tr key={t.name} data-template={t.name}>
                <th scope="row">
                  <a href={`#/prompts/${encodeURIComponent(t.name)}`}>{t.name}</a>
                </th>
                <td>{t.description || '—'}</td>
                <td>v{t.latest_version}</td>
                <td>{labelList(t.labels)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {templates && templates.length === 0 && <p>No prompt templates yet.</p>}
      {selected && (
        <TemplateDetail
          key={selected}
          name={selected}
          canWrite={canWrite}
          onChanged={() => setTick((t) => t + 1)}
        />
      )}
    </section>
  );
}

function TemplateDetail(props: { name: string; canWrite: boolean; onChanged: () => void }) {
  const { name, canWrite } = props;
  const [template, setTemplate] = useState<Template | null>(null);
  const [version, setVersion] = useState<Version | null>(null);
  const [diff, setDiff] = useState<Diff | null>(null);
  const [range, setRange] = useState({ from: '', to: '' });
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [tick, setTick] = useState(0);
  const path = { params: { path: { name } } };

  useEffect(() => {
    api
      .GET('/admin/v1/prompts/{name}', path)
      .then((r) => {
        const t = must(r);
        setTemplate(t);
        const latest = t.latest_version;
        setRange((current) =>
          current.to ? current : { from: String(Math.max(1, latest - 1)), to: String(latest) },
        );
        void show(version?.version ?? latest);
      })
      .catch((e: unknown) => setError(explain(e)));
  }, [tick]);

  const show = async (n: number) => {
    try {
      setVersion(
        must(
          await api.GET('/admin/v1/prompts/{name}/versions/{version}', {
            params: { path: { name, version: String(n) } },
          }),
        ),
      );
    } catch (e) {
      setError(explain(e));
    }
  };

  const compare = async (event: Event) => {
    event.preventDefault();
    try {
      setDiff(
        must(await api.GET('/admin/v1/prompts/{name}/diff', { params: { path: { name }, query: range } })),
      );
      setError(null);
    } catch (e) {
      setError(explain(e));
    }
  };

  if (!template) return error ? <p class="error">{error}</p> : <p class="loading">Loading…</p>;
  const versions = [...template.versions].reverse();
  return (
    <div data-testid="prompt-detail">
      <h2>{template.name}</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'} data-testid="prompt-message">
          {message.text}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="versions-table">
          <caption class="sr-only">Versions of {template.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Commit message</th>
              <th scope="col">Created</th>
              <th scope="col">Labels</th>
              <th scope="col">Show</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <th scope="row">v{v.version}</th>
                <td>{v.commit_message || '—'}</td>
                <td>{new Date(v.created_at).toLocaleString()}</td>
                <td>{v.labels.join(', ') || '—'}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => void show(v.version)}>
                    Show v{v.version}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      {version && (
        <div class="panel" data-testid="version-view">
          <h3>
            Version {version.version}
            {version.labels.length ? ` (${version.labels.join(', ')})` : ''}
          </h3>
          {version.messages.map((m, i) => (
            <div key={i}>
              <p>
                <strong>{m.role}</strong>
              </p>
              <pre data-testid="message-content">{m.content}</pre>
            </div>
          ))}
          <p data-testid="variables">
            Variables:{' '}
            {version.variables
              .map((v) => `${v.name} (${v.type}${v.required ? ', required' : ''})`)
              .join(', ') || 'none'}
          </p>
          {Object.keys(version.params).length > 0 && <p>Parameters: {JSON.stringify(version.params)}</p>}
        </div>
      )}

      <form class="toolbar" onSubmit={(e) => void compare(e)} data-testid="diff-form">
        <label>
          From version
          <select
            name="from"
            value={range.from}
            onChange={(e) => setRange({ ...range, from: e.currentTarget.value })}
          >
            {template.versions.map((v) => (
              <option key={v.version} value={String(v.version)}>
                v{v.version}
              </option>
            ))}
          </select>
        </label>
        <label>
          To version
          <select
            name="to"
            value={range.to}
            onChange={(e) => setRange({ ...range, to: e.currentTarget.value })}
          >
            {template.versions.map((v) => (
              <option key={v.version} value={String(v.version)}>
                v{v.version}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Compare</button>
      </form>
      {diff && (
        <figure class="diff-figure">
          <figcaption>
            v{diff.from} → v{diff.to}:{' '}
            {diff.identical
              ? 'identical'
              : [
                  diff.messages_changed ? 'messages changed' : '',
                  diff.params_changed ? 'parameters changed' : '',
                  diff.variables.added.length ? `variables added: ${diff.variables.added.join(', ')}` : '',
                  diff.variables.removed.length
                    ? `variables removed: ${diff.variables.removed.join(', ')}`
                    : '',
                  diff.variables.changed.length
                    ? `variables changed: ${diff.variables.changed.join(', ')}`
                    : '',
                ]
                  .filter(Boolean)
                  .join('; ')}
          </figcaption>
          <pre class="diff" data-testid="prompt-diff">
            {diff.patch.split('\n').map((line, i) => (
              <span
                key={i}
                class={
                  line.startsWith('+') && !line.startsWith('+++')
                    ? 'diff-add'
                    : line.startsWith('-') && !line.startsWith('---')
                      ? 'diff-del'
                      : undefined
                }
              >
                {line}
                {'\n'}
              </span>
            ))}
          </pre>
        </figure>
      )}

      {canWrite && (
        <MoveLabel
          name={name}
          versions={template.versions.map((v) => v.version)}
          onDone={(text) => {
            setMessage({ ok: true, text });
            setTick((t) => t + 1);
            props.onChanged();
          }}
          onError={(text) => setMessage({ ok: false, text })}
        />
      )}
    </div>
  );
}

function MoveLabel(props: {
  name: string;
  versions: number[];
  onDone: (text: string) => void;
  onError: (text: string) => void;
}) {
  const [label, setLabel] = useState('production');
  const [version, setVersion] = useState(String(props.versions[props.versions.length - 1] ?? 1));
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const r = await api.PUT('/admin/v1/prompts/{name}/labels/{label}', {
        params: { path: { name: props.name, label } },
        body: { version: Number(version) },
      });
      must(r);
      props.onDone(`Label ${label} now points at v${version}.`);
    } catch (e) {
      props.onError(explain(e));
    }
  };
  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="move-label">
      <h3>Point a label at a version</h3>
      <div class="grid">
        <label>
          Label
          <input name="label" required value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </label>
        <label>
          Version
          <select name="labelVersion" value={version} onChange={(e) => setVersion(e.currentTarget.value)}>
            {props.versions.map((v) => (
              <option key={v} value={String(v)}>
                v{v}
              </option>
            ))}
          </select>
        </label>
      </div>
      <button type="submit">Move label</button>
    </form>
  );
}
