import { useEffect, useState } from 'preact/hooks';
import { api, must, Subscription } from '../api';

export function ApprovalsScreen() {
  const [pending, setPending] = useState<Subscription[] | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/subscriptions', { params: { query: { status: 'pending' } } })
      .then((r) => setPending(must(r)))
      .catch((e: unknown) => setMessage({ ok: false, text: String(e) }));
  }, [tick]);

  const decide = async (s: Subscription, approve: boolean) => {
    try {
      const options = { params: { path: { id: s.id } }, body: {} };
      const decided = must(
        approve
          ? await api.POST('/admin/v1/subscriptions/{id}/approve', options)
          : await api.POST('/admin/v1/subscriptions/{id}/reject', options),
      );
      setMessage({ ok: true, text: `Request for ${decided.endpointPattern} ${decided.status}.` });
      setTick(tick + 1);
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };

  return (
    <section>
      <h1>Subscriptions awaiting approval</h1>
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      {pending && pending.length === 0 && <p>Nothing is waiting.</p>}
      <ul class="cards-list" data-testid="pending-list">
        {(pending ?? []).map((s) => (
          <li key={s.id} class="panel">
            <p>
              <strong>{s.endpointPattern}</strong> — requested {s.createdAt.slice(0, 16).replace('T', ' ')} by{' '}
              <code>{s.principalId}</code>
            </p>
            {s.reason && <p>{s.reason}</p>}
            <button type="button" onClick={() => void decide(s, true)}>
              Approve {s.endpointPattern}
            </button>{' '}
            <button type="button" class="danger" onClick={() => void decide(s, false)}>
              Reject {s.endpointPattern}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
