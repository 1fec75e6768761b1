// A real OpenID provider (the OpenID Certified `oidc-provider` package) for the e2e tests, run in its
// own Node process because the package is ESM-only. It prints {"port":N} once listening. It has one
// confidential client with the client_credentials grant, issues JWT access tokens for one resource
// (the audience), and rotates its signing key on POST /__test/rotate-keys. With OIDC_SPA_CLIENT_ID it
// also has a public client (authorization code + PKCE, no secret) whose redirect URI is set by
// POST /__test/spa-redirect (the gateway's port is known only after the provider started); users sign
// in on the package's development login pages, where any login name is an account (its `sub`).
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const CLIENT_ID = process.env.OIDC_CLIENT_ID;
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET;
const AUDIENCE = process.env.OIDC_AUDIENCE;
const ROLES = (process.env.OIDC_TOKEN_ROLES ?? '').split(',').filter(Boolean);
const SPA_CLIENT_ID = process.env.OIDC_SPA_CLIENT_ID;
let spaRedirect;

let generation = 0;
function signingKey() {
  generation += 1;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `key-${generation}`, alg: 'RS256', use: 'sig' };
}

let keys = [signingKey()];
let handler;

function spaClients() {
  if (!SPA_CLIENT_ID || !spaRedirect) return [];
  return [
    {
      client_id: SPA_CLIENT_ID,
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [spaRedirect],
      scope: 'openid profile inference.invoke endpoints.read',
    },
  ];
}

function build(issuer) {
  const provider = new Provider(issuer, {
    clients: [
      ...spaClients(),
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'inference.invoke endpoints.read',
      },
    ],
    jwks: { keys },
    scopes: ['openid', 'profile', 'inference.invoke', 'endpoints.read'],
    // PKCE with S256 only, required for every authorization code (the default for public clients).
    pkce: { required: () => true },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, preferred_username: id }) }),
    features: {
      devInteractions: { enabled: Boolean(SPA_CLIENT_ID) },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== AUDIENCE) throw new errors.InvalidTarget();
          return {
            scope: 'inference.invoke endpoints.read',
            audience: AUDIENCE,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: () => (ROLES.length ? { roles: ROLES } : undefined),
  });
  return provider.callback();
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__test/rotate-keys') {
    // New key first (it signs); the previous one stays published so tokens already issued verify.
    keys = [signingKey(), keys[0]];
    handler = build(issuer());
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kid: keys[0].kid }));
    return;
  }
  if (req.method === 'POST' && req.url === '/__test/spa-redirect') {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      spaRedirect = JSON.parse(body).redirect_uri;
      handler = build(issuer());
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ client_id: SPA_CLIENT_ID, redirect_uri: spaRedirect }));
    });
    return;
  }
  handler(req, res);
});

function issuer() {
  return `http://127.0.0.1:${server.address().port}`;
}

server.listen(0, '127.0.0.1', () => {
  handler = build(issuer());
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
