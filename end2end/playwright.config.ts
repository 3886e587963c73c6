import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Paths are resolved relative to the repository root (the parent of end2end/).
const repoRoot = path.resolve(__dirname, '..');
const fromRoot = (p: string) => (path.isAbsolute(p) ? p : path.join(repoRoot, p));

// The binary built by `cargo leptos build` (scripts/test.sh sets TESSERA_BIN).
const targetDir = fromRoot(process.env.CARGO_TARGET_DIR || 'target');
export const tesseraBin = process.env.TESSERA_BIN
  ? fromRoot(process.env.TESSERA_BIN)
  : path.join(targetDir, 'debug', 'tessera');

// Where cargo-leptos wrote the site (`site-root` in Cargo.toml, relative to the
// workspace root; it does not move with CARGO_TARGET_DIR).
const siteRoot = fromRoot(process.env.LEPTOS_SITE_ROOT || 'target/site');

// TESSERA_E2E_EMBEDDED_SITE=1 (scripts/test.sh, with the release binary copied alone into
// an empty directory): the server runs there with no site root, so every page hydrates
// from the copy of the site embedded in the binary.
const embeddedSite = process.env.TESSERA_E2E_EMBEDDED_SITE === '1';
if (embeddedSite && process.env.LEPTOS_SITE_ROOT) {
  throw new Error('TESSERA_E2E_EMBEDDED_SITE=1 with LEPTOS_SITE_ROOT set: the server would not use its embedded site');
}

// A fresh SQLite database per run. This file is evaluated again in every worker
// process; workers inherit the environment of the main process, so the directory
// created here once is handed to them through TESSERA_E2E_DATA_DIR.
if (!process.env.TESSERA_E2E_DATA_DIR) {
  process.env.TESSERA_E2E_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-e2e-'));
  process.env.TESSERA_E2E_DATA_DIR_CREATED = '1';
}
export const dataDir = process.env.TESSERA_E2E_DATA_DIR;
export const databaseUrl = `sqlite://${path.join(dataDir, 'e2e.db')}?mode=rwc`;

// TESSERA_E2E_PORT lets two checkouts run their suites side by side.
export const port = Number(process.env.TESSERA_E2E_PORT || 3939);
export const baseURL = `http://127.0.0.1:${port}`;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalSetup: require.resolve('./global-setup'),
  globalTeardown: require.resolve('./global-teardown'),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    ['json', { outputFile: process.env.TESSERA_E2E_JSON || 'playwright-report/results.json' }],
  ],
  use: {
    baseURL,
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: {
    command: [
      shellQuote(tesseraBin),
      'serve',
      '--demo-client',
      '--addr',
      `127.0.0.1:${port}`,
      '--database-url',
      shellQuote(databaseUrl),
    ].join(' '),
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    cwd: embeddedSite ? path.dirname(tesseraBin) : undefined,
    env: {
      ...(embeddedSite ? {} : { LEPTOS_SITE_ROOT: siteRoot }),
      // The server secret (signing keys are encrypted under it); given, so that no
      // data/tessera.secret file is written into the tree.
      TESSERA_SECRET: 'tessera-e2e-server-secret-0123456789abcdef',
      RUST_LOG: process.env.RUST_LOG || 'warn',
    },
  },
});
