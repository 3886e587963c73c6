import { expect, test, type Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { screenshot, screenshotsDir } from '../screenshot';
import { users } from '../users';

// The step-by-step demo at /demo: the built-in `tessera-demo` client (running on the
// server with the oauth2 crate) walks the authorization code flow through the real login
// and consent pages, and the page shows each of the ten steps with its messages (fifteen
// with the PAR and DPoP options).

async function signIn(page: Page) {
  await expect(page).toHaveURL(/\/login\?request=/);
  await expect(page.getByTestId('login-context')).toContainText('Tessera demo client');
  await page.locator('input[name=username]').fill(users.user.username);
  await page.locator('input[name=password]').fill(users.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const step = (page: Page, n: number) => page.getByTestId(`step-${n}`);

test('the demo runs the whole flow: ten steps done, API answer, ID token sub', async ({ page }, testInfo) => {
  await page.goto('/demo');
  for (let n = 1; n <= 10; n++) await expect(step(page, n)).toHaveAttribute('data-status', 'pending');
  await page.getByTestId('demo-start').click();

  await signIn(page);
  await expect(page).toHaveURL(/\/consent\?request=/);
  await expect(page.getByTestId('client-name')).toHaveText('Tessera demo client');
  await page.getByRole('button', { name: 'Allow' }).click();

  await expect(page).toHaveURL(/\/demo$/);
  for (let n = 1; n <= 10; n++) await expect(step(page, n)).toHaveAttribute('data-status', 'done');

  // The authorization URL with its parameters explained; the secret never shown.
  await expect(step(page, 2)).toContainText('code_challenge');
  await expect(step(page, 6)).toContainText('[client secret, hidden]');
  await expect(step(page, 6)).toContainText('grant_type=authorization_code');

  // The API's answer.
  await expect(step(page, 10)).toContainText('200 OK');
  await expect(step(page, 10)).toContainText('This came from the sample protected resource');

  // The decoded ID token names the signed-in user: the same `sub` the API answered with.
  const apiText = (await step(page, 10).locator('pre').first().textContent()) ?? '';
  const sub = JSON.parse(apiText.slice(apiText.indexOf('{'))).sub as string;
  expect(sub).toBeTruthy();
  const idToken = step(page, 8).locator('.message', { hasText: 'ID token' });
  await expect(idToken).toContainText(`"sub": "${sub}"`);
  await expect(idToken).toContainText('"aud": "tessera-demo"');
  const body = await page.content();
  expect(body).not.toContain('client_secret=');

  await screenshot(page, testInfo, 'demo-desktop.png');

  // After the run: refresh, revoke, and the API call that then fails.
  await page.getByTestId('demo-refresh').click();
  await expect(page.getByTestId('after-1')).toHaveAttribute('data-status', 'done');
  await page.getByTestId('demo-revoke').click();
  await expect(page.getByTestId('after-2')).toHaveAttribute('data-status', 'done');
  await page.getByTestId('demo-api').click();
  await expect(page.getByTestId('after-3')).toHaveAttribute('data-status', 'error');
  await expect(page.getByTestId('after-3')).toContainText('401');

  // Open every step's messages for the screenshots.
  for (const d of await page.locator('details.step-messages').all()) await d.evaluate((e) => e.setAttribute('open', ''));
  await screenshot(page, testInfo, 'demo-desktop-messages.png');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  for (let n = 1; n <= 10; n++) await expect(step(page, n)).toHaveAttribute('data-status', 'done');
  await screenshot(page, testInfo, 'demo-phone.png');
  const diagramShot = testInfo.outputPath('demo-phone-diagram.png');
  await page.getByTestId('diagram').screenshot({ path: diagramShot });
  fs.copyFileSync(diagramShot, path.join(screenshotsDir, 'demo-phone-diagram.png'));
});

test('Deny at consent comes back as access_denied', async ({ page }, testInfo) => {
  await page.goto('/demo');
  // The first test's consent is remembered; prompt=consent asks again.
  await page.locator('input[name=prompt_consent]').check();
  await page.getByTestId('demo-start').click();
  await signIn(page);
  await expect(page).toHaveURL(/\/consent\?request=/);
  await page.getByRole('button', { name: 'Deny' }).click();

  await expect(page).toHaveURL(/\/demo$/);
  await expect(step(page, 1)).toHaveAttribute('data-status', 'done');
  await expect(step(page, 2)).toHaveAttribute('data-status', 'done');
  await expect(step(page, 4)).toHaveAttribute('data-status', 'error');
  await expect(step(page, 5)).toHaveAttribute('data-status', 'error');
  await expect(step(page, 5)).toContainText('access_denied');
  for (let n = 6; n <= 10; n++) await expect(step(page, n)).toHaveAttribute('data-status', 'pending');
  await screenshot(page, testInfo, 'demo-deny.png');
});

test('a tampered state is caught by the client; without PKCE the server refuses', async ({ page }) => {
  await page.goto('/demo');
  await page.locator('input[name=tamper_state]').check();
  await page.getByTestId('demo-start').click();
  await signIn(page);
  await expect(page).toHaveURL(/\/demo$/);
  await expect(step(page, 5)).toHaveAttribute('data-status', 'error');
  await expect(step(page, 5)).toContainText('not the one the client stored');
  await expect(step(page, 6)).toHaveAttribute('data-status', 'pending');

  await page.locator('input[name=tamper_state]').uncheck();
  await page.locator('input[name=pkce]').uncheck();
  await page.getByTestId('demo-start').click();
  await expect(page).toHaveURL(/\/demo$/);
  await expect(step(page, 2)).toHaveAttribute('data-status', 'error');
  await expect(step(page, 2)).toContainText('code_challenge required');
});

test('PAR and DPoP add their steps: the pushed request, the proof, cnf.jkt, the refused Bearer use', async ({ page }) => {
  await page.goto('/demo');
  await page.locator('input[name=par]').check();
  await page.locator('input[name=dpop]').check();
  await page.getByTestId('demo-start').click();
  await signIn(page);
  // Consent given in an earlier test is remembered; allow if the server asks.
  await page.waitForURL(/\/(demo$|consent\?)/);
  if (page.url().includes('/consent')) await page.getByRole('button', { name: 'Allow' }).click();

  await expect(page).toHaveURL(/\/demo$/);
  for (let n = 1; n <= 15; n++) await expect(step(page, n)).toHaveAttribute('data-status', 'done');
  await expect(step(page, 16)).toHaveCount(0);
  await expect(page.locator('[data-step="push-request"]')).toContainText('POST /par');
  await expect(page.locator('[data-step="return-request-uri"]')).toContainText('urn:ietf:params:oauth:request_uri:');
  await expect(page.locator('[data-step="sign-proof"]')).toContainText('"typ": "dpop+jwt"');
  await expect(page.locator('[data-step="return-token"]')).toContainText('"token_type": "DPoP"');
  await expect(page.locator('[data-step="return-token"]')).toContainText('cnf.jkt');
  await expect(page.locator('[data-step="refuse-token"]')).toContainText('401');
  await expect(page.locator('[data-step="refuse-token"]')).toContainText('error="invalid_token"');
  await expect(page.locator('[data-step="return-data"]')).toContainText('200 OK');
});
