import { useEffect, useState } from 'preact/hooks';
import { api, Body, must } from '../api';

type Key = Body<'/admin/v1/keys', 'get'>[number];

export function KeysScreen() {
  const [keys, setKeys] = useState<Key[]>([]);
  const [name, setName] = useState('');
  const [minted, setMinted] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/keys')
      .then((r) => setKeys(must(r)))
      .catch((e: unknown) => setError(String(e)));
  }, [tick]);

  const mint = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const created = must(
        await api.POST('/admin/v1/keys', { body: { name, expiresInSeconds: 90 * 86_400 } }),
      );
      setMinted(created.key);
      setName('');
      setTick(tick + 1);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const revoke = async (id: string) => {
    try {
      must(await api.POST('/admin/v1/keys/{id}/revoke', { params: { path: { id } } }));
      setTick(tick + 1);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section>
      <h1>My API keys</h1>
      <form class="panel" onSubmit={(e) => void mint(e)}>
        <label for="key-name">Key name</label>
        <input id="key-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit">Mint key</button>
      </form>
      {minted && (
        <div class="panel" role="status">
          <p>Your new key (shown once; copy it now):</p>
          <code data-testid="minted-key" class="secret">
            {minted}
          </code>
        </div>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <th scope="row">{k.name}</th>
                <td>
                  <code>{k.prefix}</code>
                </td>
                <td>{k.expiresAt?.slice(0, 10) ?? 'never'}</td>
                <td>{k.revokedAt ? 'revoked' : 'active'}</td>
                <td>
                  {!k.revokedAt && (
                    <button type="button" class="danger" onClick={() => void revoke(k.id)}>
                      Revoke {k.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
