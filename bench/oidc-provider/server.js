// panva/node-oidc-provider configured like Tessera, for the side-by-side benchmark
// (scripts/bench.sh). Not a production configuration: in-memory store, keys generated at
// start, dev interactions (any login/password) for the code flow.
//
//   PORT=28082 node server.js
//
// Clients (both confidential, client_secret_basic, redirect URI http://127.0.0.1:9/cb):
//   bench-es256 / bench-secret   client_credentials access tokens are ES256 JWTs
//   bench-rs256 / bench-secret   client_credentials access tokens are RS256 JWTs
//   bench-dpop / bench-secret    as bench-es256, and every token request needs a DPoP proof
//                                (dpop_bound_access_tokens): DPoP-bound ES256 JWTs
//   bench-pkjwt                  client_credentials only, private_key_jwt with the public
//                                JWK Set in BENCH_CLIENT_JWKS (tessera-bench client-key)
// client_credentials with scope=api issues a JWT for the resource ISSUER/api (RFC 8707
// resource indicators with a default resource), like Tessera's `aud` = ISSUER/api.
// The authorization code flow (scope openid profile [offline_access]) issues opaque
// access tokens for userinfo, an RS256 ID token, and rotating refresh tokens.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 28082);
const host = '127.0.0.1';
const issuer = `http://${host}:${port}`;
const API = `${issuer}/api`;
const SECRET = process.env.BENCH_CLIENT_SECRET || 'bench-secret-0123456789abcdef0123456789abcdef';
const CLIENT_JWKS = process.env.BENCH_CLIENT_JWKS ? JSON.parse(process.env.BENCH_CLIENT_JWKS) : undefined;

function jwk(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, kid, use: 'sig' };
}

const keys = [
  // The first RS256 key signs ID tokens (default id_token_signed_response_alg RS256).
  jwk('rsa', { modulusLength: 2048 }, 'RS256', 'rs256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'es256'),
];

const client = (id) => ({
  client_id: id,
  client_secret: SECRET,
  redirect_uris: ['http://127.0.0.1:9/cb'],
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  scope: 'openid profile email offline_access api',
});

const clients = [
  client('bench-es256'),
  client('bench-rs256'),
  { ...client('bench-dpop'), dpop_bound_access_tokens: true },
];
if (CLIENT_JWKS) {
  clients.push({
    client_id: 'bench-pkjwt',
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: CLIENT_JWKS,
    scope: 'api',
  });
}

const wantsApi = (ctx) => String(ctx.oidc?.params?.scope ?? '').split(' ').includes('api');

const provider = new Provider(issuer, {
  clients,
  jwks: { keys },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: 'Bench User', preferred_username: sub, email: `${sub}@example.com`, email_verified: false };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    // On by default in oidc-provider 9; no nonces (as Tessera's default), replay checked
    // (its in-memory ReplayDetection).
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Only client_credentials asks for `api`; the code flow stays with userinfo tokens.
      defaultResource: (ctx, _client, oneOf) => oneOf || (wantsApi(ctx) ? API : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, _resource, c) => ({
        scope: 'api',
        audience: API,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: c.clientId === 'bench-rs256' ? 'RS256' : 'ES256' } },
      }),
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    ClientCredentials: 3600,
    IdToken: 3600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Session: 24 * 3600,
    Interaction: 600,
  },
});

// Quiet: the benchmark watches throughput, not logs.
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

const server = provider.listen(port, host, () => {
  console.error(`oidc-provider listening on ${issuer}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
