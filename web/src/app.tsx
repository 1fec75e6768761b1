import type { ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, hasCredential, Me, must, onCredentialRejected, setCredential } from './api';
import { completeSignIn, isCallback } from './oidc';
import { AccessScreen } from './screens/access';
import { ApprovalsScreen } from './screens/approvals';
import { AuditScreen } from './screens/audit';
import { DashboardScreen } from './screens/dashboard';
import { EndpointsScreen } from './screens/endpoints';
import { KeysScreen } from './screens/keys';
import { PortalScreen } from './screens/portal';
import { ProductsScreen } from './screens/products';
import { SignInScreen } from './screens/signin';

/**
 * The operations screens (limits, rollouts, guardrails, cache, prompts, models) stay out of the first
 * load, which every identity pays for: each arrives from /ui/assets when it is first opened.
 */
function lazyScreen<P extends object>(load: () => Promise<ComponentType<P>>) {
  return function LazyScreen(props: P) {
    const [screen, setScreen] = useState<ComponentType<P> | null>(null);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      load()
        .then((s) => setScreen(() => s))
        .catch(() => setFailed(true));
    }, []);
    if (failed) return <p role="alert">This screen could not be loaded; reload the page.</p>;
    const Screen = screen;
    return Screen ? <Screen {...props} /> : <p class="loading">Loading…</p>;
  };
}

const LimitsScreen = lazyScreen(() => import('./screens/limits').then((m) => m.LimitsScreen));
const RolloutsScreen = lazyScreen(() => import('./screens/rollouts').then((m) => m.RolloutsScreen));
const GuardrailsScreen = lazyScreen(() => import('./screens/guardrails').then((m) => m.GuardrailsScreen));
const CacheScreen = lazyScreen(() => import('./screens/cache').then((m) => m.CacheScreen));
const PromptsScreen = lazyScreen(() => import('./screens/prompts').then((m) => m.PromptsScreen));
const RegistryScreen = lazyScreen(() => import('./screens/registry').then((m) => m.RegistryScreen));

/** A screen of the console: who may open it is the permission the admin API asks for its data. */
interface Screen {
  path: string;
  label: string;
  permission: string;
  render: (me: Me, arg: string | undefined) => preact.JSX.Element;
}

const SCREENS: Screen[] = [
  { path: 'dashboard', label: 'Dashboard', permission: 'billing.read', render: () => <DashboardScreen /> },
  {
    path: 'endpoints',
    label: 'Endpoints',
    permission: 'routing.read',
    render: (me) => <EndpointsScreen canWrite={me.permissions.includes('routing.write')} />,
  },
  {
    path: 'config',
    label: 'Routing config',
    permission: 'routing.read',
    render: (me) => <ConfigScreenLazy canWrite={me.permissions.includes('routing.write')} />,
  },
  {
    path: 'rollouts',
    label: 'Rollouts',
    permission: 'routing.read',
    render: (me) => <RolloutsScreen canWrite={me.permissions.includes('routing.write')} />,
  },
  {
    path: 'prompts',
    label: 'Prompts',
    permission: 'prompts.read',
    render: (me, arg) => <PromptsScreen canWrite={me.permissions.includes('prompts.write')} selected={arg} />,
  },
  {
    path: 'models',
    label: 'Models',
    permission: 'registry.read',
    render: (me, arg) => <RegistryScreen canSync={me.permissions.includes('registry.sync')} selected={arg} />,
  },
  { path: 'products', label: 'API products', permission: 'routing.write', render: () => <ProductsScreen /> },
  {
    path: 'portal',
    label: 'Portal',
    permission: 'self.read',
    render: (me, arg) => <PortalScreen me={me} selected={arg} />,
  },
  { path: 'keys', label: 'My keys', permission: 'keys.self', render: () => <KeysScreen /> },
  {
    path: 'approvals',
    label: 'Approvals',
    permission: 'subscriptions.decide',
    render: () => <ApprovalsScreen />,
  },
  {
    path: 'limits',
    label: 'Limits and budgets',
    permission: 'billing.read',
    render: (me) => <LimitsScreen me={me} />,
  },
  {
    path: 'guardrails',
    label: 'Guardrails',
    permission: 'moderation.admin',
    render: () => <GuardrailsScreen />,
  },
  { path: 'cache', label: 'Cache', permission: 'cache.admin', render: (me) => <CacheScreen me={me} /> },
  {
    path: 'access',
    label: 'Access',
    permission: 'principals.read',
    render: (me) => <AccessScreen me={me} />,
  },
  { path: 'audit', label: 'Audit log', permission: 'audit.read', render: (me) => <AuditScreen me={me} /> },
];

/** The config editor brings a YAML parser and a diff: loaded (from /ui/assets) only when opened. */
function ConfigScreenLazy({ canWrite }: { canWrite: boolean }) {
  const [screen, setScreen] = useState<typeof import('./screens/config').ConfigScreen | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    import('./screens/config').then((m) => setScreen(() => m.ConfigScreen)).catch(() => setFailed(true));
  }, []);
  if (failed) return <p role="alert">The editor could not be loaded; reload the page.</p>;
  const Screen = screen;
  return Screen ? <Screen canWrite={canWrite} /> : <p class="loading">Loading…</p>;
}

function currentRoute(): { path: string; arg: string | undefined } {
  const [path, arg] = location.hash.replace(/^#\/?/, '').split('/');
  return { path: path || '', arg: arg ? decodeURIComponent(arg) : undefined };
}

export function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(hasCredential() || isCallback());
  const [notice, setNotice] = useState<string | null>(null);
  const [route, setRoute] = useState(currentRoute());
  const signedIn = useRef(false);
  signedIn.current = me !== null;

  // The API stopped accepting the credential (an access token expired, a key was revoked): sign out.
  useEffect(
    () =>
      onCredentialRejected(() => {
        if (!signedIn.current) return;
        setMe(null);
        setNotice('Your session has ended. Please sign in again.');
      }),
    [],
  );

  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // Back from the identity provider: exchange the code. Otherwise a credential kept from earlier in
  // this tab is checked again (it may have expired or been revoked).
  useEffect(() => {
    if (!isCallback() && !hasCredential()) return;
    const credential = isCallback() ? completeSignIn().then(setCredential) : Promise.resolve();
    credential
      .then(() => api.GET('/admin/v1/me'))
      .then((r) => setMe(must(r)))
      .catch((e: unknown) => {
        setCredential(null);
        if (e instanceof ApiError && e.status === 403)
          setNotice(`The identity provider signed you in, but Gatehouse refused this identity: ${e.message}`);
        else if (e instanceof ApiError && e.status === 401)
          setNotice('Your session has ended. Please sign in again.');
        else if (e instanceof Error && e.message) setNotice(e.message);
      })
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p class="loading">Loading…</p>;
  if (!me)
    return (
      <SignInScreen
        notice={notice}
        onSignedIn={(m) => {
          setNotice(null);
          setMe(m);
        }}
      />
    );

  const allowed = SCREENS.filter((s) => me.permissions.includes(s.permission));
  const screen = SCREENS.find((s) => s.path === route.path);
  const fallback = allowed[0];
  if (!screen && fallback) {
    location.hash = `#/${fallback.path}`;
    return null;
  }
  const signOut = () => {
    setCredential(null);
    setMe(null);
    location.hash = '';
  };
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">Gatehouse</span>
        <nav aria-label="Main">
          <ul>
            {allowed.map((s) => (
              <li key={s.path}>
                <a href={`#/${s.path}`} aria-current={s.path === route.path ? 'page' : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who" data-testid="who">
          {me.name} <small>({me.roles.join(', ') || 'no role'})</small>
        </span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">
        {screen && me.permissions.includes(screen.permission) ? (
          screen.render(me, route.arg)
        ) : (
          <section>
            <h1>Not available</h1>
            <p role="alert" data-testid="forbidden">
              Your role does not give access to this screen.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}
