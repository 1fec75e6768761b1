import { useEffect, useState } from 'preact/hooks';
import { api, Body, Me, must, paths } from '../api';
import { explain } from './access';

type Limit = Body<'/admin/v1/limits', 'get'>[number];
type Budget = Body<'/admin/v1/budgets', 'get'>[number];
type BudgetStatus = Body<'/admin/v1/budgets/status', 'get'>[number];
type Team = Body<'/admin/v1/teams', 'get'>[number];
type LimitBody = NonNullable<paths['/admin/v1/limits']['post']['requestBody']>['content']['application/json'];
type BudgetBody = NonNullable<
  paths['/admin/v1/budgets']['post']['requestBody']
>['content']['application/json'];
type Message = { ok: boolean; text: string } | null;

const SCOPES = ['global', 'team', 'principal', 'key', 'endpoint'] as const;
const METRICS = ['requests', 'tokens', 'concurrency'] as const;
const PERIODS = ['daily', 'weekly', 'monthly'] as const;
const WINDOWS: Record<number, string> = { 1: 'second', 60: 'minute', 3600: 'hour', 86400: 'day' };

const usd = (n: number) => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2)}`;
const windowLabel = (seconds: number | null) =>
  seconds === null ? '—' : WINDOWS[seconds] ? `per ${WINDOWS[seconds]}` : `per ${seconds} s`;

function Status({ message, testid }: { message: Message; testid?: string }) {
  return message ? (
    <p role="status" class={message.ok ? 'ok' : 'error'} data-testid={testid}>
      {message.text}
    </p>
  ) : null;
}

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
function SubjectField(props: { scope: string; value: string; teams: Team[]; onChange: (v: string) => void }) {
  if (props.scope === 'global') return null;
  if (props.scope === 'team' && props.teams.length > 0)
    return (
      <label>
        Team
        <select name="subject" value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
          <option value="">Each team separately</option>
          {props.teams.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
    );
  return (
    <label>
      {props.scope === 'endpoint' ? 'Endpoint name' : `${props.scope} id`} (empty: each separately)
      <input name="subject" value={props.value} onInput={(e) => props.onChange(e.currentTarget.value)} />
    </label>
  );
}

interface FormProps<T> {
  editing: T | null;
  teams: Team[];
  onDone: (text: string) => void;
  onCancel: () => void;
}

function LimitForm({ editing, teams, onDone, onCancel }: FormProps<Limit>) {
  const [form, setForm] = useState({
    scope: editing?.scope ?? 'global',
    subject: editing?.subject ?? '',
    endpoint: editing?.endpoint ?? '',
    metric: editing?.metric ?? 'requests',
    windowSeconds: String(editing?.window_seconds ?? 60),
    limit: String(editing?.limit ?? ''),
  });
  const [message, setMessage] = useState<Message>(null);
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    const body: LimitBody = {
      scope: form.scope,
      subject: form.scope === 'global' ? null : form.subject.trim() || null,
      endpoint: form.endpoint.trim() || null,
      metric: form.metric,
      ...(form.metric === 'concurrency' ? {} : { window_seconds: Number(form.windowSeconds) }),
      limit: Number(form.limit),
    };
    try {
      const saved = editing
        ? must(await api.PUT('/admin/v1/limits/{id}', { params: { path: { id: editing.id } }, body }))
        : must(await api.POST('/admin/v1/limits', { body }));
      setMessage(null);
      onDone(`Limit ${editing ? 'saved' : 'added'}: ${saved.limit} ${saved.metric}.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="limit-form">
      <h3>{editing ? 'Edit limit' : 'Add a limit'}</h3>
      <div class="grid">
        <label>
          Applies to
          <select name="scope" value={form.scope} onChange={set('scope')}>
            {SCOPES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <SubjectField
          scope={form.scope}
          value={form.subject}
          teams={teams}
          onChange={(v) => setForm({ ...form, subject: v })}
        />
        <label>
          Only endpoint (empty: all)
          <input name="endpoint" value={form.endpoint} onInput={set('endpoint')} />
        </label>
        <label>
          Metric
          <select name="metric" value={form.metric} onChange={set('metric')}>
            {METRICS.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        {form.metric !== 'concurrency' && (
          <label>
            Window
            <select name="window" value={form.windowSeconds} onChange={set('windowSeconds')}>
              {Object.entries(WINDOWS).map(([seconds, name]) => (
                <option key={seconds} value={seconds}>
                  {name}
                </option>
              ))}
              {!WINDOWS[Number(form.windowSeconds)] && (
                <option value={form.windowSeconds}>{form.windowSeconds} s</option>
              )}
            </select>
          </label>
        )}
        <label>
          Limit
          <input
            name="limit"
            type="number"
            min={0}
            step={1}
            required
            value={form.limit}
            onInput={set('limit')}
          />
        </label>
      </div>
      <button type="submit">{editing ? 'Save limit' : 'Add limit'}</button>{' '}
      {editing && (
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      )}
      <Status message={message} />
    </form>
  );
}

function BudgetForm({ editing, teams, onDone, onCancel }: FormProps<Budget>) {
  const [form, setForm] = useState({
    name: editing?.name ?? '',
    scope: editing?.scope ?? 'global',
    subject: editing?.subject ?? '',
    endpoint: editing?.endpoint ?? '',
    period: editing?.period ?? 'monthly',
    amount: String(editing?.amount_usd ?? ''),
    mode: editing?.mode ?? 'hard',
    webhook: editing?.alert_webhook_url ?? '',
  });
  const [message, setMessage] = useState<Message>(null);
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (event: Event) => {
    event.preventDefault();
    const body: BudgetBody = {
      name: form.name.trim(),
      scope: form.scope,
      subject: form.scope === 'global' ? null : form.subject.trim() || null,
      endpoint: form.endpoint.trim() || null,
      period: form.period,
      amount_usd: Number(form.amount),
      mode: form.mode,
      alert_webhook_url: form.webhook.trim() || null,
    };
    try {
      const saved = editing
        ? must(await api.PUT('/admin/v1/budgets/{id}', { params: { path: { id: editing.id } }, body }))
        : must(await api.POST('/admin/v1/budgets', { body }));
      setMessage(null);
      onDone(`Budget ${saved.name} ${editing ? 'saved' : 'added'}.`);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <form class="panel" onSubmit={(e) => void submit(e)} data-testid="budget-form">
      <h3>{editing ? `Edit budget ${editing.name}` : 'Add a budget'}</h3>
      <div class="grid">
        <label>
          Budget name
          <input name="name" required value={form.name} onInput={set('name')} />
        </label>
        <label>
          Applies to
          <select name="scope" value={form.scope} onChange={set('scope')}>
            {SCOPES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <SubjectField
          scope={form.scope}
          value={form.subject}
          teams={teams}
          onChange={(v) => setForm({ ...form, subject: v })}
        />
        <label>
          Only endpoint (empty: all)
          <input name="endpoint" value={form.endpoint} onInput={set('endpoint')} />
        </label>
        <label>
          Period (UTC)
          <select name="period" value={form.period} onChange={set('period')}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label>
          Amount (USD)
          <input
            name="amount"
            type="number"
            min={0}
            step="any"
            required
            value={form.amount}
            onInput={set('amount')}
          />
        </label>
        <label>
          When reached
          <select name="mode" value={form.mode} onChange={set('mode')}>
            <option value="hard">refuse requests (hard)</option>
            <option value="soft">alert only (soft)</option>
          </select>
        </label>
        <label class="wide">
          Alert webhook URL (optional)
          <input name="webhook" type="url" value={form.webhook} onInput={set('webhook')} />
        </label>
      </div>
      <button type="submit">{editing ? 'Save budget' : 'Add budget'}</button>{' '}
      {editing && (
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      )}
      <Status message={message} />
    </form>
  );
}
