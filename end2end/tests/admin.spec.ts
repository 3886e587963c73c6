import { expect, test, type Page, type TestInfo } from '@playwright/test';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { users } from '../users';

// The admin console: what an administrator does in the browser, and a non-admin being
// refused. Names get a random suffix, so reruns on one database do not collide.

async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const shot = testInfo.outputPath(name);
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach(name, { path: shot, contentType: 'image/png' });
  const dir = path.join(__dirname, '..', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(shot, path.join(dir, name));
}

async function signInAt(page: Page, target: string, who: { username: string; password: string }) {
  await page.goto(target);
  await expect(page).toHaveURL(new RegExp(`/login\\?next=${target.replace(/\//g, '\\/')}`));
  await page.locator('input[name=username]').fill(who.username);
  await page.locator('input[name=password]').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${target}$`));
}

const suffix = () => crypto.randomBytes(3).toString('hex');

test('an admin creates a client, sees its secret once, and edits its redirect URIs', async ({ page }, testInfo) => {
  const name = `Shop ${suffix()}`;
  await signInAt(page, '/admin', users.admin);
  await expect(page.getByRole('heading', { name: 'Admin console' })).toBeVisible();
  await screenshot(page, testInfo, 'admin-overview.png');

  await page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Clients' }).click();
  await expect(page).toHaveURL(/\/admin\/clients$/);
  await page.getByRole('link', { name: 'New client' }).click();
  await expect(page).toHaveURL(/\/admin\/clients\/new$/);

  // A redirect URI with a fragment: refused, with the message next to the field.
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Redirect URIs').fill('https://shop.example/callback#top');
  await page.getByRole('button', { name: 'Create client' }).click();
  await expect(page).toHaveURL(/\/admin\/clients\/new$/);
  await expect(page.locator('#redirect_uris-error')).toContainText('must not contain a fragment');
  await expect(page.getByLabel('Redirect URIs')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await screenshot(page, testInfo, 'admin-client-errors.png');

  await page.getByLabel('Redirect URIs').fill('https://shop.example/callback');
  await page.getByRole('button', { name: 'Create client' }).click();
  await expect(page).toHaveURL(/\/admin\/clients\/[A-Za-z0-9_-]+$/);
  await expect(page.getByTestId('notice')).toContainText('was created');
  const secret = page.getByTestId('client-secret');
  await expect(secret).toHaveValue(/^[A-Za-z0-9_-]{40,}$/);
  const value = await secret.inputValue();
  expect(page.url()).not.toContain(value);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  await screenshot(page, testInfo, 'admin-client-created.png');

  // Shown once: a reload has no secret.
  await page.reload();
  await expect(page.getByTestId('client-title')).toHaveText(name);
  await expect(page.getByTestId('client-secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(value);

  await page.getByLabel('Redirect URIs').fill('https://shop.example/callback\nhttp://127.0.0.1:8080/callback');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Changes saved.');
  await expect(page.getByLabel('Redirect URIs')).toHaveValue(
    'https://shop.example/callback\nhttp://127.0.0.1:8080/callback',
  );
  await screenshot(page, testInfo, 'admin-client-edited.png');

  await page.getByRole('navigation', { name: 'Admin console' }).getByRole('link', { name: 'Clients' }).click();
  const row = page.getByTestId('client-row').filter({ hasText: name });
  await expect(row).toContainText('http://127.0.0.1:8080/callback');
  await expect(row).toContainText('Confidential');
  await screenshot(page, testInfo, 'admin-clients.png');
});

test('an admin creates a scope', async ({ page }, testInfo) => {
  const name = `reports:${suffix()}`;
  await signInAt(page, '/admin/scopes', users.admin);
  await expect(page.getByTestId('scope-row').filter({ hasText: 'openid' })).toContainText('Built-in');
  const form = page.getByTestId('scope-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Consent text').fill('Read your monthly reports');
  await page.getByRole('button', { name: 'Create scope' }).click();
  await expect(page.getByTestId('notice')).toContainText('was created');
  const row = page.getByTestId('scope-row').filter({ hasText: name });
  await expect(row).toContainText('Custom');
  await expect(row.getByRole('textbox')).toHaveValue('Read your monthly reports');
  await screenshot(page, testInfo, 'admin-scopes.png');
});

test('an admin creates a user and finds them', async ({ page }, testInfo) => {
  const username = `e2e-made-${suffix()}`;
  await signInAt(page, '/admin/users', users.admin);
  await page.getByRole('link', { name: 'New user' }).click();
  await expect(page).toHaveURL(/\/admin\/users\/new$/);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Name (optional)').fill('Made In Test');
  await page.getByLabel('Email (optional)').fill(`${username}@example.com`);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page.locator('#password-error')).toHaveText('Use at least 8 characters.');
  await expect(page.getByLabel('Username')).toHaveValue(username);
  await screenshot(page, testInfo, 'admin-user-errors.png');

  await page.getByLabel('Password').fill('a-good-password');
  await page.getByRole('button', { name: 'Create user' }).click();
  await expect(page).toHaveURL(/\/admin\/users\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('user-title')).toHaveText(username);
  await expect(page.getByTestId('notice')).toContainText('was created');
  await screenshot(page, testInfo, 'admin-user.png');

  await page.goto(`/admin/users?q=${username}`);
  await expect(page.getByTestId('user-row')).toHaveCount(1);
  await expect(page.getByTestId('user-row')).toContainText(`${username}@example.com`);
  await screenshot(page, testInfo, 'admin-users.png');
});

test('a non-admin is refused /admin', async ({ page }, testInfo) => {
  await signInAt(page, '/account', users.user);
  const response = await page.goto('/admin/clients');
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toContainText('Administrators only');
  await expect(page.getByTestId('clients')).toHaveCount(0);
  await screenshot(page, testInfo, 'admin-forbidden.png');
});

test('signed out, /admin sends you to sign in first', async ({ page }) => {
  await page.goto('/admin/users');
  await expect(page).toHaveURL(/\/login\?next=\/admin\/users/);
});
