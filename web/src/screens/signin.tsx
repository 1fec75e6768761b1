import { useState } from 'preact/hooks';
import { api, ApiError, Me, must, setCredential } from '../api';

export function SignInScreen({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

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

  return (
    <main id="main" class="signin">
      <h1>Sign in to Gatehouse</h1>
      <p>
        Use a Gatehouse API key. The first admin key is the one printed when the gateway first started (or the
        value of <code>GATEHOUSE_ADMIN_API_KEY</code>).
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
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
