import { useEffect, useState } from 'preact/hooks';
import { api, Body, EndpointEntry, must } from '../api';
import { explain, Form } from '../form';

type Rollout = Body<'/admin/v1/rollouts', 'get'>[number];
type Arm = NonNullable<NonNullable<Rollout['last_evaluation']>['baseline']>;
type Action = 'pause' | 'resume' | 'abort';

/** How often the list is read again while the screen is open: a rollout's step and verdict move on their own. */
const REFRESH_MS = 5_000;

const percent = (rate: number | undefined) => (rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? '—' : `${Math.round(value)} ms`;
const arm = (a: Arm | undefined) =>
  a ? `${percent(a.error_rate)} errors of ${a.requests ?? 0}, p95 ${ms(a.p95_ms)}` : '—';

/**
 * Progressive rollouts, newest first, read again every few seconds: the step and canary share, the
 * judge's last comparison of canary and baseline (error rate, p95 latency) and its decision. With
 * `routing.write`: start one, pause, resume and abort (all traffic back to the baseline).
 */
export function RolloutsScreen({ canWrite }: { canWrite: boolean }) {
  const [rollouts, setRollouts] = useState<Rollout[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let stopped = false;
    const load = () =>
      api
        .GET('/admin/v1/rollouts')
        .then((r) => {
          if (stopped) return;
          setRollouts(must(r));
          setError(null);
        })
        .catch((e: unknown) => !stopped && setError(explain(e)));
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [tick]);

  const control = async (rollout: Rollout, action: Action) => {
    if (action === 'abort' && !confirm(`Abort the rollout of ${rollout.canary} on ${rollout.route}?`)) return;
    const path = `/admin/v1/rollouts/{id}/${action}` as const;
    try {
      const r = must(await api.POST(path, { params: { path: { id: rollout.id ?? '' } } }));
      setMessage({ ok: true, text: `Rollout on ${r.route}: ${r.state} at ${r.canary_percentage}% canary.` });
      setTick((t) => t + 1);
    } catch (e) {
      setMessage({ ok: false, text: explain(e) });
    }
  };

  return (
    <section>
      <h1>Rollouts</h1>
      <p>
        A route's traffic moving from a baseline to a canary step by step; the gateway advances, or rolls
        back, by comparing their error rates and p95 latency.
      </p>
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'} data-testid="rollouts-message">
          {message.text}
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="rollouts-table">
          <caption class="sr-only">Progressive rollouts, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Route</th>
              <th scope="col">Baseline → canary</th>
              <th scope="col">State</th>
              <th scope="col">Stage</th>
              <th scope="col">Baseline</th>
              <th scope="col">Canary</th>
              <th scope="col">Last decision</th>
              {canWrite && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {(rollouts ?? []).map((r) => {
              const evaluation = r.last_evaluation;
              const live = r.state === 'running' || r.state === 'paused';
              return (
                <tr key={r.id} data-rollout={r.id}>
                  <th scope="row">{r.route}</th>
                  <td>
                    {r.baseline} → {r.canary}
                  </td>
                  <td>
                    <span class={`badge ${r.state ?? ''}`}>{r.state?.replace('_', ' ')}</span>
                  </td>
                  <td data-testid="stage">
                    step {r.step} of {r.steps?.length ?? '?'} ({r.canary_percentage}% canary)
                  </td>
                  <td data-testid="baseline-arm">{arm(evaluation?.baseline)}</td>
                  <td data-testid="canary-arm">{arm(evaluation?.canary)}</td>
                  <td>
                    {evaluation
                      ? `${evaluation.decision}: ${evaluation.reason}`
                      : (r.reason ?? 'not judged yet')}
                  </td>
                  {canWrite && (
                    <td class="actions">
                      {r.state === 'running' && (
                        <button type="button" class="secondary" onClick={() => void control(r, 'pause')}>
                          Pause
                        </button>
                      )}
                      {r.state === 'paused' && (
                        <button type="button" onClick={() => void control(r, 'resume')}>
                          Resume
                        </button>
                      )}
                      {live && (
                        <button type="button" class="danger" onClick={() => void control(r, 'abort')}>
                          Abort
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {rollouts && rollouts.length === 0 && <p>No rollouts yet.</p>}
      {canWrite && (
        <StartRollout
          onDone={(text) => {
            setMessage({ ok: true, text });
            setTick((t) => t + 1);
          }}
        />
      )}
    </section>
  );
}

const numbers = (text: string) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);

/**
 * A new rollout (`POST /admin/v1/rollouts`): the route's traffic moves from the baseline endpoint to
 * the canary in the given steps, each held for a while and judged against the thresholds.
 */
function StartRollout({ onDone }: { onDone: (text: string) => void }) {
  const [endpoints, setEndpoints] = useState<EndpointEntry[]>([]);
  useEffect(() => {
    api
      .GET('/admin/v1/endpoints')
      .then((r) => setEndpoints(must(r)))
      .catch(() => setEndpoints([]));
  }, []);
  const choices = [
    { value: '', label: 'Choose an endpoint…' },
    ...endpoints.map((e) => e.name ?? '').filter(Boolean),
  ];
  return (
    <Form
      testid="start-rollout"
      title="Start a rollout"
      initial={{
        route: '',
        baseline: '',
        canary: '',
        steps: '5, 25, 50, 100',
        hold: '300',
        errorDelta: '5',
        latencyRatio: '1.5',
        slack: '10',
        minRequests: '20',
      }}
      fields={() => [
        { name: 'route', label: 'Route (an existing traffic route, or a new one)', required: true },
        { name: 'baseline', label: 'Baseline endpoint', kind: 'select', options: choices, required: true },
        { name: 'canary', label: 'Canary endpoint', kind: 'select', options: choices, required: true },
        { name: 'steps', label: 'Canary share per step, % (ending at 100)', required: true },
        {
          name: 'hold',
          label: 'Hold each step (seconds; one, or one per step)',
          required: true,
        },
        {
          name: 'errorDelta',
          label: 'Roll back when the canary errs more by (percentage points)',
          kind: 'number',
          min: 0,
          max: 100,
          step: 'any',
          required: true,
        },
        {
          name: 'latencyRatio',
          label: 'Roll back when canary p95 exceeds baseline p95 times',
          kind: 'number',
          min: 1,
          step: 'any',
          required: true,
        },
        {
          name: 'slack',
          label: 'p95 latency slack (ms)',
          kind: 'number',
          min: 0,
          step: 'any',
          required: true,
        },
        {
          name: 'minRequests',
          label: 'Judge after at least (requests per side)',
          kind: 'number',
          min: 1,
          step: 1,
          required: true,
        },
      ]}
      submit="Start rollout"
      resetOnSuccess
      onSubmit={async (form) => {
        const hold = numbers(form.hold);
        const started = must(
          await api.POST('/admin/v1/rollouts', {
            body: {
              route: form.route.trim(),
              baseline: form.baseline,
              canary: form.canary,
              steps: numbers(form.steps),
              hold_seconds: hold.length === 1 ? hold[0] : hold,
              max_error_rate_delta: Number(form.errorDelta) / 100,
              max_p95_latency_ratio: Number(form.latencyRatio),
              p95_latency_slack_ms: Number(form.slack),
              min_requests: Number(form.minRequests),
            },
          }),
        );
        onDone(
          `Rollout on ${started.route} started: ${started.baseline} → ${started.canary}, step 1 of ${started.steps?.length} (${started.canary_percentage}% canary).`,
        );
      }}
    />
  );
}
