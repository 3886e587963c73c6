// Accounts created by global-setup.ts through the `tessera user add` CLI.
export const users = {
  user: { username: 'e2e-user', password: 'e2e-password-1' },
  admin: { username: 'e2e-admin', password: 'e2e-password-2' },
} as const;
