import { useEffect, useState } from 'preact/hooks';
import { api, Body, Me, must, paths } from '../api';
import { explain, Field, Form, Message, Status } from '../form';

type Limit = Body<'/admin/v1/limits', 'get'>[number];
type Budget = Body<'/admin/v1/budgets', 'get'>[number];
type BudgetStatus = Body<'/admin/v1/budgets/status', 'get'>[number];
type Team = Body<'/admin/v1/teams', 'get'>[number];
type Usage = Body<'/admin/v1/limits/usage', 'get'>[number];
type LimitBody = NonNullable<paths['/admin/v1/limits']['post']['requestBody']>['content']['application/json'];
type BudgetBody = NonNullable<
  paths['/admin/v1/budgets']['post']['requestBody']
>['content']['application/json'];

const SCOPES = ['global', 'team', 'principal', 'key', 'endpoint'] as const;
const METRICS = ['requests', 'tokens', 'concurrency'] as const;
const PERIODS = ['daily', 'weekly', 'monthly'] as const;
const WINDOWS: Record<number, string> = { 1: 'second', 60: 'minute', 3600: 'hour', 86400: 'day' };

const usd = (n: number) => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2)}`;
const windowLabel = (seconds: number | null) =>
  seconds === null ? '—' : WINDOWS[seconds] ? `per ${WINDOWS[seconds]}` : `per ${seconds} s`;

/**
 * Budgets with their burn in the current period, and (for `billing.admin`) request, token and
 * concurrency limits. The API scopes both: without `tenancy.all`, the identity's own team's only.
 * Rules from gateway.yaml are listed read-only: they change with the file.
 */
export function LimitsScreen({ me }: { me: Me }) {
  const canAdmin = me.permissions.includes('billing.admin');
  const [limits, setLimits] = useState<Limit[] | null>(null);
  const [budgets, setBudgets] = useState<Budget[] | null>(null);
  const [burn, setBurn] = useState<BudgetStatus[]>([]);
  const [usage, setUsage] = useState<Usage[] | null>(null);
  const [teams, setTeams] = useState<Team[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<Message>(null);
  const [editLimit, setEditLimit] = useState<Limit | null>(null);
  const [editBudget, setEditBudget] = useState<Budget | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const failed = (what: string) => (e: unknown) => setErrors((all) => ({ ...all, [what]: explain(e) }));
    api
      .GET('/admin/v1/budgets')
      .then((r) => setBudgets(must(r)))
      .catch(failed('budgets'));
    api
      .GET('/admin/v1/budgets/status')
      .then((r) => setBurn(must(r)))
      .catch(failed('budgets'));
    api
      .GET('/admin/v1/limits/usage')
      .then((r) => setUsage(must(r)))
      .catch(failed('usage'));
    if (canAdmin)
      api
        .GET('/admin/v1/limits')
        .then((r) => setLimits(must(r)))
        .catch(failed('limits'));
    if (me.permissions.includes('teams.read'))
      api
        .GET('/admin/v1/teams')
        .then((r) => setTeams(must(r)))
        .catch(() => setTeams([]));
  }, [tick]);

  const done = (text: string) => {
    setMessage({ ok: true, text });
    setEditLimit(null);
    setEditBudget(null);
    setTick((t) => t + 1);
  };
  const subjectOf = (scope: string, subject: string | null) => {
    if (scope === 'global') return 'everyone';
    if (subject === null) return `each ${scope}`;
    return scope === 'team'
      ? `team ${teams.find((t) => t.id === subject)?.name ?? subject}`
      : `${scope} ${subject}`;
  };

  const removeLimit = async (limit: Limit) => {
    if (!confirm(`Remove the ${limit.metric} limit on ${subjectOf(limit.scope, limit.subject)}?`)) return;
    try {
      const r = await api.DELETE('/admin/v1/limits/{id}', { params: { path: { id: limit.id } } });
      if (!r.response.ok) must(r);
      done(`Limit on ${subjectOf(limit.scope, limit.subject)} removed.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };
  const removeBudget = async (budget: Budget) => {
    if (!confirm(`Remove the budget ${budget.name}?`)) return;
    try {
      const r = await api.DELETE('/admin/v1/budgets/{id}', { params: { path: { id: budget.id } } });
      if (!r.response.ok) must(r);
      done(`Budget ${budget.name} removed.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <section>
      <h1>Limits and budgets</h1>
      <Status message={message} testid="limits-message" />

      <h2>Budgets</h2>
      {errors.budgets && <p class="error">{errors.budgets}</p>}
      <div class="table-wrap">
        <table data-testid="budgets-table">
          <caption class="sr-only">Budgets and their burn in the current period</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Applies to</th>
              <th scope="col">Amount</th>
              <th scope="col">Mode</th>
              <th scope="col">Spent this period</th>
              <th scope="col">Resets</th>
              {canAdmin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(budgets ?? []).map((b) => {
              const status = burn.find((s) => s.budget_id === b.id);
              const share = status && b.amount_usd > 0 ? Math.min(1, status.spent_usd / b.amount_usd) : 0;
              return (
                <tr key={b.id} data-budget={b.name}>
                  <th scope="row">{b.name}</th>
                  <td>
                    {subjectOf(b.scope, b.subject)}
                    {b.endpoint ? ` on ${b.endpoint}` : ''}
                  </td>
                  <td>
                    {usd(b.amount_usd)} {b.period}
                  </td>
                  <td>{b.mode === 'hard' ? 'hard (refuses)' : 'soft (alerts)'}</td>
                  <td data-testid="burn">
                    {status ? (
                      <>
                        <meter
                          min={0}
                          max={1}
                          value={share}
                          low={0.8}
                          high={0.95}
                          optimum={0}
                          aria-label={`${b.name} spent`}
                        />{' '}
                        {usd(status.spent_usd)} ({Math.round(share * 100)}%)
                        {status.reserved_usd > 0 ? `, ${usd(status.reserved_usd)} reserved` : ''}
                      </>
                    ) : (
                      'per subject (see the API)'
                    )}
                  </td>
                  <td>{status ? new Date(status.resets_at).toLocaleString() : '—'}</td>
                  {canAdmin && (
                    <td class="actions">
                      <button type="button" class="secondary" onClick={() => setEditBudget(b)}>
                        Edit {b.name}
                      </button>
                      <button type="button" class="danger" onClick={() => void removeBudget(b)}>
                        Remove {b.name}
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {budgets && budgets.length === 0 && <p>No budgets you can see.</p>}
      {canAdmin && (
        <BudgetForm
          key={editBudget?.id ?? 'new-budget'}
          editing={editBudget}
          teams={teams}
          onDone={done}
          onCancel={() => setEditBudget(null)}
        />
      )}

      <h2>Limit usage now</h2>
      {errors.usage && <p class="error">{errors.usage}</p>}
      <div class="table-wrap">
        <table data-testid="usage-table">
          <caption class="sr-only">Each limit's counter in its current window</caption>
          <thead>
            <tr>
              <th scope="col">Applies to</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Limit</th>
              <th scope="col">Used</th>
              <th scope="col">Resets</th>
            </tr>
          </thead>
          <tbody>
            {(usage ?? []).map((u) => {
              const unit = u.metric === 'concurrency' ? 'in flight' : u.metric;
              return (
                <tr key={u.limit_id} data-usage={u.limit_id}>
                  <th scope="row">{subjectOf(u.scope, u.subject)}</th>
                  <td>{u.endpoint ?? 'all'}</td>
                  <td>
                    {u.limit} {u.metric}{' '}
                    {u.metric === 'concurrency' ? 'at once' : windowLabel(u.window_seconds)}
                  </td>
                  <td data-testid="used">
                    {u.used === null ? (
                      'one counter per subject (see the API)'
                    ) : (
                      <>
                        <meter
                          min={0}
                          max={Math.max(1, u.limit)}
                          value={u.used}
                          low={u.limit * 0.8}
                          high={u.limit * 0.95}
                          optimum={0}
                          aria-label={`${subjectOf(u.scope, u.subject)} ${u.metric} used`}
                        />{' '}
                        {u.used} {unit} of {u.limit}
                      </>
                    )}
                  </td>
                  <td>{u.resets_at ? new Date(u.resets_at).toLocaleString() : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {usage && usage.length === 0 && <p>No limits you can see.</p>}
      <p>
        <button type="button" class="secondary" onClick={() => setTick((t) => t + 1)}>
          Refresh usage
        </button>
      </p>

      {canAdmin && (
        <>
          <h2>Request, token and concurrency limits</h2>
          {errors.limits && <p class="error">{errors.limits}</p>}
          <div class="table-wrap">
            <table data-testid="limits-table">
              <caption class="sr-only">Limits</caption>
              <thead>
                <tr>
                  <th scope="col">Applies to</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Metric</th>
                  <th scope="col">Limit</th>
                  <th scope="col">Source</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {(limits ?? []).map((l) => (
                  <tr key={l.id} data-limit={l.id}>
                    <th scope="row">{subjectOf(l.scope, l.subject)}</th>
                    <td>{l.endpoint ?? 'all'}</td>
                    <td>{l.metric}</td>
                    <td>
                      {l.limit} {l.metric === 'concurrency' ? 'at once' : windowLabel(l.window_seconds)}
                    </td>
                    <td>{l.source === 'admin' ? 'admin API' : l.source}</td>
                    <td class="actions">
                      {l.source === 'admin' ? (
                        <>
                          <button type="button" class="secondary" onClick={() => setEditLimit(l)}>
                            Edit
                          </button>
                          <button type="button" class="danger" onClick={() => void removeLimit(l)}>
                            Remove
                          </button>
                        </>
                      ) : (
                        'edit gateway.yaml'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {limits && limits.length === 0 && <p>No limits.</p>}
          <LimitForm
            key={editLimit?.id ?? 'new-limit'}
            editing={editLimit}
            teams={teams}
            onDone={done}
            onCancel={() => setEditLimit(null)}
          />
        </>
      )}
    </section>
  );
}

/** Subject: a team chosen by name when teams are readable, otherwise an id (or endpoint name) typed in. */
function subjectField(scope: string, teams: Team[]): Field | null {
  if (scope === 'global') return null;
  if (scope === 'team' && teams.length > 0)
    return {
      name: 'subject',
      label: 'Team',
      kind: 'select',
      options: [
        { value: '', label: 'Each team separately' },
        ...teams.map((t) => ({ value: t.id, label: t.name })),
      ],
    };
  return {
    name: 'subject',
    label: `${scope === 'endpoint' ? 'Endpoint name' : `${scope} id`} (empty: each separately)`,
  };
}

const ENDPOINT_FIELD: Field = { name: 'endpoint', label: 'Only endpoint (empty: all)' };

interface FormProps<T> {
  editing: T | null;
  teams: Team[];
  onDone: (text: string) => void;
  onCancel: () => void;
}

function LimitForm({ editing, teams, onDone, onCancel }: FormProps<Limit>) {
  const submit = async (form: Record<string, string>) => {
    const body: LimitBody = {
      scope: form.scope as LimitBody['scope'],
      subject: form.scope === 'global' ? null : form.subject.trim() || null,
      endpoint: form.endpoint.trim() || null,
      metric: form.metric as LimitBody['metric'],
      ...(form.metric === 'concurrency' ? {} : { window_seconds: Number(form.window) }),
      limit: Number(form.limit),
    };
    const saved = editing
      ? must(await api.PUT('/admin/v1/limits/{id}', { params: { path: { id: editing.id } }, body }))
      : must(await api.POST('/admin/v1/limits', { body }));
    onDone(`Limit ${editing ? 'saved' : 'added'}: ${saved.limit} ${saved.metric}.`);
  };
  return (
    <Form
      testid="limit-form"
      title={editing ? 'Edit limit' : 'Add a limit'}
      initial={{
        scope: editing?.scope ?? 'global',
        subject: editing?.subject ?? '',
        endpoint: editing?.endpoint ?? '',
        metric: editing?.metric ?? 'requests',
        window: String(editing?.window_seconds ?? 60),
        limit: String(editing?.limit ?? ''),
      }}
      fields={(form) => [
        { name: 'scope', label: 'Applies to', kind: 'select', options: SCOPES },
        subjectField(form.scope, teams),
        ENDPOINT_FIELD,
        { name: 'metric', label: 'Metric', kind: 'select', options: METRICS },
        form.metric !== 'concurrency' && {
          name: 'window',
          label: 'Window',
          kind: 'select',
          options: [
            ...Object.entries(WINDOWS).map(([value, label]) => ({ value, label })),
            ...(WINDOWS[Number(form.window)] ? [] : [{ value: form.window, label: `${form.window} s` }]),
          ],
        },
        { name: 'limit', label: 'Limit', kind: 'number', min: 0, step: 1, required: true },
      ]}
      submit={editing ? 'Save limit' : 'Add limit'}
      onSubmit={submit}
      onCancel={editing ? onCancel : undefined}
    />
  );
}

function BudgetForm({ editing, teams, onDone, onCancel }: FormProps<Budget>) {
  const submit = async (form: Record<string, string>) => {
    const body: BudgetBody = {
      name: form.name.trim(),
      scope: form.scope as BudgetBody['scope'],
      subject: form.scope === 'global' ? null : form.subject.trim() || null,
      endpoint: form.endpoint.trim() || null,
      period: form.period as BudgetBody['period'],
      amount_usd: Number(form.amount),
      mode: form.mode as BudgetBody['mode'],
      alert_webhook_url: form.webhook.trim() || null,
    };
    const saved = editing
      ? must(await api.PUT('/admin/v1/budgets/{id}', { params: { path: { id: editing.id } }, body }))
      : must(await api.POST('/admin/v1/budgets', { body }));
    onDone(`Budget ${saved.name} ${editing ? 'saved' : 'added'}.`);
  };
  return (
    <Form
      testid="budget-form"
      title={editing ? `Edit budget ${editing.name}` : 'Add a budget'}
      initial={{
        name: editing?.name ?? '',
        scope: editing?.scope ?? 'global',
        subject: editing?.subject ?? '',
        endpoint: editing?.endpoint ?? '',
        period: editing?.period ?? 'monthly',
        amount: String(editing?.amount_usd ?? ''),
        mode: editing?.mode ?? 'hard',
        webhook: editing?.alert_webhook_url ?? '',
      }}
      fields={(form) => [
        { name: 'name', label: 'Budget name', required: true },
        { name: 'scope', label: 'Applies to', kind: 'select', options: SCOPES },
        subjectField(form.scope, teams),
        ENDPOINT_FIELD,
        { name: 'period', label: 'Period (UTC)', kind: 'select', options: PERIODS },
        { name: 'amount', label: 'Amount (USD)', kind: 'number', min: 0, step: 'any', required: true },
        {
          name: 'mode',
          label: 'When reached',
          kind: 'select',
          options: [
            { value: 'hard', label: 'refuse requests (hard)' },
            { value: 'soft', label: 'alert only (soft)' },
          ],
        },
        { name: 'webhook', label: 'Alert webhook URL (optional)', kind: 'url', wide: true },
      ]}
      submit={editing ? 'Save budget' : 'Add budget'}
      onSubmit={submit}
      onCancel={editing ? onCancel : undefined}
    />
  );
}
