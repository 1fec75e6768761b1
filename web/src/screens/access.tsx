import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, Body, Me, must } from '../api';

type Team = Body<'/admin/v1/teams', 'get'>[number];
type Principal = Body<'/admin/v1/principals', 'get'>[number];
type Grant = Body<'/admin/v1/grants', 'get'>[number];
type Message = { ok: boolean; text: string } | null;

const ROLES = ['viewer', 'developer', 'operator', 'admin'] as const;

/** A refusal the API gave this identity, said plainly; anything else with the gateway's message. */
export function explain(e: unknown): string {
  if (e instanceof ApiError && e.status === 403) return `Not allowed for your role: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

function Status({ message }: { message: Message }) {
  return message ? (
    <p role="status" class={message.ok ? 'ok' : 'error'}>
      {message.text}
    </p>
  ) : null;
}

/**
 * Teams, principals and access grants: what the signed-in identity may read (its own team's unless it
 * holds `tenancy.all`), and the changes its role allows (register a principal, e.g. an OIDC user by
 * issuer and subject; grant a team access to endpoints; revoke a grant).
 */
export function AccessScreen({ me }: { me: Me }) {
  const can = (p: string) => me.permissions.includes(p);
  const [teams, setTeams] = useState<Team[] | null>(null);
  const [principals, setPrincipals] = useState<Principal[] | null>(null);
  const [grants, setGrants] = useState<Grant[] | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<Message>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const failed = (what: string) => (e: unknown) => setErrors((all) => ({ ...all, [what]: explain(e) }));
    if (can('teams.read'))
      api
        .GET('/admin/v1/teams')
        .then((r) => setTeams(must(r)))
        .catch(failed('teams'));
    if (can('principals.read'))
      api
        .GET('/admin/v1/principals')
        .then((r) => setPrincipals(must(r)))
        .catch(failed('principals'));
    if (can('grants.read'))
      api
        .GET('/admin/v1/grants')
        .then((r) => setGrants(must(r)))
        .catch(failed('grants'));
  }, [tick]);

  const teamName = (id: string | null) => (id ? (teams?.find((t) => t.id === id)?.name ?? id) : '—');
  const done = (text: string) => {
    setMessage({ ok: true, text });
    setTick((t) => t + 1);
  };

  const revoke = async (grant: Grant) => {
    if (!confirm(`Revoke access to ${grant.endpointPattern}?`)) return;
    try {
      const r = await api.DELETE('/admin/v1/grants/{id}', { params: { path: { id: grant.id } } });
      if (!r.response.ok) must(r);
      done(`Grant for ${grant.endpointPattern} revoked.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <section>
      <h1>Teams and access</h1>
      <Status message={message} />

      {can('teams.read') && (
        <>
          <h2>Teams</h2>
          {errors.teams && <p class="error">{errors.teams}</p>}
          <div class="table-wrap">
            <table data-testid="teams-table">
              <caption class="sr-only">Teams</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Description</th>
                  <th scope="col">Members</th>
                </tr>
              </thead>
              <tbody>
                {(teams ?? []).map((t) => (
                  <tr key={t.id}>
                    <th scope="row">{t.name}</th>
                    <td>{t.description || '—'}</td>
                    <td>{principals ? principals.filter((p) => p.teamId === t.id).length : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {can('teams.write') && <CreateTeam onDone={done} />}
        </>
      )}

      {can('principals.read') && (
        <>
          <h2>Principals</h2>
          {errors.principals && <p class="error">{errors.principals}</p>}
          <div class="table-wrap">
            <table data-testid="principals-table">
              <caption class="sr-only">Principals</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Team</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Signs in with</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {(principals ?? []).map((p) => (
                  <tr key={p.id} data-principal={p.name}>
                    <th scope="row">{p.name}</th>
                    <td>{p.kind}</td>
                    <td>{teamName(p.teamId)}</td>
                    <td>{p.roles.join(', ') || '—'}</td>
                    <td>{p.subject ? `OIDC: ${p.subject}` : 'API keys'}</td>
                    <td>{p.disabled ? 'disabled' : 'active'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {can('principals.write') && <CreatePrincipal teams={teams ?? []} onDone={done} />}
        </>
      )}

      {can('grants.read') && (
        <>
          <h2>Access grants</h2>
          {errors.grants && <p class="error">{errors.grants}</p>}
          <div class="table-wrap">
            <table data-testid="grants-table">
              <caption class="sr-only">Access grants</caption>
              <thead>
                <tr>
                  <th scope="col">Endpoints</th>
                  <th scope="col">Granted to</th>
                  <th scope="col">Destinations</th>
                  <th scope="col">Since</th>
                  {can('grants.write') && <th scope="col">Revoke</th>}
                </tr>
              </thead>
              <tbody>
                {(grants ?? []).map((g) => (
                  <tr key={g.id}>
                    <th scope="row">{g.endpointPattern}</th>
                    <td>
                      {g.teamId
                        ? `team ${teamName(g.teamId)}`
                        : `principal ${principals?.find((p) => p.id === g.principalId)?.name ?? g.principalId}`}
                    </td>
                    <td>{g.destinations?.join(', ') ?? 'all'}</td>
                    <td>{g.createdAt.slice(0, 10)}</td>
                    {can('grants.write') && (
                      <td class="actions">
                        <button type="button" class="danger" onClick={() => void revoke(g)}>
                          Revoke {g.endpointPattern}
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {grants && grants.length === 0 && <p>No grants.</p>}
          {can('grants.write') && <CreateGrant teams={teams ?? []} onDone={done} />}
        </>
      )}
    </section>
  );
}

function CreateTeam({ onDone }: { onDone: (text: string) => void }) {
  const [name, setName] = useState('');
  const [message, setMessage] = useState<Message>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const r = await api.POST('/admin/v1/teams', { body: { name } });
      if (!r.response.ok) must(r);
      setMessage(null);
      setName('');
      onDone(`Team ${name} created.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };
  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="create-team">
      <label>
        New team name
        <input name="team" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <button type="submit">Create team</button>
      <Status message={message} />
    </form>
  );
}

function CreatePrincipal({ teams, onDone }: { teams: Team[]; onDone: (text: string) => void }) {
  const [form, setForm] = useState({ name: '', kind: 'user', teamId: '', role: 'developer', subject: '' });
  const [message, setMessage] = useState<Message>(null);
  const [issuer, setIssuer] = useState<string | null>(null);
  useEffect(() => {
    api
      .GET('/admin/v1/console/config')
      .then((r) => setIssuer(must(r).oidc?.issuer ?? null))
      .catch(() => setIssuer(null));
  }, []);
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const r = await api.POST('/admin/v1/principals', {
        body: {
          kind: form.kind as 'user' | 'service',
          name: form.name,
          teamId: form.teamId || null,
          roles: [form.role as (typeof ROLES)[number]],
          ...(issuer && form.subject ? { issuer, subject: form.subject } : {}),
        },
      });
      if (!r.response.ok) must(r);
      setMessage(null);
      onDone(`Principal ${form.name} registered.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="create-principal">
      <h3>Register a principal</h3>
      <div class="grid">
        <label>
          Name
          <input name="name" required value={form.name} onInput={set('name')} />
        </label>
        <label>
          Kind
          <select name="kind" value={form.kind} onChange={set('kind')}>
            <option value="user">user</option>
            <option value="service">service</option>
          </select>
        </label>
        <label>
          Team
          <select name="teamId" value={form.teamId} onChange={set('teamId')}>
            <option value="">No team</option>
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Role
          <select name="role" value={form.role} onChange={set('role')}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        {issuer && (
          <label class="wide">
            Identity provider subject (optional: lets this person sign in with single sign-on)
            <input name="subject" value={form.subject} onInput={set('subject')} />
          </label>
        )}
      </div>
      <button type="submit">Register principal</button>
      <Status message={message} />
    </form>
  );
}

function CreateGrant({ teams, onDone }: { teams: Team[]; onDone: (text: string) => void }) {
  const [teamId, setTeamId] = useState('');
  const [pattern, setPattern] = useState('');
  const [message, setMessage] = useState<Message>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const r = await api.POST('/admin/v1/grants', { body: { teamId, endpointPattern: pattern } });
      if (!r.response.ok) must(r);
      setMessage(null);
      onDone(`Team ${teams.find((t) => t.id === teamId)?.name ?? teamId} may now call ${pattern}.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };
  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="create-grant">
      <h3>Grant a team access</h3>
      <div class="grid">
        <label>
          Team
          <select name="grantTeam" required value={teamId} onChange={(e) => setTeamId(e.currentTarget.value)}>
            <option value="">Choose a team…</option>
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Endpoint name or pattern (e.g. chat*)
          <input name="pattern" required value={pattern} onInput={(e) => setPattern(e.currentTarget.value)} />
        </label>
      </div>
      <button type="submit">Grant access</button>
      <Status message={message} />
    </form>
  );
}
