import { execFileSync } from 'node:child_process';
import type { FullConfig } from '@playwright/test';
import { databaseUrl, tesseraBin } from './playwright.config';
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
}
