import { useEffect, useState } from 'preact/hooks';
import { api, Body, must } from '../api';
import { explain, Form, Message, Status } from '../form';

type Policies = Body<'/admin/v1/moderation/policies', 'get'>;
type Verdict = Body<'/admin/v1/moderation/dry-run', 'post'>;
type Check = Policies['policies'][number]['input'][number];
type Override = Body<'/admin/v1/moderation/teams/{team}/overrides', 'get'>[number];
type Team = Body<'/admin/v1/teams', 'get'>[number];

const checks = (list: Check[]) => (list.length ? list.map((c) => c.name).join(', ') : '—');

/**
 * Guardrail policies (declared in gateway.yaml), the policy guarding each endpoint, and a tester that
 * runs a sample text through a policy on the server (`POST /admin/v1/moderation/dry-run`) and shows what
 * each check decided and the text the provider (input) or the caller (output) would get. A team's
 * overrides (another policy for one endpoint or all) are listed, set and removed per team.
 */
export function GuardrailsScreen() {
  const [policies, setPolicies] = useState<Policies | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api
      .GET('/admin/v1/moderation/policies')
      .then((r) => setPolicies(must(r)))
      .catch((e: unknown) => setError(explain(e)));
  }, []);

  return (
    <section>
      <h1>Guardrails</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <h2>Policies</h2>
      <div class="table-wrap">
        <table data-testid="policies-table">
          <caption class="sr-only">Guardrail policies</caption>
          <thead>
            <tr>
              <th scope="col">Policy</th>
              <th scope="col">Input checks</th>
              <th scope="col">Output checks</th>
              <th scope="col">Stream window</th>
            </tr>
          </thead>
          <tbody>
            {(policies?.policies ?? []).map((p) => (
              <tr key={p.name} data-policy={p.name}>
                <th scope="row">
                  {p.name}
                  {policies?.default === p.name ? ' (default)' : ''}
                </th>
                <td>{checks(p.input)}</td>
                <td>{checks(p.output)}</td>
                <td>{p.stream_window} characters</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {policies && policies.policies.length === 0 && (
        <p>No policies: declare them under gatehouse.moderation.policies in gateway.yaml.</p>
      )}
      <h2>Endpoints</h2>
      <div class="table-wrap">
        <table data-testid="guarded-endpoints">
          <caption class="sr-only">The policy guarding each endpoint</caption>
          <thead>
            <tr>
              <th scope="col">Endpoint</th>
              <th scope="col">Policy</th>
            </tr>
          </thead>
          <tbody>
            {(policies?.endpoints ?? []).map((e) => (
              <tr key={e.endpoint}>
                <th scope="row">{e.endpoint}</th>
                <td>{e.policy ?? 'none'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <TeamOverrides policies={policies} />
      <DryRun policies={policies} />
    </section>
  );
}

const policyText = (policy: unknown) => (typeof policy === 'string' ? policy : 'inline policy');

/** A team's guardrail overrides: the policy its requests to an endpoint (or to all, `*`) get instead. */
function TeamOverrides({ policies }: { policies: Policies | null }) {
  const [teams, setTeams] = useState<Team[]>([]);
  const [team, setTeam] = useState('');
  const [overrides, setOverrides] = useState<Override[] | null>(null);
  const [message, setMessage] = useState<Message>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/teams')
      .then((r) => setTeams(must(r)))
      .catch((e: unknown) => setMessage({ ok: false, text: explain(e) }));
  }, []);
  useEffect(() => {
    if (!team) return setOverrides(null);
    api
      .GET('/admin/v1/moderation/teams/{team}/overrides', { params: { path: { team } } })
      .then((r) => setOverrides(must(r)))
      .catch((e: unknown) => setMessage({ ok: false, text: explain(e) }));
  }, [team, tick]);

  const teamName = teams.find((t) => t.id === team)?.name ?? team;
  const done = (text: string) => {
    setMessage({ ok: true, text });
    setTick((t) => t + 1);
  };
  const remove = async (o: Override) => {
    if (!confirm(`Remove the override of ${teamName} on ${o.endpoint}?`)) return;
    try {
      const r = await api.DELETE('/admin/v1/moderation/teams/{team}/overrides/{endpoint}', {
        params: { path: { team, endpoint: o.endpoint } },
      });
      if (!r.response.ok) must(r);
      done(`Override of ${teamName} on ${o.endpoint} removed.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <>
      <h2>Team overrides</h2>
      <p>A team may be held to another policy than the endpoint's, on one endpoint or on all (*).</p>
      <div class="toolbar">
        <label>
          Team
          <select name="overrideTeam" value={team} onChange={(e) => setTeam(e.currentTarget.value)}>
            <option value="">Choose a team…</option>
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Status message={message} testid="overrides-message" />
      {overrides && (
        <div class="table-wrap">
          <table data-testid="overrides-table">
            <caption class="sr-only">Guardrail overrides of {teamName}</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Policy</th>
                <th scope="col">Set</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {overrides.map((o) => (
                <tr key={o.endpoint} data-override={o.endpoint}>
                  <th scope="row">{o.endpoint === '*' ? '* (all endpoints)' : o.endpoint}</th>
                  <td>{policyText(o.policy)}</td>
                  <td>{new Date(o.updated_at).toLocaleString()}</td>
                  <td class="actions">
                    <button type="button" class="danger" onClick={() => void remove(o)}>
                      Remove {o.endpoint}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {overrides && overrides.length === 0 && <p>No overrides for {teamName}.</p>}
      {team && (
        <Form
          key={team}
          testid="set-override"
          title={`Set an override for ${teamName}`}
          initial={{ endpoint: '*', policy: policies?.policies[0]?.name ?? 'none' }}
          fields={() => [
            {
              name: 'endpoint',
              label: 'Endpoint',
              kind: 'select',
              options: [
                { value: '*', label: '* (all endpoints)' },
                ...(policies?.endpoints ?? []).map((e) => e.endpoint),
              ],
            },
            {
              name: 'policy',
              label: 'Policy',
              kind: 'select',
              options: [
                ...(policies?.policies ?? []).map((p) => p.name),
                { value: 'none', label: 'none (no guardrails)' },
              ],
            },
          ]}
          submit="Set override"
          onSubmit={async ({ endpoint, policy }) => {
            must(
              await api.PUT('/admin/v1/moderation/teams/{team}/overrides/{endpoint}', {
                params: { path: { team, endpoint } },
                body: { policy },
              }),
            );
            done(
              `${teamName} now gets policy ${policy} on ${endpoint === '*' ? 'all endpoints' : endpoint}.`,
            );
          }}
        />
      )}
    </>
  );
}

function DryRun({ policies }: { policies: Policies | null }) {
  const [form, setForm] = useState({ text: '', stage: 'input', target: '', team: '' });
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [error, setError] = useState<string | null>(null);
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    // The target is "policy:<name>" or "endpoint:<name>": one select for both ways the API resolves one.
    const [kind, name] = [
      form.target.slice(0, form.target.indexOf(':')),
      form.target.slice(form.target.indexOf(':') + 1),
    ];
    try {
      const result = must(
        await api.POST('/admin/v1/moderation/dry-run', {
          body: {
            text: form.text,
            stage: form.stage as 'input' | 'output',
            ...(kind === 'policy' ? { policy: name } : { endpoint: name }),
            ...(kind === 'endpoint' && form.team.trim() ? { team: form.team.trim() } : {}),
          },
        }),
      );
      setVerdict(result);
      setError(null);
    } catch (e) {
      setVerdict(null);
      setError(explain(e));
    }
  };

  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="dry-run">
      <h2>Test a policy</h2>
      <p>The text is checked on the gateway and not sent to any model, except by checks that call one.</p>
      <div class="grid">
        <label>
          Policy or endpoint
          <select name="target" required value={form.target} onChange={set('target')}>
            <option value="">Choose…</option>
            <optgroup label="Policies">
              {(policies?.policies ?? []).map((p) => (
                <option key={p.name} value={`policy:${p.name}`}>
                  {p.name}
                </option>
              ))}
            </optgroup>
            <optgroup label="The policy of endpoint">
              {(policies?.endpoints ?? []).map((e) => (
                <option key={e.endpoint} value={`endpoint:${e.endpoint}`}>
                  {e.endpoint}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        {form.target.startsWith('endpoint:') && (
          <label>
            As team (its override applies; optional)
            <input name="team" value={form.team} onInput={set('team')} />
          </label>
        )}
        <label>
          Stage
          <select name="stage" value={form.stage} onChange={set('stage')}>
            <option value="input">input (the prompt)</option>
            <option value="output">output (the answer)</option>
          </select>
        </label>
        <label class="wide">
          Sample text
          <textarea name="text" rows={4} required value={form.text} onInput={set('text')} />
        </label>
      </div>
      <button type="submit">Run the check</button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {verdict && (
        <div data-testid="verdict" role="status">
          <p>
            Verdict: <strong data-testid="verdict-action">{verdict.action}</strong>
            {verdict.policy ? ` by policy ${verdict.policy} (${verdict.source})` : ' (no policy applies)'}
          </p>
          {verdict.blocked_message !== null && <p data-testid="verdict-blocked">{verdict.blocked_message}</p>}
          {verdict.text !== null && (
            <>
              <p>The {verdict.stage === 'input' ? 'provider' : 'caller'} would receive:</p>
              <pre data-testid="verdict-text">{verdict.text}</pre>
            </>
          )}
          {verdict.checks.length > 0 && (
            <div class="table-wrap">
              <table data-testid="verdict-checks">
                <caption class="sr-only">What each check decided</caption>
                <thead>
                  <tr>
                    <th scope="col">Check</th>
                    <th scope="col">Decision</th>
                    <th scope="col">Found</th>
                  </tr>
                </thead>
                <tbody>
                  {verdict.checks.map((c, i) => (
                    <tr key={i}>
                      <th scope="row">{c.check}</th>
                      <td>{c.action}</td>
                      <td>
                        {c.categories.join(', ') || '—'}
                        {c.score !== undefined ? ` (score ${c.score.toFixed(2)})` : ''}
                        {c.error ? ` — error: ${c.error}` : ''}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </form>
  );
}
