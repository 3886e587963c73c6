// The start page for each kind of visitor, the top bar, and the guarded pages' redirect
// without JavaScript.
import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { databaseUrl, tesseraBin } from '../playwright.config';
import { screenshot } from '../screenshot';
import { users } from '../users';

async function signIn(page: Page, who: { username: string; password: string }) {
  await page.goto('/login');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.locator('input[name=username]').fill(who.username);
  await page.locator('input[name=password]').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/');
}

const topBar = (page: Page) => page.getByRole('navigation', { name: 'Main' });

test('signed out: what this is, Sign in, and the demo', async ({ page }, testInfo) => {
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const welcome = page.getByTestId('welcome');
  await expect(welcome).toContainText('Applications send people here to sign in');
  await expect(topBar(page).getByRole('link', { name: 'Demo', exact: true })).toBeVisible();
  await expect(topBar(page).getByRole('link', { name: 'My apps', exact: true })).toBeVisible();
  await expect(topBar(page).getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
  await expect(page.getByTestId('server-card')).toHaveCount(0);
  await screenshot(page, testInfo, 'start-signed-out.png');

  await welcome.getByRole('link', { name: 'Step-by-step demo' }).click();
  await expect(page).toHaveURL(/\/demo$/);
  await page.goto('/');
  await welcome.getByRole('link', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login$/);
});

test('a user: their apps, no admin console', async ({ page }, testInfo) => {
  await signIn(page, users.user);
  await expect(page.getByTestId('signed-in')).toContainText(users.user.username);
  await expect(page.getByTestId('signed-in')).not.toContainText('administrator');
  await expect(topBar(page).getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Admin console', exact: true })).toHaveCount(0);
  await expect(page.getByTestId('server-card')).toHaveCount(0);
  await expect(page.getByTestId('first-client')).toHaveCount(0);
  await screenshot(page, testInfo, 'start-user.png');

  await topBar(page).getByRole('link', { name: 'My apps', exact: true }).click();
  await expect(page).toHaveURL(/\/account\/apps$/);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
});

test('an admin: the console, this server, and a first client with curl', async ({ page, request }, testInfo) => {
  await signIn(page, users.admin);
  const base = new URL(page.url()).origin;
  await expect(page.getByTestId('signed-in')).toContainText('administrator');
  await expect(page.getByTestId('issuer')).toHaveText(base);

  // The discovery and JWKS links are this server's real documents.
  const discoveryHref = await page.getByTestId('discovery').getAttribute('href');
  expect(discoveryHref).toBe(`${base}/.well-known/openid-configuration`);
  const discovery = await (await request.get(discoveryHref!)).json();
  expect(discovery.issuer).toBe(base);
  const jwksHref = await page.getByTestId('jwks').getAttribute('href');
  expect(jwksHref).toBe(discovery.jwks_uri);

  // The snippet is filled in with this server's endpoints.
  const snippet = page.getByTestId('first-client-snippet');
  await expect(snippet).toContainText(`${discovery.authorization_endpoint}?response_type=code`);
  await expect(snippet).toContainText(`${discovery.token_endpoint} -d grant_type=authorization_code`);
  await expect(snippet).toContainText(discovery.userinfo_endpoint);
  await expect(snippet).toContainText('tessera client add');
  await page.getByTestId('first-client').getByRole('button', { name: 'Copy' }).click();
  await expect(page.getByTestId('first-client').getByRole('button', { name: 'Copied' })).toBeVisible();
  await screenshot(page, testInfo, 'start-admin.png');

  // The console from the top bar and from the page.
  await topBar(page).getByRole('link', { name: 'Admin', exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('navigation', { name: 'Admin console' })).toBeVisible();
  await page.goto('/');
  await page.getByRole('link', { name: 'Admin console', exact: true }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await topBar(page).getByRole('link', { name: 'Demo', exact: true }).click();
  await expect(page).toHaveURL(/\/demo$/);
});

test("the start page's curl walk-through works as printed", async ({ page }) => {
  await signIn(page, users.admin);
  const snippet = await page.getByTestId('first-client-snippet').innerText();
  const [before, after] = snippet.split(/^# 3\..*$/m);
  expect(after, 'the snippet has its step 3').toBeTruthy();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-snippet-'));
  const env = { ...process.env, TESSERA_DATABASE_URL: databaseUrl };
  const bash = (script: string) =>
    execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
  // Steps 1 and 2 as printed, with this test's binary in place of target/release/tessera.
  const printed = bash(
    `${before.replace('target/release/tessera', `'${tesseraBin}'`)}\n` +
      'declare -p CLIENT_ID CLIENT_SECRET VERIFIER > vars.sh',
  );
  const authorizeUrl = printed.trim().split('\n').pop()!;
  expect(authorizeUrl).toContain('/authorize?response_type=code');

  // The browser part: open it, Allow, read the code from the callback's address.
  let code: string | null = null;
  await page.route('http://127.0.0.1:8080/**', (route) => {
    code = new URL(route.request().url()).searchParams.get('code');
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>callback</h1>' });
  });
  await page.goto(authorizeUrl);
  await expect(page).toHaveURL(/\/consent\?request=/);
  await page.getByRole('button', { name: 'Allow' }).click();
  await expect.poll(() => code).toBeTruthy();

  // Steps 3 and 4 as printed, with the code pasted in.
  const out = bash(`source vars.sh\n${after.replace('CODE=paste-the-code-here', `CODE='${code}'`)}`);
  const userinfo = JSON.parse(out);
  expect(userinfo.preferred_username).toBe(users.admin.username);
  expect(userinfo.sub).toBeTruthy();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('signed out without JavaScript, guarded pages redirect to the login for real', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    for (const target of ['/admin', '/admin/clients', '/account', '/account/apps']) {
      const response = await page.goto(target);
      // The redirect was followed by the browser itself: the page is the login form.
      expect(response?.status()).toBe(200);
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(new URL(page.url()).searchParams.get('next')).toBe(target);
      await expect(page.locator('input[name=username]')).toBeVisible();
      const first = response?.request().redirectedFrom();
      expect(first?.url()).toContain(target);
      expect((await first?.response())?.status()).toBe(302);
    }
  } finally {
    await context.close();
  }
});
