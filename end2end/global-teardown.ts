import * as fs from 'node:fs';

// Removes the per-run SQLite directory created by playwright.config.ts
// (kept when TESSERA_E2E_KEEP_DATA=1, or when the directory was passed in).
export default async function globalTeardown() {
  const dir = process.env.TESSERA_E2E_DATA_DIR;
  if (!dir || process.env.TESSERA_E2E_DATA_DIR_CREATED !== '1') return;
  if (process.env.TESSERA_E2E_KEEP_DATA === '1') {
    console.log(`e2e database kept in ${dir}`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
