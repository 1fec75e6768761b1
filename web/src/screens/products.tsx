import { useEffect, useState } from 'preact/hooks';
import { api, EndpointEntry, must, Product } from '../api';

const STATE_HELP: Record<string, string> = {
  draft: 'Visible to its owners only',
  published: 'In the portal, open to subscriptions',
  deprecated: 'Still served, with Deprecation and Sunset headers',
  retired: 'Calls answer 410; grants have lapsed',
};

export function ProductsScreen() {
  const [products, setProducts] = useState<Product[] | null>(null);
  const [endpoints, setEndpoints] = useState<EndpointEntry[]>([]);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api
      .GET('/admin/v1/products')
      .then((r) => setProducts(must(r)))
      .catch((e: unknown) => setMessage({ ok: false, text: String(e) }));
    api
      .GET('/admin/v1/endpoints')
      .then((r) => setEndpoints(must(r)))
      .catch(() => setEndpoints([]));
  }, [tick]);

  const act = async (what: string, run: () => Promise<Product>) => {
    try {
      const p = await run();
      setMessage({ ok: true, text: `${p.title}: ${what} (now ${p.state}, revision ${p.revision}).` });
      setTick(tick + 1);
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  const path = (name: string) => ({ params: { path: { name } } });

  return (
    <section>
      <h1>API products</h1>
      <p>Offer an endpoint in the developer portal: draft → published → deprecated → retired.</p>
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      <div class="table-wrap">
        <table data-testid="products-table">
          <caption class="sr-only">API products</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Endpoint</th>
              <th scope="col">State</th>
              <th scope="col">Sunset</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(products ?? []).map((p) => (
              <tr key={p.name} data-product={p.name}>
                <th scope="row">
                  {p.title} <small>({p.name})</small>
                </th>
                <td>{p.endpoint}</td>
                <td>
                  <span class={`badge ${p.state}`} title={STATE_HELP[p.state]}>
                    {p.state}
                  </span>
                </td>
                <td>{p.sunsetAt ? p.sunsetAt.slice(0, 10) : '—'}</td>
                <td class="actions">
                  {(p.state === 'draft' || p.state === 'deprecated') && (
                    <button
                      type="button"
                      onClick={() =>
                        void act('published', async () =>
                          must(await api.POST('/admin/v1/products/{name}/publish', path(p.name))),
                        )
                      }
                    >
                      Publish {p.name}
                    </button>
                  )}
                  {p.state === 'published' && <Deprecate product={p} onDone={act} />}
                  {(p.state === 'published' || p.state === 'deprecated') && (
                    <button
                      type="button"
                      class="danger"
                      onClick={() =>
                        confirm(`Retire ${p.title}? Calls will answer 410 and its grants lapse.`) &&
                        void act('retired', async () =>
                          must(await api.POST('/admin/v1/products/{name}/retire', path(p.name))),
                        )
                      }
                    >
                      Retire {p.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <CreateProduct endpoints={endpoints} onDone={act} />
    </section>
  );
}

type Act = (what: string, run: () => Promise<Product>) => Promise<void>;

function Deprecate({ product, onDone }: { product: Product; onDone: Act }) {
  const inMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const [sunset, setSunset] = useState(inMonth);
  const id = `sunset-${product.name}`;
  return (
    <span class="inline">
      <label for={id}>Sunset of {product.name}</label>
      <input id={id} type="date" value={sunset} onInput={(e) => setSunset(e.currentTarget.value)} />
      <button
        type="button"
        onClick={() =>
          void onDone('deprecated', async () =>
            must(
              await api.POST('/admin/v1/products/{name}/deprecate', {
                params: { path: { name: product.name } },
                body: { sunset },
              }),
            ),
          )
        }
      >
        Deprecate {product.name}
      </button>
    </span>
  );
}

function CreateProduct({ endpoints, onDone }: { endpoints: EndpointEntry[]; onDone: Act }) {
  const [form, setForm] = useState({
    name: '',
    title: '',
    description: '',
    endpoint: '',
    limits: '',
    price: '',
  });
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = (event: Event) => {
    event.preventDefault();
    void onDone('created as a draft', async () =>
      must(
        await api.POST('/admin/v1/products', {
          body: {
            name: form.name,
            title: form.title,
            description: form.description,
            endpoint: form.endpoint || endpoints[0]?.name || '',
            limits: form.limits || null,
            pricePer1kTokensUsd: form.price === '' ? null : Number(form.price),
          },
        }),
      ),
    );
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="create-product">
      <h2>New API product</h2>
      <div class="grid">
        <label>
          Name (URL slug)
          <input name="name" required pattern="[a-z0-9][a-z0-9-]*" value={form.name} onInput={set('name')} />
        </label>
        <label>
          Title
          <input name="title" required value={form.title} onInput={set('title')} />
        </label>
        <label>
          Endpoint
          <select name="endpoint" value={form.endpoint} onChange={set('endpoint')}>
            {endpoints.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Limits (shown to subscribers)
          <input name="limits" value={form.limits} onInput={set('limits')} />
        </label>
        <label>
          Price per 1k tokens (USD)
          <input name="price" type="number" min="0" step="any" value={form.price} onInput={set('price')} />
        </label>
        <label class="wide">
          Description
          <textarea name="description" rows={3} value={form.description} onInput={set('description')} />
        </label>
      </div>
      <button type="submit">Create draft</button>
    </form>
  );
}
