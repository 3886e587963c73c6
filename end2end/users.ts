// Accounts created by global-setup.ts through the `tessera user add` CLI.
export const users = {
  user: { username: 'e2e-user', password: 'e2e-password-1' },
  admin: { username: 'e2e-admin', password: 'e2e-password-2' },
  // Only account.spec.ts signs in as this one, so its consents are its own.
  user2: { username: 'e2e-user2', password: 'e2e-password-3' },
} as const;
