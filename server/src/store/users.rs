//! Users (`users`): accounts, their Argon2id hashes, password epochs and flags.

use tessera_core::store::{NewUser, StoreError, User};

use super::engine::SqlStore;
use super::query::conflict;
use super::rows::{CredentialRow, UserRow, USER_COLUMNS};

impl SqlStore {
    pub(super) async fn create_user(&self, user: NewUser, now: i64) -> Result<User, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.execute(
            "INSERT INTO users (id, username, password_hash, email, name, is_admin, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)",
            (
                &id,
                user.username.as_str(),
                &user.password_hash,
                &user.email,
                &user.name,
                user.is_admin,
                now,
            ),
        )
        .await
        .map_err(conflict("username"))?;
        Ok(User {
            id,
            username: user.username.as_str().to_owned(),
            email: user.email,
            name: user.name,
            is_admin: user.is_admin,
            disabled: false,
            created_at: now,
            password_epoch: 0,
        })
    }

    pub(super) async fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = self
            .optional(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"), (id,))
            .await?;
        Ok(row.map(User::from))
    }

    pub(super) async fn credentials_by_username(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<CredentialRow> = self
            .optional(
                &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1"),
                (username,),
            )
            .await?;
        Ok(row.map(|r| (User::from(r.user), r.password_hash)))
    }

    pub(super) async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = self
            .all(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY username"), ())
            .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub(super) async fn count_users(&self) -> Result<i64, StoreError> {
        let (n,) = self.one("SELECT COUNT(*) FROM users", ()).await?;
        Ok(n)
    }

    pub(super) async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<Option<i64>, StoreError> {
        let epoch: Option<(i64,)> = self
            .optional(
                "UPDATE users SET password_hash = $2, password_epoch = password_epoch + 1 WHERE id = $1 \
                 RETURNING password_epoch",
                (user_id, password_hash),
            )
            .await?;
        Ok(epoch.map(|(n,)| n))
    }

    /// Users whose username, email or name contains `q`, `%`, `_` and `\` taken literally.
    pub(super) async fn search_users(&self, q: &str) -> Result<Vec<User>, StoreError> {
        let escaped: String = q
            .trim()
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        let rows: Vec<UserRow> = self
            .all(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE LOWER(username) LIKE $1 ESCAPE '\\' \
                     OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' \
                     ORDER BY username"
                ),
                (&pattern,),
            )
            .await?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub(super) async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<bool, StoreError> {
        let changed = self
            .execute("UPDATE users SET disabled = $2 WHERE id = $1", (user_id, disabled))
            .await?;
        Ok(changed > 0)
    }

    pub(super) async fn set_user_admin(&self, user_id: &str, is_admin: bool) -> Result<bool, StoreError> {
        let changed = self
            .execute("UPDATE users SET is_admin = $2 WHERE id = $1", (user_id, is_admin))
            .await?;
        Ok(changed > 0)
    }
}
