//! `tessera backup PATH`: a consistent copy of a SQLite database, taken while servers use
//! it. `VACUUM INTO` reads the database in one transaction, so the copy is the database as
//! of one instant (WAL mode: writers are not blocked meanwhile), compacted. PostgreSQL has
//! its own tool for this, `pg_dump`.

use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

use super::redact_url;

/// Copies the SQLite database at `url` to `to` (which must not exist); its size in bytes.
pub async fn backup(url: &str, to: &Path) -> anyhow::Result<u64> {
    let shown = redact_url(url);
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        bail!("tessera backup copies SQLite databases; for PostgreSQL use pg_dump (README, \"Backups\")");
    }
    if !url.starts_with("sqlite:") {
        bail!("unsupported database URL {shown}: use sqlite://PATH");
    }
    if to.exists() {
        bail!("{} already exists; a backup never overwrites a file", to.display());
    }
    let target = to.to_str().context("the backup path is not valid UTF-8")?;
    // Read-only and never created: a mistyped path is an error, not an empty backup.
    let mut conn = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("invalid database URL {shown}"))?
        .create_if_missing(false)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("cannot open {shown}"))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot write the backup to {}", to.display()))?;
    Ok(std::fs::metadata(to)?.len())
}
