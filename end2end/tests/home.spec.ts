import { expect, test, type Page } from '@playwright/test';
import { screenshot } from '../screenshot';
import { users } from '../users';

/** The app sets <body data-hydrated="true"> once the WASM bundle has hydrated. */
async function waitForHydration(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

const onPath = (pathname: string) => (url: URL) => url.pathname === pathname;

test.describe('home page', () => {
  test('is server-rendered (no JavaScript)', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const response = await page.goto('/');
      expect(response?.status()).toBe(200);
      await expect(page.getByRole('heading', { level: 1 })).toContainText('Tessera');
      await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
    } finally {
      await context.close();
    }
  });

  test('hydrates and checks the server status', async ({ page }, testInfo) => {
    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Tessera');
    await waitForHydration(page);

    await page.getByRole('button', { name: 'Check server status' }).click();
    const status = page.getByTestId('status');
    await expect(status).toContainText('ready');
    await expect(status).toContainText('sqlite');

    await screenshot(page, testInfo, 'home.png');
  });
});

test.describe('sign in', () => {
  test('with JavaScript, then sign out', async ({ page }, testInfo) => {
    await page.goto('/login');
    await waitForHydration(page);
    await screenshot(page, testInfo, 'login.png');

    await page.locator('input[name=username]').fill(users.user.username);
    await page.locator('input[name=password]').fill(users.user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect(page).toHaveURL(onPath('/'));
    await expect(page.getByTestId('signed-in')).toContainText(users.user.username);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
    await expect(page.getByTestId('signed-in')).toHaveCount(0);
  });

  test('without JavaScript (plain form post)', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto('/login');
      await page.locator('input[name=username]').fill(users.user.username);
      await page.locator('input[name=password]').fill(users.user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();

      await expect(page).toHaveURL(onPath('/'));
      await expect(page.getByTestId('signed-in')).toContainText(users.user.username);
    } finally {
      await context.close();
    }
  });

  test('with a wrong password shows an error and stays on /login', async ({ page }) => {
    await page.goto('/login');
    await waitForHydration(page);

    await page.locator('input[name=username]').fill(users.admin.username);
    await page.locator('input[name=password]').fill('definitely-not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect(page.getByRole('alert')).toContainText('Wrong username or password');
    await expect(page).toHaveURL(onPath('/login'));
    await expect(page.getByTestId('signed-in')).toHaveCount(0);
  });
});

test('security headers', async ({ request }) => {
  const response = await request.get('/login');
  expect(response.status()).toBe(200);
  const headers = response.headers();
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
});
