//! Consents (`consents`): which scopes a user allowed a client. Revoking one also ends
//! the grants it led to (`auth_codes`, `token_families`, `refresh_tokens`).

use tessera_core::store::{Consent, ConsentEntry, ConsentedClient, GrantsOf, StoreError, User};
use tessera_core::types::ScopeSet;

use super::engine::SqlStore;
use super::rows::{scopes_of, UserRow};

impl SqlStore {
    /// The user, if they exist, with what they allowed `client_id`: one round trip.
    pub(super) async fn user_and_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> Result<Option<(User, Option<Consent>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            consent_scopes: Option<String>,
            granted_at: Option<i64>,
        }
        let row: Option<Row> = self
            .optional(
                "SELECT u.id, u.username, u.email, u.name, u.is_admin, u.disabled, u.created_at, u.password_epoch, \
                 c.scopes AS consent_scopes, c.granted_at \
                 FROM users u LEFT JOIN consents c ON c.user_id = u.id AND c.client_id = $2 WHERE u.id = $1",
                (user_id, client_id),
            )
            .await?;
        row.map(|r| {
            let consent = match (r.consent_scopes, r.granted_at) {
                (Some(scopes), Some(granted_at)) => Some(Consent {
                    user_id: user_id.to_owned(),
                    client_id: client_id.to_owned(),
                    scopes: scopes_of(&scopes)?,
                    granted_at,
                }),
                _ => None,
            };
            Ok((User::from(r.user), consent))
        })
        .transpose()
    }

    /// Adds `scopes` to what the user allowed the client.
    pub(super) async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &ScopeSet,
        now: i64,
    ) -> Result<(), StoreError> {
        let existing = self
            .user_and_consent(user_id, client_id)
            .await?
            .and_then(|(_, consent)| consent);
        let merged = match existing {
            Some(existing) => scopes_of(&format!("{} {}", existing.scopes, scopes))?,
            None => scopes.clone(),
        };
        self.execute(
            "INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = $3, granted_at = $4",
            (user_id, client_id, merged.to_string(), now),
        )
        .await?;
        Ok(())
    }

    /// The user's "my apps" list, by client name.
    pub(super) async fn consents_for_user(&self, user_id: &str) -> Result<Vec<ConsentedClient>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = self
            .all(
                "SELECT c.client_id, cl.name, c.scopes, c.granted_at FROM consents c \
                 JOIN clients cl ON cl.client_id = c.client_id \
                 WHERE c.user_id = $1 ORDER BY cl.name, c.client_id",
                (user_id,),
            )
            .await?;
        rows.into_iter()
            .map(|(client_id, client_name, scopes, granted_at)| {
                Ok(ConsentedClient {
                    consent: Consent {
                        user_id: user_id.to_owned(),
                        client_id,
                        scopes: scopes_of(&scopes)?,
                        granted_at,
                    },
                    client_name,
                })
            })
            .collect()
    }

    /// Forgets the consent and revokes every grant of this user and client; false if
    /// there was no consent.
    pub(super) async fn revoke_consent(&self, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError> {
        // One transaction: no moment where the consent is gone but its tokens live.
        let mut tx = self.begin().await?;
        // #18 item 4: a code still in flight must not become a grant after this.
        // Every code of this user and client gets its family, born revoked (a code
        // being redeemed right now included), and the unused ones are spent, so a
        // redemption sees a used code.
        tx.execute(
            "INSERT INTO token_families (family_id, client_id, user_id, scopes, created_at, revoked_at) \
             SELECT family_id, client_id, user_id, scopes, $3, $3 FROM auth_codes \
             WHERE user_id = $1 AND client_id = $2 ON CONFLICT (family_id) DO NOTHING",
            (user_id, client_id, now),
        )
        .await?;
        tx.execute(
            "UPDATE auth_codes SET used_at = $3 WHERE user_id = $1 AND client_id = $2 AND used_at IS NULL",
            (user_id, client_id, now),
        )
        .await?;
        let deleted = tx
            .execute(
                "DELETE FROM consents WHERE user_id = $1 AND client_id = $2",
                (user_id, client_id),
            )
            .await?;
        tx.execute(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE revoked_at IS NULL AND family_id IN \
             (SELECT family_id FROM token_families WHERE user_id = $1 AND client_id = $2)",
            (user_id, client_id, now),
        )
        .await?;
        tx.execute(
            "UPDATE token_families SET revoked_at = $3 \
             WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
            (user_id, client_id, now),
        )
        .await?;
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Consents as the admin console lists them, per client or per user.
    pub(super) async fn consents_of(&self, of: GrantsOf<'_>) -> Result<Vec<ConsentEntry>, StoreError> {
        let (column, id) = match of {
            GrantsOf::Client(id) => ("c.client_id", id),
            GrantsOf::User(id) => ("c.user_id", id),
        };
        let rows: Vec<(String, String, String, i64, String, String)> = self
            .all(
                &format!(
                    "SELECT c.user_id, c.client_id, c.scopes, c.granted_at, cl.name, u.username FROM consents c \
                     JOIN clients cl ON cl.client_id = c.client_id JOIN users u ON u.id = c.user_id \
                     WHERE {column} = $1 ORDER BY cl.name, u.username"
                ),
                (id,),
            )
            .await?;
        rows.into_iter()
            .map(|(user_id, client_id, scopes, granted_at, client_name, username)| {
                Ok(ConsentEntry {
                    consent: Consent {
                        user_id,
                        client_id,
                        scopes: scopes_of(&scopes)?,
                        granted_at,
                    },
                    client_name,
                    username,
                })
            })
            .collect()
    }
}
