import { expect, test, type Page } from '@playwright/test';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { E2E_REDIRECT_URI } from '../global-setup';
import { baseURL, dataDir } from '../playwright.config';
import { users } from '../users';

// The authorization code flow in a real browser, through the real login and consent
// pages; the token exchange and the API call are made the way a confidential client's
// backend makes them.

type Client = { client_id: string; client_secret: string };
const client = (): Client => JSON.parse(fs.readFileSync(path.join(dataDir, 'client.json'), 'utf8'));

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(c: Client, state: string, challenge: string, extra: Record<string, string> = {}) {
  return (
    '/authorize?' +
    new URLSearchParams({
      ...extra,
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: E2E_REDIRECT_URI,
      scope: 'openid profile email',
      state,
      nonce: 'n-e2e-nonce',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
  );
}

/** Captures the browser's arrival at the client's redirect URI. */
async function captureCallback(page: Page) {
  const seen: { url?: URL } = {};
  await page.route(`${E2E_REDIRECT_URI}**`, (route) => {
    seen.url = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Client callback</h1>' });
  });
  return seen;
}

async function signIn(page: Page) {
  await expect(page).toHaveURL(/\/login\?request=/);
  await expect(page.getByTestId('login-context')).toContainText('E2E App');
  await page.locator('input[name=username]').fill(users.user.username);
  await page.locator('input[name=password]').fill(users.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/consent\?request=/);
}

test('authorization code flow: login, consent, code, token, API', async ({ page, request }, testInfo) => {
  const c = client();
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(12).toString('base64url');
  const callback = await captureCallback(page);

  await page.goto(authorizeUrl(c, state, challenge));
  await signIn(page);

  await expect(page.getByTestId('client-name')).toHaveText('E2E App');
  const scopes = page.getByTestId('scopes');
  await expect(scopes).toContainText('openid');
  await expect(scopes).toContainText('email');
  await expect(page.getByText(`Signed in as ${users.user.username}`)).toBeVisible();
  const shot = testInfo.outputPath('consent.png');
  await page.screenshot({ path: shot, fullPage: true });
  fs.mkdirSync(path.join(__dirname, '..', 'screenshots'), { recursive: true });
  fs.copyFileSync(shot, path.join(__dirname, '..', 'screenshots', 'consent.png'));

  await page.getByRole('button', { name: 'Allow' }).click();
  await expect.poll(() => callback.url?.searchParams.get('code')).toBeTruthy();
  const cb = callback.url!;
  expect(cb.searchParams.get('state')).toBe(state);
  expect(cb.searchParams.get('iss')).toBe(baseURL);

  // Steps 6-8: the client authenticates and exchanges the code with its PKCE verifier.
  const basic = Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
  const token = await request.post('/token', {
    headers: { Authorization: `Basic ${basic}` },
    form: {
      grant_type: 'authorization_code',
      code: cb.searchParams.get('code')!,
      redirect_uri: E2E_REDIRECT_URI,
      code_verifier: verifier,
    },
  });
  expect(token.status()).toBe(200);
  expect(token.headers()['cache-control']).toBe('no-store');
  const body = await token.json();
  expect(body.token_type).toBe('Bearer');
  const id = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  expect(id.nonce).toBe('n-e2e-nonce');
  expect(id.aud).toBe(c.client_id);

  // Steps 9-10: the API validates the token and answers for this user.
  const api = await request.get('/api/resource', { headers: { Authorization: `Bearer ${body.access_token}` } });
  expect(api.status()).toBe(200);
  const data = await api.json();
  expect(data.sub).toBe(id.sub);
  expect(data.client_id).toBe(c.client_id);

  // The code is single use.
  const replay = await request.post('/token', {
    headers: { Authorization: `Basic ${basic}` },
    form: { grant_type: 'authorization_code', code: cb.searchParams.get('code')!, redirect_uri: E2E_REDIRECT_URI, code_verifier: verifier },
  });
  expect(replay.status()).toBe(400);
  expect((await replay.json()).error).toBe('invalid_grant');
});

test('Deny sends access_denied back to the client with the state', async ({ page }) => {
  const c = client();
  const { challenge } = pkce();
  const callback = await captureCallback(page);
  // The first test's consent is remembered; prompt=consent asks again (OIDC Core §3.1.2.1).
  await page.goto(authorizeUrl(c, 'deny-state', challenge, { prompt: 'consent' }));
  await signIn(page);
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect.poll(() => callback.url?.searchParams.get('error')).toBe('access_denied');
  expect(callback.url!.searchParams.get('state')).toBe('deny-state');
  expect(callback.url!.searchParams.get('code')).toBeNull();
});
