import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, ConsoleSettings, Me, must, setCredential } from '../api';
import { beginSignIn } from '../oidc';

/**
 * Sign-in: with the identity provider (authorization code + PKCE) when the gateway offers it, or with a
 * Gatehouse API key. `notice` says why the tab is here again (an ended session, a refused sign-in).
 */
export function SignInScreen({
  onSignedIn,
  notice,
}: {
  onSignedIn: (me: Me) => void;
  notice?: string | null;
}) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(notice ?? null);
  const [busy, setBusy] = useState(false);
  const [settings, setSettings] = useState<ConsoleSettings | null>(null);

  useEffect(() => {
    api
      .GET('/admin/v1/console/config')
      .then((r) => setSettings(must(r)))
      .catch(() => setSettings({ oidc: null }));
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setCredential(key.trim());
    try {
      onSignedIn(must(await api.GET('/admin/v1/me')));
    } catch (e) {
      setCredential(null);
      setError(e instanceof ApiError && e.status === 401 ? 'That API key was not accepted.' : String(e));
    } finally {
      setBusy(false);
    }
  };

  const oidc = settings?.oidc;
  const withProvider = async () => {
    if (!oidc) return;
    setBusy(true);
    setError(null);
    try {
      await beginSignIn(oidc);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <h1>Sign in to Gatehouse</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {oidc && (
        <section>
          <h2>Single sign-on</h2>
          <p>
            Sign in with your organisation's identity provider (<code>{new URL(oidc.issuer).host}</code>).
          </p>
          <button type="button" disabled={busy} onClick={() => void withProvider()}>
            Sign in with identity provider
          </button>
        </section>
      )}
      <section>
        <h2>Gatehouse API key</h2>
        <p>
          Use a Gatehouse API key. The first admin key is the one printed when the gateway first started (or
          the value of <code>GATEHOUSE_ADMIN_API_KEY</code>).
        </p>
        <form onSubmit={(e) => void submit(e)}>
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="api-key"
            type="password"
            autocomplete="off"
            required
            value={key}
            onInput={(e) => setKey(e.currentTarget.value)}
          />
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
      </section>
    </main>
  );
}
