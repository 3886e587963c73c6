//! Login back-off counters (`login_failures`), shared by every instance on the database;
//! the policy is the core's (`tessera_core::throttle`).

use tessera_core::store::StoreError;
use tessera_core::throttle::Backoff;

use super::engine::SqlStore;

impl SqlStore {
    pub(super) async fn login_blocked_until(&self, keys: &[String], now: i64) -> Result<Option<i64>, StoreError> {
        let mut latest: Option<i64> = None;
        for key in keys {
            let until: Option<(Option<i64>,)> = self
                .optional("SELECT blocked_until FROM login_failures WHERE key = $1", (key,))
                .await?;
            if let Some((Some(until),)) = until {
                // Blocked through the second `until` itself: the clock counts whole
                // seconds, so a 1 s block recorded at 100.9 s (until 101) would otherwise
                // end a tenth of a second later, and a burst of guesses get another try.
                if until >= now {
                    latest = Some(latest.map_or(until, |l| l.max(until)));
                }
            }
        }
        Ok(latest)
    }

    pub(super) async fn record_login_failure(
        &self,
        key: &str,
        policy: &Backoff,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        // The increment is one upsert, so concurrent failures on several instances
        // all count; a run older than the window starts over.
        let (failures,): (i64,) = self
            .one(
                "INSERT INTO login_failures (key, failures, window_start, blocked_until) \
                 VALUES ($1, 1, $2, NULL) \
                 ON CONFLICT (key) DO UPDATE SET \
                   failures = CASE WHEN login_failures.window_start <= $3 THEN 1 \
                                   ELSE login_failures.failures + 1 END, \
                   window_start = CASE WHEN login_failures.window_start <= $3 THEN $2 \
                                       ELSE login_failures.window_start END \
                 RETURNING failures",
                (key, now, now - policy.window),
            )
            .await?;
        let block = policy.block_for(failures);
        if block == 0 {
            return Ok(None);
        }
        let until = now + block;
        self.execute(
            "UPDATE login_failures SET blocked_until = $2 \
             WHERE key = $1 AND (blocked_until IS NULL OR blocked_until < $2)",
            (key, until),
        )
        .await?;
        Ok(Some(until))
    }

    pub(super) async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM login_failures WHERE key = $1", (key,))
            .await?;
        Ok(())
    }
}
