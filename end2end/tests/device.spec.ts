import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { baseURL, databaseUrl, tesseraBin } from '../playwright.config';
import { users } from '../users';

// The device authorization grant (RFC 8628) end to end: this test is the device (it asks
// /device_authorization for codes and polls /token with plain HTTP), while Chromium is the
// user's phone: it opens verification_uri, types the user code, signs in through the real
// login page, reads the warning on the confirmation page and allows. The client is
// registered with the CLI, as an operator would.

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

function registerDeviceClient(): string {
  const out = execFileSync(
    tesseraBin,
    [
      '--database-url', databaseUrl, 'client', 'add',
      '--name', 'E2E TV',
      '--public',
      '--grant-type', DEVICE_GRANT,
      '--grant-type', 'refresh_token',
      '--scope', 'openid profile offline_access',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], timeout: 30_000 },
  );
  return JSON.parse(out.toString()).client_id as string;
}

async function form(path: string, body: Record<string, string>) {
  const res = await fetch(`${baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('device flow: the device polls while Chromium enters the code, signs in and allows', async ({ page }) => {
  const clientId = registerDeviceClient();
  const meta = (await (await fetch(`${baseURL}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  expect(meta.device_authorization_endpoint).toBe(`${baseURL}/device_authorization`);
  expect(meta.grant_types_supported).toContain(DEVICE_GRANT);

  // The device asks for codes.
  const started = await form('/device_authorization', { client_id: clientId, scope: 'openid profile offline_access' });
  expect(started.status).toBe(200);
  const userCode = started.body.user_code as string;
  const deviceCode = started.body.device_code as string;
  expect(userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  expect(started.body.verification_uri).toBe(`${baseURL}/device`);
  expect(started.body.verification_uri_complete).toBe(`${baseURL}/device?user_code=${userCode}`);
  expect(started.body.expires_in).toBe(600);
  expect(started.body.interval).toBe(5);

  const poll = () => form('/token', { grant_type: DEVICE_GRANT, client_id: clientId, device_code: deviceCode });
  // RFC 8628 §3.5, in order: pending, then (polling again at once) slow_down.
  const first = await poll();
  expect([first.status, first.body.error]).toEqual([400, 'authorization_pending']);
  const second = await poll();
  expect([second.status, second.body.error]).toEqual([400, 'slow_down']);

  // The user, on another device, opens verification_uri and types the code (lower case,
  // without the dash: compared without either).
  await page.goto(started.body.verification_uri as string);
  await expect(page.getByRole('heading', { name: 'Connect a device' })).toBeVisible();
  await page.locator('input[name=user_code]').fill(userCode.replace('-', '').toLowerCase());
  await page.getByRole('button', { name: 'Continue' }).click();

  // Signed out: the usual sign-in, which comes back to the confirmation.
  await expect(page).toHaveURL(/\/login\?next=%2Fdevice%2Fconfirm|\/login\?next=\/device\/confirm/);
  await page.locator('input[name=username]').fill(users.user.username);
  await page.locator('input[name=password]').fill(users.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/device\/confirm$/);
  await expect(page.getByTestId('client-name')).toHaveText('E2E TV');
  await expect(page.getByTestId('device-warning')).toContainText('Only continue if you started this yourself');
  await expect(page.getByTestId('scopes')).toContainText('offline_access');
  await expect(page.getByTestId('user-code-hint')).toHaveText(`${userCode.slice(0, 4)}-····`);

  // Still pending while the user reads (and the device keeps its interval: wait it out).
  await new Promise((r) => setTimeout(r, 10_500));
  const third = await poll();
  expect([third.status, third.body.error]).toEqual([400, 'authorization_pending']);

  await page.getByRole('button', { name: 'Allow' }).click();
  await expect(page).toHaveURL(/\/device\/done$/);
  await expect(page.getByRole('heading', { name: 'You can go back to your device' })).toBeVisible();

  // Approved: the tokens, once.
  const done = await poll();
  expect(done.status).toBe(200);
  expect(done.body.token_type).toBe('Bearer');
  expect(typeof done.body.access_token).toBe('string');
  expect(typeof done.body.refresh_token).toBe('string');
  expect(typeof done.body.id_token).toBe('string');
  const idClaims = JSON.parse(Buffer.from((done.body.id_token as string).split('.')[1], 'base64url').toString('utf8'));
  expect(idClaims.aud).toBe(clientId);
  expect(idClaims.iss).toBe(baseURL);
  const userinfo = await fetch(`${baseURL}/userinfo`, { headers: { authorization: `Bearer ${done.body.access_token}` } });
  expect(userinfo.status).toBe(200);
  expect(((await userinfo.json()) as Record<string, unknown>).preferred_username).toBe(users.user.username);

  const again = await poll();
  expect([again.status, again.body.error]).toEqual([400, 'invalid_grant']);
});

test('device flow: denied on the confirmation page, the device gets access_denied', async ({ page }) => {
  const clientId = registerDeviceClient();
  const started = await form('/device_authorization', { client_id: clientId, scope: 'openid' });
  expect(started.status).toBe(200);
  // verification_uri_complete: the code is filled in already.
  await page.goto(started.body.verification_uri_complete as string);
  await expect(page.locator('input[name=user_code]')).toHaveValue(started.body.user_code as string);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('input[name=username]').fill(users.user.username);
  await page.locator('input[name=password]').fill(users.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('device-warning')).toBeVisible();
  await page.getByRole('button', { name: 'Deny' }).click();
  await expect(page).toHaveURL(/\/device\/denied$/);
  const polled = await form('/token', {
    grant_type: DEVICE_GRANT,
    client_id: clientId,
    device_code: started.body.device_code as string,
  });
  expect([polled.status, polled.body.error]).toEqual([400, 'access_denied']);
});
