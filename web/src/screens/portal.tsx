import { useEffect, useState } from 'preact/hooks';
import { api, Me, must, Product, Subscription } from '../api';

export function PortalScreen({ me, selected }: { me: Me; selected: string | undefined }) {
  const [products, setProducts] = useState<Product[] | null>(null);
  const [subscriptions, setSubscriptions] = useState<Subscription[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const canSubscribe = me.permissions.includes('subscriptions.request');

  useEffect(() => {
    api
      .GET('/admin/v1/catalogue')
      .then((r) => setProducts(must(r)))
      .catch((e: unknown) => setError(String(e)));
    if (me.permissions.includes('subscriptions.read')) {
      api
        .GET('/admin/v1/subscriptions', { params: { query: {} } })
        .then((r) => setSubscriptions(must(r).filter((s) => s.principalId === me.id)))
        .catch(() => setSubscriptions([]));
    }
  }, [tick, me]);

  const product = products?.find((p) => p.name === selected);
  return (
    <section>
      <h1>Developer portal</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="portal">
        <nav aria-label="API catalogue" class="catalogue">
          <h2>Catalogue</h2>
          {products && products.length === 0 && <p>No API products are published yet.</p>}
          <ul>
            {(products ?? []).map((p) => (
              <li key={p.name}>
                <a
                  href={`#/portal/${encodeURIComponent(p.name)}`}
                  aria-current={p.name === selected ? 'page' : undefined}
                >
                  {p.title}
                </a>{' '}
                <span class={`badge ${p.state}`}>{p.state}</span>
              </li>
            ))}
          </ul>
        </nav>
        <div class="detail">
          {product ? (
            <ProductDetail
              product={product}
              subscription={subscriptions.find((s) => s.endpointPattern === product.endpoint)}
              canSubscribe={canSubscribe}
              onSubscribed={() => setTick(tick + 1)}
            />
          ) : (
            <p>Choose an API product to read its documentation.</p>
          )}
        </div>
      </div>
    </section>
  );
}

function ProductDetail(props: {
  product: Product;
  subscription: Subscription | undefined;
  canSubscribe: boolean;
  onSubscribed: () => void;
}) {
  const { product, subscription } = props;
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [spec, setSpec] = useState<string | null>(null);

  const subscribe = async (event: Event) => {
    event.preventDefault();
    try {
      const s = must(
        await api.POST('/admin/v1/catalogue/{name}/subscriptions', {
          params: { path: { name: product.name } },
          body: { reason },
        }),
      );
      setMessage({ ok: true, text: `Subscription requested (${s.status}); an admin will decide.` });
      props.onSubscribed();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  const loadSpec = async () => {
    const doc = must(
      await api.GET('/admin/v1/catalogue/{name}/openapi.json', { params: { path: { name: product.name } } }),
    );
    setSpec(JSON.stringify(doc, null, 2));
  };

  const base = location.origin;
  const examples = exampleCode(base, product);
  return (
    <article data-testid="product-detail">
      <h2>{product.title}</h2>
      {product.state === 'deprecated' && (
        <p role="alert" class="warning" data-testid="deprecation-warning">
          Deprecated: this API stops answering on {product.sunsetAt?.slice(0, 10)}.{' '}
          {product.deprecationNote ?? ''}
        </p>
      )}
      <p>{product.description}</p>
      <dl class="facts">
        <dt>Endpoint</dt>
        <dd>
          <code>{product.endpoint}</code> ({product.endpointType})
        </dd>
        <dt>Owner team</dt>
        <dd>{product.teamId ?? 'Gateway admins'}</dd>
        <dt>Limits</dt>
        <dd>{product.limits ?? 'Gateway defaults'}</dd>
        <dt>Price per 1k tokens</dt>
        <dd>{product.pricePer1kTokensUsd === null ? 'Not priced' : `USD ${product.pricePer1kTokensUsd}`}</dd>
        <dt>Your access</dt>
        <dd data-testid="subscription-status">{subscription ? subscription.status : 'not subscribed'}</dd>
      </dl>
      {props.canSubscribe &&
        product.state === 'published' &&
        (!subscription || subscription.status === 'rejected') && (
          <form class="panel" onSubmit={(e) => void subscribe(e)}>
            <label for="reason">Why do you need it?</label>
            <input id="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            <button type="submit">Subscribe to {product.name}</button>
          </form>
        )}
      {message && (
        <p role="status" class={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      <h3>Examples</h3>
      {examples.map((ex) => (
        <div class="example" key={ex.label}>
          <div class="example-head">
            <span>{ex.label}</span>
            <button
              type="button"
              class="secondary"
              onClick={() => void navigator.clipboard?.writeText(ex.code)}
            >
              Copy {ex.label}
            </button>
          </div>
          <pre tabIndex={0}>
            <code>{ex.code}</code>
          </pre>
        </div>
      ))}
      <h3>OpenAPI</h3>
      {spec ? (
        <pre tabIndex={0} data-testid="product-openapi">
          <code>{spec}</code>
        </pre>
      ) : (
        <button type="button" class="secondary" onClick={() => void loadSpec()}>
          Show the OpenAPI document
        </button>
      )}
    </article>
  );
}

function exampleCode(base: string, p: Product): { label: string; code: string }[] {
  const chat = p.endpointType === 'llm/v1/chat';
  const body = chat
    ? `{"model": "${p.endpoint}", "messages": [{"role": "user", "content": "Hello!"}]}`
    : p.endpointType === 'llm/v1/embeddings'
      ? `{"model": "${p.endpoint}", "input": "Hello!"}`
      : `{"model": "${p.endpoint}", "prompt": "Hello!"}`;
  const path = chat
    ? 'chat/completions'
    : p.endpointType === 'llm/v1/embeddings'
      ? 'embeddings'
      : 'completions';
  return [
    {
      label: 'curl',
      code: `curl ${base}/v1/${path} \\\n  -H "Authorization: Bearer $GATEHOUSE_API_KEY" \\\n  -H "Content-Type: application/json" \\\n  -d '${body}'`,
    },
    {
      label: 'OpenAI Python',
      code: `import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="${base}/v1", api_key=os.environ["GATEHOUSE_API_KEY"])\nprint(client.chat.completions.create(model="${p.endpoint}", messages=[{"role": "user", "content": "Hello!"}]))`,
    },
    {
      label: 'OpenAI Node',
      code: `import OpenAI from 'openai';\n\nconst client = new OpenAI({ baseURL: '${base}/v1', apiKey: process.env.GATEHOUSE_API_KEY });\nconsole.log(await client.chat.completions.create({ model: '${p.endpoint}', messages: [{ role: 'user', content: 'Hello!' }] }));`,
    },
    {
      label: 'MLflow client',
      code: `# export MLFLOW_TRACKING_TOKEN=$GATEHOUSE_API_KEY\nfrom mlflow.deployments import get_deploy_client\n\nclient = get_deploy_client("${base}")\nprint(client.predict(endpoint="${p.endpoint}", inputs={"messages": [{"role": "user", "content": "Hello!"}]}))`,
    },
  ];
}
