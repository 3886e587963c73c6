import { expect, test, type Page } from '@playwright/test';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { E2E_REDIRECT_URI } from '../global-setup';
import { dataDir } from '../playwright.config';
import { users } from '../users';

// The end user's own pages: "my account", "my apps" and taking a consent back. Signs in
// as e2e-user2, whom no other spec uses, so the order the files run in does not matter.

type Client = { client_id: string; client_secret: string };
const client = (): Client => JSON.parse(fs.readFileSync(path.join(dataDir, 'client.json'), 'utf8'));

function authorizeUrl(c: Client) {
  const challenge = crypto.createHash('sha256').update(crypto.randomBytes(32).toString('base64url')).digest('base64url');
  return (
    '/authorize?' +
    new URLSearchParams({
      response_type: 'code',
      client_id: c.client_id,
      redirect_uri: E2E_REDIRECT_URI,
      scope: 'openid profile email',
      state: crypto.randomBytes(12).toString('base64url'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
  );
}

async function captureCallback(page: Page) {
  const seen: { url?: URL } = {};
  await page.route(`${E2E_REDIRECT_URI}**`, (route) => {
    seen.url = new URL(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Client callback</h1>' });
  });
  return seen;
}

async function screenshot(page: Page, testInfo: import('@playwright/test').TestInfo, name: string) {
  const shot = testInfo.outputPath(name);
  await page.screenshot({ path: shot, fullPage: true });
  const dir = path.join(__dirname, '..', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(shot, path.join(dir, name));
}

test('consent to an app, see it under my apps, revoke it, get asked again', async ({ page }, testInfo) => {
  const c = client();
  const callback = await captureCallback(page);

  await page.goto(authorizeUrl(c));
  await expect(page).toHaveURL(/\/login\?request=/);
  await page.locator('input[name=username]').fill(users.user2.username);
  await page.locator('input[name=password]').fill(users.user2.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/consent\?request=/);
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect.poll(() => callback.url?.searchParams.get('code')).toBeTruthy();

  await page.goto('/account');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await expect(page.getByTestId('account-username')).toHaveText(users.user2.username);
  await screenshot(page, testInfo, 'account.png');

  await page.getByRole('main').getByRole('link', { name: 'My apps' }).click();
  await expect(page).toHaveURL(/\/account\/apps$/);
  const app = page.getByTestId('app').filter({ hasText: 'E2E App' });
  await expect(app).toBeVisible();
  await expect(app).toContainText('openid');
  await expect(app).toContainText('email');
  await expect(app).toContainText('Allowed on');
  await screenshot(page, testInfo, 'my-apps.png');

  await app.getByRole('button', { name: 'Revoke access for E2E App' }).click();
  await expect(page.getByTestId('revoked')).toContainText('E2E App');
  await expect(page.getByTestId('app').filter({ hasText: 'E2E App' })).toHaveCount(0);
  await screenshot(page, testInfo, 'my-apps-revoked.png');

  // Still signed in, so straight to the consent screen: the app must ask again.
  await page.goto(authorizeUrl(c));
  await expect(page).toHaveURL(/\/consent\?request=/);
  await expect(page.getByTestId('client-name')).toHaveText('E2E App');
});

test('repeated failed sign-ins are slowed down with a clear message', async ({ page }, testInfo) => {
  // An account nobody has: counts like a real one, and blocks nobody else.
  const name = `e2e-ghost-${crypto.randomBytes(4).toString('hex')}`;
  await page.goto('/login');
  for (let i = 1; i <= 5; i++) {
    await page.locator('input[name=username]').fill(name);
    await page.locator('input[name=password]').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/error=/);
    if (i < 5) await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
  }
  await expect(page).toHaveURL(/error=throttled&retry=\d+/);
  await expect(page.getByRole('alert')).toContainText(/Too many failed attempts\. Try again in \d+ seconds?\./);
  await screenshot(page, testInfo, 'login-throttled.png');
});

test('signed out, my account sends you to sign in first', async ({ page }) => {
  await page.goto('/account/apps');
  await expect(page).toHaveURL(/\/login\?next=\/account\/apps/);
});

test('change password says which field is wrong', async ({ page }, testInfo) => {
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login\?next=\/account/);
  await page.locator('input[name=username]').fill(users.user2.username);
  await page.locator('input[name=password]').fill(users.user2.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);

  await page.getByLabel('Current password').fill('not-my-password');
  await page.getByLabel('New password', { exact: true }).fill('a-new-password-1');
  await page.getByLabel('Confirm new password').fill('a-new-password-1');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/account\?pw=current/);
  const current = page.getByLabel('Current password');
  await expect(current).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#current_password-error')).toHaveText('That is not your current password.');
  await screenshot(page, testInfo, 'account-password-error.png');
});
