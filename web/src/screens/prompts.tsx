import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Body, must, paths } from '../api';
import { explain, Form, Message } from '../form';

type Summary = Body<'/admin/v1/prompts', 'get'>[number];
type Template = Body<'/admin/v1/prompts/{name}', 'get'>;
type Version = Body<'/admin/v1/prompts/{name}/versions/{version}', 'get'>;
type Diff = Body<'/admin/v1/prompts/{name}/diff', 'get'>;
type Rendered = Body<'/admin/v1/prompts/{name}/render', 'post'>;
type TemplateBody = NonNullable<
  paths['/admin/v1/prompts']['post']['requestBody']
>['content']['application/json'];
type VariableSpec = NonNullable<TemplateBody['variables']>[number];

const labelList = (labels: Record<string, number>) =>
  Object.entries(labels)
    .map(([label, version]) => `${label} → v${version}`)
    .join(', ') || '—';

/**
 * Prompt templates: each with its latest version and labels; one opened shows its versions, a
 * version's messages and variables, and the diff between any two versions. With `prompts.write`, a
 * label (production, staging, …) is pointed at another version, which is how a prompt is promoted or
 * rolled back, a new template is created and a new version written (from the shown one); anyone who
 * reads templates may preview a version rendered with variables (no model is called).
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
      {canWrite && <CreateTemplate />}
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
  // The version on show, kept across reloads of the template (the effect below sees its first render).
  const shown = useRef<number | null>(null);
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
        void show(shown.current ?? latest);
      })
      .catch((e: unknown) => setError(explain(e)));
  }, [tick]);

  const show = async (n: number) => {
    shown.current = n;
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
      {canWrite && version && (
        <NewVersion
          key={version.version}
          name={name}
          base={version}
          onDone={(written) => {
            setMessage({ ok: true, text: `Version ${written} of ${name} written.` });
            void show(written);
            setTick((t) => t + 1);
            props.onChanged();
          }}
        />
      )}
      <Preview
        key={template.latest_version}
        name={name}
        versions={template.versions.map((v) => v.version)}
        variables={version?.variables.map((v) => v.name) ?? []}
      />
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

const words = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** Messages from the form's system and user text (an empty system message is left out). */
function messagesOf(form: Record<string, string>): TemplateBody['messages'] {
  return [
    ...(form.system.trim() ? [{ role: 'system' as const, content: form.system }] : []),
    { role: 'user' as const, content: form.user },
  ];
}

/** Declared variables by name: a name the base version declared keeps its spec; a new one is a required string. */
function variablesOf(names: string, base: readonly VariableSpec[] = []): VariableSpec[] {
  return words(names).map(
    (n) => base.find((v) => v.name === n) ?? { name: n, type: 'string', required: true },
  );
}

const MESSAGE_FIELDS = [
  { name: 'system', label: 'System message (optional)', kind: 'textarea', rows: 3, wide: true },
  {
    name: 'user',
    label: 'User message ({{variable}} placeholders)',
    kind: 'textarea',
    rows: 3,
    wide: true,
    required: true,
  },
  { name: 'variables', label: 'Variables (names, comma-separated)' },
  { name: 'commit', label: 'Commit message' },
  { name: 'labels', label: 'Labels (e.g. staging; optional)' },
] as const;

function CreateTemplate() {
  return (
    <Form
      testid="create-template"
      title="New template"
      initial={{ name: '', description: '', system: '', user: '', variables: '', commit: '', labels: '' }}
      fields={() => [
        { name: 'name', label: 'Template name', required: true },
        { name: 'description', label: 'Description' },
        ...MESSAGE_FIELDS,
      ]}
      submit="Create template"
      resetOnSuccess
      onSubmit={async (form) => {
        const created = must(
          await api.POST('/admin/v1/prompts', {
            body: {
              name: form.name.trim(),
              description: form.description,
              messages: messagesOf(form),
              variables: variablesOf(form.variables),
              commit_message: form.commit,
              labels: words(form.labels),
            },
          }),
        );
        location.hash = `#/prompts/${encodeURIComponent(created.name)}`;
      }}
    />
  );
}

/** A new version from the shown one: its messages edited; its variables' specs and parameters kept. */
function NewVersion(props: { name: string; base: Version; onDone: (version: number) => void }) {
  const { base } = props;
  const system = base.messages.find((m) => m.role === 'system')?.content ?? '';
  const user = base.messages.find((m) => m.role === 'user')?.content ?? '';
  // Only a system and a user message are edited here: other shapes keep to the API.
  const editable = base.messages.length === (system ? 2 : 1) && base.messages.some((m) => m.role === 'user');
  if (!editable) return null;
  return (
    <Form
      testid="new-version"
      title={`Write a new version (from v${base.version})`}
      initial={{
        system,
        user,
        variables: base.variables.map((v) => v.name).join(', '),
        commit: '',
        labels: '',
      }}
      fields={() => [...MESSAGE_FIELDS]}
      submit="Write version"
      onSubmit={async (form) => {
        const written = must(
          await api.POST('/admin/v1/prompts/{name}/versions', {
            params: { path: { name: props.name } },
            body: {
              messages: messagesOf(form),
              variables: variablesOf(form.variables, base.variables as VariableSpec[]),
              params: base.params as TemplateBody['params'],
              commit_message: form.commit,
              labels: words(form.labels),
            },
          }),
        );
        props.onDone(written.version);
      }}
    />
  );
}

/** A version rendered with variables on the server (`POST …/render`): what a model would be sent. */
function Preview(props: { name: string; versions: number[]; variables: string[] }) {
  const [rendered, setRendered] = useState<Rendered | null>(null);
  const latest = props.versions[props.versions.length - 1] ?? 1;
  const sample = useRef(JSON.stringify(Object.fromEntries(props.variables.map((v) => [v, ''])), null, 1));
  return (
    <Form
      testid="preview"
      title="Preview a version"
      initial={{ version: String(latest), values: sample.current }}
      fields={() => [
        {
          name: 'version',
          label: 'Version',
          kind: 'select',
          options: [...props.versions].reverse().map((v) => ({ value: String(v), label: `v${v}` })),
        },
        { name: 'values', label: 'Variables (JSON object)', kind: 'textarea', rows: 3, wide: true },
      ]}
      submit="Render"
      onSubmit={async (form) => {
        let variables: Record<string, unknown>;
        try {
          variables = JSON.parse(form.values || '{}') as Record<string, unknown>;
        } catch {
          setRendered(null);
          throw new Error('The variables are not a JSON object.');
        }
        try {
          setRendered(
            must(
              await api.POST('/admin/v1/prompts/{name}/render', {
                params: { path: { name: props.name } },
                // The render body's variables are declared as a bare object: any JSON values.
                body: { version: Number(form.version), variables: variables as Record<string, never> },
              }),
            ),
          );
        } catch (e) {
          setRendered(null);
          throw e;
        }
      }}
    >
      {rendered && (
        <div data-testid="rendered" role="status">
          <p>v{rendered.version} as a model would receive it:</p>
          {rendered.messages.map((m, i) => (
            <div key={i}>
              <p>
                <strong>{m.role}</strong>
              </p>
              <pre data-testid="rendered-content">{m.content}</pre>
            </div>
          ))}
        </div>
      )}
    </Form>
  );
}
