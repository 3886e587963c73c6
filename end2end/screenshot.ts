import type { Page, TestInfo } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const screenshotsDir = path.join(__dirname, 'screenshots');

/** Screenshot into the test's output dir (attached to the report) and end2end/screenshots/. */
export async function screenshot(page: Page, testInfo: TestInfo, name: string) {
  const file = testInfo.outputPath(name);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  fs.mkdirSync(screenshotsDir, { recursive: true });
  fs.copyFileSync(file, path.join(screenshotsDir, name));
}
