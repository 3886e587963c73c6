//! `tessera serve --demo`: on a new database, an admin user, with its credentials printed
//! once (and saved to a file only the current user can read), and where to find the
//! step-by-step demo. The demo's page and client (`tessera-demo`, registered by
//! [`crate::demo::client::ensure`]) exist only with `--demo` (or `--demo-client`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tessera_core::password::hash_password;
use tessera_core::secret::random_token;
use tessera_core::store::NewUser;
use tessera_core::types::Username;

use crate::config::Config;
use crate::store::Database;

pub const ADMIN_USERNAME: &str = "admin";
pub const CREDENTIALS_FILE: &str = "data/demo-credentials.txt";

/// Creates the demo data if the database has no users yet; prints where to go either way.
pub async fn ensure(db: &Database, config: &Config) -> anyhow::Result<()> {
    if db.store.count_users().await? > 0 {
        let saved = Path::new(CREDENTIALS_FILE).exists();
        println!("\nTessera is running: start at {}/", config.issuer);
        println!("The step-by-step demo: {}/demo", config.issuer);
        if saved {
            println!("The demo credentials from the first start are in {CREDENTIALS_FILE}.\n");
        }
        return Ok(());
    }

    let password: String = random_token().chars().take(20).collect();
    let password_hash = hash_password(&password)?;
    let admin = db
        .store
        .create_user(
            NewUser {
                username: Username::parse(ADMIN_USERNAME)?,
                password_hash,
                email: None,
                name: Some("Administrator".into()),
                is_admin: true,
            },
            crate::now(),
        )
        .await?;

    let text = format!(
        "Tessera demo credentials\n\
         \n  Start page:         {issuer}/  (sign in there as the admin)\
         \n  Admin username:     {user}\
         \n  Admin password:     {password}\
         \n  Step-by-step demo:  {issuer}/demo\n",
        issuer = config.issuer,
        user = admin.username,
    );
    println!("\n{text}\nThey are shown once; a copy is in {CREDENTIALS_FILE} (readable only by you).\n");
    save_private(Path::new(CREDENTIALS_FILE), &text).context("cannot save the demo credentials")?;
    Ok(())
}

fn save_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}
