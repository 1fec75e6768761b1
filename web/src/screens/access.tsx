import { useEffect, useState } from 'preact/hooks';
import { api, Body, Me, must } from '../api';
import { explain, Form, Message, Status } from '../form';

type Team = Body<'/admin/v1/teams', 'get'>[number];
type Principal = Body<'/admin/v1/principals', 'get'>[number];
type Grant = Body<'/admin/v1/grants', 'get'>[number];

const ROLES = ['viewer', 'developer', 'operator', 'admin'] as const;

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
  return (
    <Form
      testid="create-team"
      initial={{ team: '' }}
      fields={() => [{ name: 'team', label: 'New team name', required: true }]}
      submit="Create team"
      resetOnSuccess
      onSubmit={async ({ team }) => {
        const r = await api.POST('/admin/v1/teams', { body: { name: team } });
        if (!r.response.ok) must(r);
        onDone(`Team ${team} created.`);
      }}
    />
  );
}

function CreatePrincipal({ teams, onDone }: { teams: Team[]; onDone: (text: string) => void }) {
  const [issuer, setIssuer] = useState<string | null>(null);
  useEffect(() => {
    api
      .GET('/admin/v1/console/config')
      .then((r) => setIssuer(must(r).oidc?.issuer ?? null))
      .catch(() => setIssuer(null));
  }, []);
  return (
    <Form
      testid="create-principal"
      title="Register a principal"
      initial={{ name: '', kind: 'user', teamId: '', role: 'developer', subject: '' }}
      fields={() => [
        { name: 'name', label: 'Name', required: true },
        { name: 'kind', label: 'Kind', kind: 'select', options: ['user', 'service'] },
        {
          name: 'teamId',
          label: 'Team',
          kind: 'select',
          options: [{ value: '', label: 'No team' }, ...teams.map((t) => ({ value: t.id, label: t.name }))],
        },
        { name: 'role', label: 'Role', kind: 'select', options: ROLES },
        issuer !== null && {
          name: 'subject',
          label: 'Identity provider subject (optional: lets this person sign in with single sign-on)',
          wide: true,
        },
      ]}
      submit="Register principal"
      onSubmit={async (form) => {
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
        onDone(`Principal ${form.name} registered.`);
      }}
    />
  );
}

function CreateGrant({ teams, onDone }: { teams: Team[]; onDone: (text: string) => void }) {
  return (
    <Form
      testid="create-grant"
      title="Grant a team access"
      initial={{ grantTeam: '', pattern: '' }}
      fields={() => [
        {
          name: 'grantTeam',
          label: 'Team',
          kind: 'select',
          required: true,
          options: [
            { value: '', label: 'Choose a team…' },
            ...teams.map((t) => ({ value: t.id, label: t.name })),
          ],
        },
        { name: 'pattern', label: 'Endpoint name or pattern (e.g. chat*)', required: true },
      ]}
      submit="Grant access"
      onSubmit={async ({ grantTeam, pattern }) => {
        const r = await api.POST('/admin/v1/grants', {
          body: { teamId: grantTeam, endpointPattern: pattern },
        });
        if (!r.response.ok) must(r);
        onDone(`Team ${teams.find((t) => t.id === grantTeam)?.name ?? grantTeam} may now call ${pattern}.`);
      }}
    />
  );
}
