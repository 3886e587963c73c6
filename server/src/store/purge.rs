//! The janitor's deletions: expired grants, remembered revocations past their use,
//! stale pending and pushed requests and login-failure counters, in short batches.

use tessera_core::store::{Purged, StoreError};

use super::engine::SqlStore;

impl SqlStore {
    /// Deletes what can no longer matter, in batches of at most `BATCH` rows per statement.
    pub(super) async fn purge_expired(&self, now: i64, grace: i64) -> Result<Purged, StoreError> {
        // Each statement deletes at most BATCH rows, so that on SQLite no request
        // waits behind a long write; expired rows are the oldest, found first.
        const BATCH: u64 = 500;
        let old = now.saturating_sub(grace);
        let steps: [(String, i64); 9] = [
            (
                format!(
                    "DELETE FROM revoked_access_tokens WHERE jti IN \
                 (SELECT jti FROM revoked_access_tokens WHERE expires_at < $1 LIMIT {BATCH})"
                ),
                now,
            ),
            (
                format!(
                    "DELETE FROM auth_codes WHERE code_hash IN \
                 (SELECT code_hash FROM auth_codes WHERE expires_at < $1 LIMIT {BATCH})"
                ),
                old,
            ),
            (
                format!(
                    "DELETE FROM refresh_tokens WHERE token_hash IN \
                 (SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT {BATCH})"
                ),
                old,
            ),
            // A revoked family's refresh tokens first (the foreign key would cascade,
            // but not every SQLite connection enforces it), then the family. A family
            // starts when its code is redeemed, so a day-old family's code has expired
            // and gone in the step above, give or take its 60 s; should that spent
            // code be replayed, revoking a family that no longer exists still works.
            (
                format!(
                    "DELETE FROM refresh_tokens WHERE token_hash IN \
                 (SELECT r.token_hash FROM refresh_tokens r JOIN token_families f \
                  ON f.family_id = r.family_id WHERE f.revoked_at < $1 LIMIT {BATCH})"
                ),
                old,
            ),
            (
                format!(
                    "DELETE FROM token_families WHERE family_id IN \
                 (SELECT f.family_id FROM token_families f WHERE \
                  (f.revoked_at < $1 OR (f.created_at < $1 \
                   AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.family_id))) \
                  LIMIT {BATCH})"
                ),
                old,
            ),
            // Not grants, not counted: authorization requests an hour past their
            // expiry, and login-failure counters nobody has touched for a day and
            // that block nothing (a counter that old starts over anyway).
            (
                format!(
                    "DELETE FROM auth_requests WHERE id_hash IN \
                 (SELECT id_hash FROM auth_requests WHERE expires_at < $1 LIMIT {BATCH})"
                ),
                now.saturating_sub(3600),
            ),
            (
                format!(
                    "DELETE FROM login_failures WHERE key IN \
                 (SELECT key FROM login_failures WHERE window_start < $1 \
                  AND COALESCE(blocked_until, 0) < $1 + 86400 LIMIT {BATCH})"
                ),
                now.saturating_sub(86_400),
            ),
            (
                format!(
                    "DELETE FROM seen_jtis WHERE (purpose, jti_hash) IN \
                 (SELECT purpose, jti_hash FROM seen_jtis WHERE expires_at < $1 LIMIT {BATCH})"
                ),
                now,
            ),
            // Pushed requests never used: nothing refers to them once expired.
            (
                format!(
                    "DELETE FROM pushed_requests WHERE id_hash IN \
                 (SELECT id_hash FROM pushed_requests WHERE expires_at < $1 LIMIT {BATCH})"
                ),
                now,
            ),
        ];
        let mut counts = [0u64; 9];
        for (i, (sql, cutoff)) in steps.iter().enumerate() {
            loop {
                let done = self.execute(sql, (*cutoff,)).await?;
                counts[i] += done;
                if done < BATCH {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        // Device codes past their expiry (RFC 8628): not counted, like pushed requests.
        self.purge_device_codes(now, BATCH).await?;
        Ok(Purged {
            revoked_access_tokens: counts[0],
            codes: counts[1],
            refresh_tokens: counts[2] + counts[3],
            families: counts[4],
        })
    }
}
