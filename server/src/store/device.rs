//! Device codes (`device_codes`, RFC 8628), by the hashes of their device code and user
//! code, from `POST /device_authorization` until their tokens are issued or they expire.

use tessera_core::device::{DeviceCode, DeviceStatus};
use tessera_core::store::{DeviceEntry, DevicePoll, NewDeviceCode, StoreError};

use super::engine::SqlStore;
use super::query::conflict;
use super::rows::{corrupt, scopes_of};

const COLUMNS: &str = "d.user_code_hash, d.user_code_hint, d.client_id, d.scopes, d.resources, d.status, d.user_id, \
     d.auth_time, d.poll_interval, d.last_poll, d.created_at, d.expires_at";

#[derive(sqlx::FromRow)]
struct Row {
    user_code_hash: String,
    user_code_hint: String,
    client_id: String,
    scopes: String,
    resources: String,
    status: String,
    user_id: Option<String>,
    auth_time: Option<i64>,
    poll_interval: i64,
    last_poll: Option<i64>,
    created_at: i64,
    expires_at: i64,
}

impl TryFrom<Row> for DeviceCode {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(DeviceCode {
            status: DeviceStatus::parse(&r.status).ok_or_else(|| corrupt("device code status", &r.status))?,
            user_code_hash: r.user_code_hash,
            user_code_hint: r.user_code_hint,
            client_id: r.client_id,
            scopes: scopes_of(&r.scopes)?,
            resources: tessera_core::resource::split(&r.resources),
            user_id: r.user_id,
            auth_time: r.auth_time,
            interval: r.poll_interval,
            last_poll: r.last_poll,
            created_at: r.created_at,
            expires_at: r.expires_at,
        })
    }
}

impl SqlStore {
    /// The caps are in the INSERT itself, as for pending requests (`pending.rs`).
    pub(super) async fn put_device_code(
        &self,
        c: &NewDeviceCode,
        max_per_client: i64,
        max_total: i64,
    ) -> Result<bool, StoreError> {
        let stored = self
            .execute(
                "INSERT INTO device_codes (device_code_hash, user_code_hash, user_code_hint, client_id, scopes, \
                 resources, poll_interval, created_at, expires_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
                 WHERE (SELECT COUNT(*) FROM device_codes WHERE client_id = $4 AND expires_at > $8) < $10 \
                 AND (SELECT COUNT(*) FROM device_codes WHERE expires_at > $8) < $11",
                (
                    &c.device_code_hash,
                    &c.user_code_hash,
                    &c.user_code_hint,
                    &c.client_id,
                    c.scopes.to_string(),
                    tessera_core::resource::join(&c.resources),
                    c.interval,
                    c.created_at,
                    c.expires_at,
                    max_per_client,
                    max_total,
                ),
            )
            .await
            .map_err(conflict("user code"))?;
        Ok(stored == 1)
    }

    pub(super) async fn device_code_by_user_code(
        &self,
        user_code_hash: &str,
        now: i64,
    ) -> Result<Option<DeviceCode>, StoreError> {
        let row: Option<Row> = self
            .optional(
                &format!("SELECT {COLUMNS} FROM device_codes d WHERE d.user_code_hash = $1 AND d.expires_at > $2"),
                (user_code_hash, now),
            )
            .await?;
        row.map(DeviceCode::try_from).transpose()
    }

    /// Only a pending, unexpired code changes: a second decision (another tab, a replayed
    /// form) finds it decided and changes nothing.
    pub(super) async fn decide_device_code(
        &self,
        user_code_hash: &str,
        user_id: &str,
        auth_time: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let status = match auth_time {
            Some(_) => DeviceStatus::Approved,
            None => DeviceStatus::Denied,
        };
        let changed = self
            .execute(
                "UPDATE device_codes SET status = $2, user_id = $3, auth_time = $4 \
                 WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $5",
                (user_code_hash, status.as_str(), user_id, auth_time, now),
            )
            .await?;
        Ok(changed == 1)
    }

    pub(super) async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: i64,
        slow_down_step: i64,
        max_interval: i64,
    ) -> Result<DevicePoll, StoreError> {
        let row: Option<Row> = self
            .optional(
                &format!("SELECT {COLUMNS} FROM device_codes d WHERE d.device_code_hash = $1"),
                (device_code_hash,),
            )
            .await?;
        let Some(code) = row.map(DeviceCode::try_from).transpose()? else {
            return Ok(DevicePoll::Unknown);
        };
        if code.client_id != client_id {
            return Ok(DevicePoll::OtherClient);
        }
        if now >= code.expires_at {
            return Ok(DevicePoll::Expired);
        }
        match code.status {
            DeviceStatus::Denied => Ok(DevicePoll::Denied),
            DeviceStatus::Redeemed => Ok(DevicePoll::AlreadyRedeemed),
            DeviceStatus::Pending => {
                // RFC 8628 §3.5: the pace is the core's; the poll is recorded either way.
                let (slow_down, interval) = tessera_core::token::device_code::pace(
                    code.last_poll,
                    code.interval,
                    now,
                    slow_down_step,
                    max_interval,
                );
                self.execute(
                    "UPDATE device_codes SET last_poll = $2, poll_interval = $3 \
                     WHERE device_code_hash = $1 AND status = 'pending'",
                    (device_code_hash, now, interval),
                )
                .await?;
                Ok(DevicePoll::Pending { slow_down, interval })
            }
            DeviceStatus::Approved => self.redeem_device_code(device_code_hash, code, now).await,
        }
    }

    /// The one conditional UPDATE that redeems an approved code: on PostgreSQL a
    /// concurrent poll waits for this transaction, then finds the row no longer
    /// 'approved' and changes nothing; on SQLite writes are serialised. The winner starts
    /// the token family in the same transaction.
    async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        code: DeviceCode,
        now: i64,
    ) -> Result<DevicePoll, StoreError> {
        let Some(user_id) = code.user_id.clone() else {
            return Err(corrupt("device code", "approved without a user"));
        };
        let family_id = tessera_core::secret::random_id();
        let mut tx = self.begin().await?;
        let won = tx
            .execute(
                "UPDATE device_codes SET status = 'redeemed', last_poll = $2 \
                 WHERE device_code_hash = $1 AND status = 'approved' AND expires_at > $2",
                (device_code_hash, now),
            )
            .await?;
        if won != 1 {
            drop(tx);
            return Ok(DevicePoll::AlreadyRedeemed);
        }
        tx.execute(
            "INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, resources) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            (
                &family_id,
                &code.client_id,
                &user_id,
                code.scopes.to_string(),
                now,
                tessera_core::resource::join(&code.resources),
            ),
        )
        .await?;
        tx.commit().await?;
        let user = self.user_by_id(&user_id).await?;
        Ok(DevicePoll::Redeemed {
            record: code,
            family_id,
            user,
        })
    }

    pub(super) async fn device_codes(&self, now: i64) -> Result<Vec<DeviceEntry>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Listed {
            #[sqlx(flatten)]
            code: Row,
            client_name: String,
            username: Option<String>,
        }
        let rows: Vec<Listed> = self
            .all(
                &format!(
                    "SELECT {COLUMNS}, c.name AS client_name, u.username AS username FROM device_codes d \
                     JOIN clients c ON c.client_id = d.client_id LEFT JOIN users u ON u.id = d.user_id \
                     WHERE d.expires_at > $1 AND d.status <> 'redeemed' \
                     ORDER BY d.created_at DESC, d.user_code_hash"
                ),
                (now,),
            )
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DeviceEntry {
                    code: DeviceCode::try_from(r.code)?,
                    client_name: r.client_name,
                    username: r.username,
                })
            })
            .collect()
    }

    pub(super) async fn revoke_device_code(&self, user_code_hash: &str) -> Result<bool, StoreError> {
        let changed = self
            .execute(
                "UPDATE device_codes SET status = 'denied' \
                 WHERE user_code_hash = $1 AND status IN ('pending', 'approved')",
                (user_code_hash,),
            )
            .await?;
        Ok(changed == 1)
    }

    /// The janitor's part: device codes past their expiry, in batches of `batch`.
    pub(super) async fn purge_device_codes(&self, now: i64, batch: u64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM device_codes WHERE device_code_hash IN \
             (SELECT device_code_hash FROM device_codes WHERE expires_at < $1 LIMIT {batch})"
        );
        let mut total = 0;
        loop {
            let done = self.execute(&sql, (now,)).await?;
            total += done;
            if done < batch {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }
}
