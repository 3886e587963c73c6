import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FullConfig } from '@playwright/test';
import { databaseUrl, dataDir, tesseraBin } from './playwright.config';
import { users } from './users';

function addUser(username: string, password: string, extra: string[] = []) {
  // Global options go before the subcommand. The CLI runs migrations itself, so this
  // works whether or not the server has already created the database.
  execFileSync(
    tesseraBin,
    ['--database-url', databaseUrl, 'user', 'add', username, '--password-stdin', ...extra],
    { input: `${password}\n`, stdio: ['pipe', 'inherit', 'inherit'], timeout: 30_000 },
  );
}

// Runs after the webServer is up (Playwright starts webServer plugins before globalSetup).
export default async function globalSetup(_config: FullConfig) {
  addUser(users.user.username, users.user.password);
  addUser(users.admin.username, users.admin.password, ['--admin']);
  addUser(users.user2.username, users.user2.password);
  // A confidential client for the authorization code flow; its credentials (printed once
  // as JSON by the CLI) are kept for the tests.
  const out = execFileSync(
    tesseraBin,
    ['--database-url', databaseUrl, 'client', 'add', '--name', 'E2E App', '--redirect-uri', E2E_REDIRECT_URI],
    { stdio: ['ignore', 'pipe', 'inherit'], timeout: 30_000 },
  );
  fs.writeFileSync(path.join(dataDir, 'client.json'), out);
}

/// Nothing listens there: the tests intercept the browser's navigation to it.
export const E2E_REDIRECT_URI = 'http://127.0.0.1:9/callback';
