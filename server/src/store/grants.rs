//! Grants: authorization codes (`auth_codes`), the token families they start
//! (`token_families`), refresh tokens (`refresh_tokens`) and revoked access tokens
//! (`revoked_access_tokens`), and what a resource server asks about an access token.
//! The status cache is in front of [`SqlStore::access_token_status`] in `cached.rs`.

use tessera_core::store::{AccessTokenStatus, CodeRedemption, FamilyEntry, GrantsOf, StoreError, User};
use tessera_core::token::{CodeRecord, RefreshRecord};

use super::engine::{Engine, SqlStore};
use super::query::conflict;
use super::rows::{
    joined_user_columns, scopes_of, CodeRow, JoinedUserRow, RefreshRow, CODE_COLUMNS, JOINED_USER_COLUMNS,
    REFRESH_REVOKED_AT,
};

/// The statements SQLite and PostgreSQL spell differently: two steps in one round trip.
/// SQLite runs a `;`-separated list in one call (sqlx binds `$n` by number in each
/// statement); PostgreSQL takes one statement per call, so there it is a data-modifying
/// CTE, which is also atomic.
struct Dialect {
    /// `$1` code hash, `$2` now, `$3` client id. Marks the code used if it was not, reads it with `won`
    /// (1 if this call marked it) and its user, and, if this call won, creates the code's
    /// token family (unless a replay created it first). SQLite's `changes()` is the count
    /// of the last INSERT/UPDATE/DELETE, so the SELECT between leaves it the UPDATE's.
    redeem_code: &'static str,
    /// `$1` old hash, `$2` now, `$3` successor hash, `$4` successor expiry, `$5` the DPoP key
    /// the successor is bound to if its predecessor was not (RFC 9449 §5).
    rotate_refresh: &'static str,
    /// Rows `rotate_refresh` affects when it rotated: 2 on SQLite (the successor inserted,
    /// the old token updated by the same statement), 1 on PostgreSQL (the INSERT fed by
    /// the UPDATE); 0 when the token was no longer current.
    rotated_rows: u64,
}

const SQLITE: Dialect = Dialect {
    redeem_code: concat!(
        "UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND client_id = $3; \
         SELECT c.family_id, c.client_id, c.user_id, c.redirect_uri, c.redirect_uri_given, c.scopes, c.nonce, \
         c.code_challenge, c.auth_time, c.expires_at, c.used_at, c.dpop_jkt, c.resources, changes() AS won, \
         (SELECT f.revoked_at FROM token_families f WHERE f.family_id = c.family_id) AS family_revoked_at, \
         ",
        joined_user_columns!(),
        " FROM auth_codes c LEFT JOIN users u ON u.id = c.user_id WHERE c.code_hash = $1; \
         INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, resources) \
         SELECT family_id, client_id, user_id, scopes, $2, resources FROM auth_codes WHERE code_hash = $1 AND changes() = 1 \
         ON CONFLICT (family_id) DO NOTHING"
    ),
    // One statement, so one transaction and one commit (it was an INSERT then an UPDATE,
    // two commits). While the old token is current, the SELECT yields two rows with its
    // grant: one under the successor's hash (inserted) and one under its own hash, which
    // conflicts with it and so, through the upsert, marks it rotated. SQLite reads the
    // SELECT in full before inserting (it reads the table written to), and a statement
    // holds the write lock throughout: nobody rotates in between.
    rotate_refresh: "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, auth_time, \
         created_at, expires_at, dpop_jkt) \
         SELECT n.token_hash, r.family_id, r.client_id, r.user_id, r.scopes, r.auth_time, $2, $4, COALESCE(r.dpop_jkt, $5) \
         FROM refresh_tokens r, (SELECT $1 AS token_hash UNION ALL SELECT $3) AS n \
         WHERE r.token_hash = $1 AND r.rotated_at IS NULL AND r.revoked_at IS NULL \
         AND EXISTS (SELECT 1 FROM token_families f WHERE f.family_id = r.family_id AND f.revoked_at IS NULL) \
         ON CONFLICT (token_hash) DO UPDATE SET rotated_at = excluded.created_at \
         WHERE refresh_tokens.token_hash = $1",
    rotated_rows: 2,
};

const POSTGRES: Dialect = Dialect {
    redeem_code: concat!(
        "WITH won AS (UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND client_id = $3 \
         RETURNING family_id, client_id, user_id, scopes, resources), \
         family AS (INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, resources) \
         SELECT family_id, client_id, user_id, scopes, $2, resources FROM won ON CONFLICT (family_id) DO NOTHING) \
         SELECT c.family_id, c.client_id, c.user_id, c.redirect_uri, c.redirect_uri_given, c.scopes, c.nonce, \
         c.code_challenge, c.auth_time, c.expires_at, c.used_at, c.dpop_jkt, c.resources, (SELECT COUNT(*) FROM won) AS won, \
         (SELECT f.revoked_at FROM token_families f WHERE f.family_id = c.family_id) AS family_revoked_at, \
         ", joined_user_columns!(), " FROM auth_codes c LEFT JOIN users u ON u.id = c.user_id WHERE c.code_hash = $1"
    ),
    rotate_refresh: "WITH old AS (UPDATE refresh_tokens SET rotated_at = $2 \
         WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND EXISTS \
         (SELECT 1 FROM token_families f WHERE f.family_id = refresh_tokens.family_id AND f.revoked_at IS NULL) \
         RETURNING family_id, client_id, user_id, scopes, auth_time, dpop_jkt) \
         INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, auth_time, created_at, expires_at, \
         dpop_jkt) SELECT $3, family_id, client_id, user_id, scopes, auth_time, $2, $4, COALESCE(dpop_jkt, $5) FROM old",
    rotated_rows: 1,
};

impl SqlStore {
    fn dialect(&self) -> &'static Dialect {
        match self.engine {
            Engine::Sqlite { .. } => &SQLITE,
            Engine::Postgres { .. } => &POSTGRES,
        }
    }

    pub(super) async fn put_code(
        &self,
        code_hash: &str,
        family_id: &str,
        r: &CodeRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO auth_codes (code_hash, {CODE_COLUMNS}, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $14, $12, $13)"
            ),
            (
                code_hash,
                family_id,
                &r.client_id,
                &r.user_id,
                r.redirect_uri.as_str(),
                r.redirect_uri_in_request,
                r.scopes.to_string(),
                &r.nonce,
                r.pkce.as_ref().map(|p| p.as_str().to_owned()),
                r.auth_time,
                r.expires_at,
                tessera_core::resource::join(&r.resources),
                now,
                &r.dpop_jkt,
            ),
        )
        .await
        .map_err(conflict("code"))?;
        Ok(())
    }

    /// Marks the code used if it was issued to `client_id`; of concurrent callers exactly
    /// one wins, and its call also starts the code's token family and reads its user.
    pub(super) async fn redeem_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: i64,
    ) -> Result<CodeRedemption, StoreError> {
        // One conditional UPDATE: the database decides which concurrent caller wins.
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            code: CodeRow,
            won: i64,
            family_revoked_at: Option<i64>,
            #[sqlx(flatten)]
            user: JoinedUserRow,
        }
        // Every statement must run (SQLite's list ends with the INSERT): all, not optional.
        let row: Option<Row> = self
            .all(self.dialect().redeem_code, (code_hash, now, client_id))
            .await?
            .pop();
        Ok(match row {
            None => CodeRedemption::Unknown,
            // Left unspent: the code is bound to its client before it is burned.
            Some(row) if row.code.client_id != client_id => CodeRedemption::OtherClient,
            Some(row) if row.won == 1 => {
                let (mut record, family_id) = row.code.into_record()?;
                record.used = false;
                CodeRedemption::Redeemed {
                    record,
                    family_id,
                    family_revoked: row.family_revoked_at.is_some(),
                    user: row.user.into_user(),
                }
            }
            Some(row) => CodeRedemption::AlreadyUsed {
                family_id: row.code.family_id,
            },
        })
    }

    /// Revokes the family and every refresh token in it.
    pub(super) async fn revoke_family(&self, family_id: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // The family may not exist yet (a replay racing the first exchange): create
        // it revoked from its code, so the first exchange's tokens are born revoked.
        tx.execute(
            "INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, revoked_at) \
             SELECT family_id, client_id, user_id, scopes, $2, $2 FROM auth_codes WHERE family_id = $1 \
             ON CONFLICT (family_id) DO NOTHING",
            (family_id, now),
        )
        .await?;
        tx.execute(
            "UPDATE token_families SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            (family_id, now),
        )
        .await?;
        tx.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            (family_id, now),
        )
        .await?;
        Ok(tx.commit().await?)
    }

    pub(super) async fn is_family_revoked(&self, family_id: &str) -> Result<bool, StoreError> {
        let revoked: Option<(Option<i64>,)> = self
            .optional(
                "SELECT revoked_at FROM token_families WHERE family_id = $1",
                (family_id,),
            )
            .await?;
        Ok(matches!(revoked, Some((Some(_),))))
    }

    pub(super) async fn put_refresh_token(
        &self,
        token_hash: &str,
        r: &RefreshRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, auth_time, \
             created_at, expires_at, dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            (
                token_hash,
                &r.family_id,
                &r.client_id,
                (!r.user_id.is_empty()).then_some(r.user_id.as_str()),
                r.scopes.to_string(),
                r.auth_time,
                now,
                r.expires_at,
                &r.dpop_jkt,
            ),
        )
        .await
        .map_err(conflict("refresh token"))?;
        Ok(())
    }

    /// A refresh token and, in the same round trip, its user if they still exist.
    pub(super) async fn refresh_grant(
        &self,
        token_hash: &str,
    ) -> Result<Option<(RefreshRecord, Option<User>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            token: RefreshRow,
            #[sqlx(flatten)]
            user: JoinedUserRow,
        }
        let row: Option<Row> = self
            .optional(
                &format!(
                    "SELECT r.family_id, r.client_id, r.user_id, r.scopes, r.auth_time, r.expires_at, r.rotated_at, r.dpop_jkt, \
                     COALESCE(f.created_at, r.created_at) AS family_created_at, COALESCE(f.resources, '') AS resources, \
                     {REFRESH_REVOKED_AT}, {JOINED_USER_COLUMNS} \
                     FROM refresh_tokens r LEFT JOIN token_families f ON f.family_id = r.family_id \
                     LEFT JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1"
                ),
                (token_hash,),
            )
            .await?;
        row.map(|r| Ok((RefreshRecord::try_from(r.token)?, r.user.into_user())))
            .transpose()
    }

    /// RFC 9700 §4.14.2 rotation in one statement; false if the token was not current.
    pub(super) async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        successor_hash: &str,
        successor_expires_at: i64,
        successor_dpop_jkt: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let dialect = self.dialect();
        let rows = self
            .execute(
                dialect.rotate_refresh,
                (
                    token_hash,
                    now,
                    successor_hash,
                    successor_expires_at,
                    successor_dpop_jkt,
                ),
            )
            .await
            .map_err(conflict("refresh token"))?;
        // One statement on both backends: it rotated entirely or not at all.
        Ok(rows == dialect.rotated_rows)
    }

    pub(super) async fn revoke_access_token(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            (jti, expires_at),
        )
        .await?;
        Ok(())
    }

    /// Whether the token or its family was revoked, and the user when asked for, from the
    /// database (uncached).
    pub(super) async fn access_token_status(
        &self,
        jti: &str,
        family_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<AccessTokenStatus, StoreError> {
        // One round trip: both revocation checks, and the user row when asked for
        // (a LEFT JOIN against a one-row table, so "no such user" is still a row).
        #[derive(sqlx::FromRow)]
        struct Row {
            revoked: i64,
            #[sqlx(flatten)]
            user: JoinedUserRow,
        }
        let row: Row = self
            .one(
                &format!(
                    "SELECT (SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1) + \
                     (SELECT COUNT(*) FROM token_families WHERE family_id = $2 AND revoked_at IS NOT NULL) AS revoked, \
                     {JOINED_USER_COLUMNS} FROM (SELECT 1 AS one) AS one LEFT JOIN users u ON u.id = $3",
                ),
                (jti, family_id.unwrap_or(""), user_id.unwrap_or("")),
            )
            .await?;
        Ok(AccessTokenStatus {
            revoked: row.revoked > 0,
            user: row.user.into_user(),
        })
    }

    /// Unrevoked families with a current refresh token alive at `now`, as the admin
    /// console lists them.
    pub(super) async fn active_families(&self, of: GrantsOf<'_>, now: i64) -> Result<Vec<FamilyEntry>, StoreError> {
        let (column, id) = match of {
            GrantsOf::Client(id) => ("f.client_id", id),
            GrantsOf::User(id) => ("f.user_id", id),
        };
        type Row = (String, String, String, Option<String>, Option<String>, String, i64);
        let rows: Vec<Row> = self
            .all(
                &format!(
                    "SELECT f.family_id, f.client_id, cl.name, f.user_id, u.username, f.scopes, f.created_at \
                     FROM token_families f JOIN clients cl ON cl.client_id = f.client_id \
                     LEFT JOIN users u ON u.id = f.user_id \
                     WHERE {column} = $1 AND f.revoked_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens r \
                       WHERE r.family_id = f.family_id AND r.revoked_at IS NULL AND r.rotated_at IS NULL \
                       AND r.expires_at > $2) \
                     ORDER BY f.created_at DESC, f.family_id"
                ),
                (id, now),
            )
            .await?;
        rows.into_iter()
            .map(
                |(family_id, client_id, client_name, user_id, username, scopes, created_at)| {
                    Ok(FamilyEntry {
                        family_id,
                        client_id,
                        client_name,
                        user_id,
                        username,
                        scopes: scopes_of(&scopes)?,
                        created_at,
                    })
                },
            )
            .collect()
    }
}
