import { expect, test } from '@playwright/test';
import { users } from '../users';

// Keyboard-only use: the login form is reachable and submittable without a mouse, and
// the focused control is visibly marked (WCAG 2.4.7).
test('sign in with the keyboard alone, with a visible focus ring', async ({ page }) => {
  await page.goto('/login');
  await page.waitForSelector('body[data-hydrated=true]');
  // The username field has autofocus.
  await expect(page.locator('input[name=username]')).toBeFocused();
  await page.keyboard.type(users.user.username);
  await page.keyboard.press('Tab');
  await expect(page.locator('input[name=password]')).toBeFocused();
  await page.keyboard.type(users.user.password);
  await page.keyboard.press('Tab');
  const submit = page.getByRole('button', { name: 'Sign in' });
  await expect(submit).toBeFocused();
  const outline = await submit.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('signed-in')).toContainText(users.user.username);
});

test('labels are tied to their inputs', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByLabel('Username')).toHaveAttribute('name', 'username');
  await expect(page.getByLabel('Password')).toHaveAttribute('name', 'password');
});
