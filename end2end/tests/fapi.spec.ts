import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as client from 'openid-client';
import { E2E_REDIRECT_URI } from '../global-setup';
import { baseURL, databaseUrl, tesseraBin } from '../playwright.config';
import { users } from '../users';

// FAPI 2.0 end to end with a peer client: panva's openid-client 6 (nothing in it is ours)
// pushes the request (PAR, RFC 9126), authenticates with private_key_jwt (RFC 7523) and
// binds the tokens with DPoP (RFC 9449), while Chromium goes through Tessera's real login
// and consent pages. The keys are generated here; the client is registered with the CLI.

async function registerFapiClient(publicJwk: JsonWebKey & { kid: string }) {
  const out = execFileSync(
    tesseraBin,
    [
      '--database-url', databaseUrl, 'client', 'add',
      '--name', 'FAPI App',
      '--redirect-uri', E2E_REDIRECT_URI,
      '--token-endpoint-auth-method', 'private_key_jwt',
      '--jwks', JSON.stringify({ keys: [publicJwk] }),
      '--id-token-alg', 'PS256',
      '--fapi2',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], timeout: 30_000 },
  );
  return JSON.parse(out.toString()).client_id as string;
}

async function captureCallback(page: Page) {
  const seen: { url?: URL } = {};
  await page.route(`${E2E_REDIRECT_URI}**`, (route) => {
    seen.url = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Client callback</h1>' });
  });
  return seen;
}

test('FAPI 2.0 with openid-client: PAR, private_key_jwt, DPoP through the real pages', async ({ page, request }) => {
  // The client's signing key (its assertions) and, apart, its DPoP key.
  const { privateKey, publicKey } = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const jwk = { ...(await crypto.subtle.exportKey('jwk', publicKey)), kid: 'fapi-key-1', alg: 'ES256', use: 'sig' };
  const clientId = await registerFapiClient(jwk);

  const config = await client.discovery(
    new URL(baseURL),
    clientId,
    // FAPI 2.0 §5.4: the ID token comes signed with PS256 (the client registered it).
    { token_endpoint_auth_method: 'private_key_jwt', id_token_signed_response_alg: 'PS256' },
    client.PrivateKeyJwt({ key: privateKey, kid: 'fapi-key-1' }),
    { execute: [client.allowInsecureRequests] },
  );
  const meta = config.serverMetadata();
  expect(meta.pushed_authorization_request_endpoint).toBe(`${baseURL}/par`);
  expect(meta.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
  expect(meta.dpop_signing_alg_values_supported).toContain('ES256');

  const dpopKeys = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, dpopKeys);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authUrl = await client.buildAuthorizationUrlWithPAR(
    config,
    {
      redirect_uri: E2E_REDIRECT_URI,
      scope: 'openid profile offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    },
    { DPoP },
  );
  // Only client_id and the request_uri travel through the browser.
  expect([...authUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
  expect(authUrl.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);

  const callback = await captureCallback(page);
  await page.goto(authUrl.href);
  await expect(page).toHaveURL(/\/login\?request=/);
  await page.locator('input[name=username]').fill(users.user.username);
  await page.locator('input[name=password]').fill(users.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/consent\?request=/);
  await expect(page.getByTestId('client-name')).toHaveText('FAPI App');
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect.poll(() => callback.url?.searchParams.get('code')).toBeTruthy();

  // The code exchange: private_key_jwt + the DPoP proof (openid-client answers a
  // use_dpop_nonce challenge itself); it checks iss (RFC 9207), state and the ID token.
  const tokens = await client.authorizationCodeGrant(
    config,
    callback.url!,
    { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true },
    undefined,
    { DPoP },
  );
  expect(tokens.token_type.toLowerCase()).toBe('dpop');
  // RFC 9449 §6: the access token is bound to the DPoP key (RFC 7638 thumbprint, here
  // computed independently of both Tessera and openid-client).
  const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString('utf8'));
  const dpopJwk = await crypto.subtle.exportKey('jwk', dpopKeys.publicKey);
  const canonical = JSON.stringify({ crv: dpopJwk.crv, kty: dpopJwk.kty, x: dpopJwk.x, y: dpopJwk.y });
  const { createHash } = await import('node:crypto');
  expect(claims.cnf.jkt).toBe(createHash('sha256').update(canonical).digest('base64url'));
  const idHeader = JSON.parse(Buffer.from(tokens.id_token!.split('.')[0], 'base64url').toString('utf8'));
  expect(idHeader.alg).toBe('PS256');

  // The resource with the proof: 200. Without it (as a Bearer token): 401.
  const api = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${baseURL}/api/resource`), 'GET', null, undefined, { DPoP });
  expect(api.status).toBe(200);
  expect((await api.json()).client_id).toBe(clientId);
  const bare = await request.get('/api/resource', { headers: { Authorization: `Bearer ${tokens.access_token}` } });
  expect(bare.status()).toBe(401);
  expect(bare.headers()['www-authenticate']).toMatch(/^DPoP /);

  // Refresh: no rotation under FAPI 2.0 (§5.3.2.1): no new refresh token, and the same
  // one works again (with rotation a second use would be reuse). Still DPoP-bound.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
  expect(refreshed.token_type.toLowerCase()).toBe('dpop');
  expect(refreshed.access_token).not.toBe(tokens.access_token);
  expect(refreshed.refresh_token).toBeUndefined();
  const again = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
  expect(again.access_token).toBeTruthy();

  // A plain /authorize for this client is refused: PAR is required.
  const plain = await request.get(
    `/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: E2E_REDIRECT_URI, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' })}`,
    { maxRedirects: 0 },
  );
  expect(plain.status()).toBe(302);
  expect(new URL(plain.headers()['location']).searchParams.get('error')).toBe('invalid_request');
});
