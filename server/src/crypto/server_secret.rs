//! The server secret: one random value, from the environment or a file, from which Tessera
//! derives what must stay secret at rest — the key that encrypts the signing keys in the
//! database (a key-encryption key), the demo client's secret, the key that seals the
//! demo's tokens inside its session. The database alone is then not enough to sign tokens.
//!
//! Where it comes from, first found wins:
//! 1. `TESSERA_SECRET`: the secret itself (at least 32 characters);
//! 2. `TESSERA_SECRET_FILE`: a file holding it;
//! 3. `data/tessera.secret`: created on first start (32 random bytes, base64url, mode
//!    0600), like the default SQLite database next to it.
//!
//! Every instance on one database needs the same secret. Rotation: start with the new
//! secret in `TESSERA_SECRET` (or the file) and the old one in `TESSERA_SECRET_PREVIOUS`
//! (comma-separated, newest first); at start the signing keys are re-encrypted under the
//! new one, after which the old one can go.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

pub const SECRET_ENV: &str = "TESSERA_SECRET";
pub const SECRET_FILE_ENV: &str = "TESSERA_SECRET_FILE";
pub const PREVIOUS_ENV: &str = "TESSERA_SECRET_PREVIOUS";
pub const DEFAULT_SECRET_FILE: &str = "data/tessera.secret";
/// The shortest secret accepted, in bytes (256 bits as base64 is 43 characters).
pub const MIN_SECRET_LEN: usize = 32;

/// The current secret and the ones it replaced (still read, never written with).
pub struct ServerSecret {
    current: Vec<u8>,
    previous: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSecret")
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

impl ServerSecret {
    /// `current` and `previous` as configured; each at least [`MIN_SECRET_LEN`] bytes.
    pub fn new(current: &str, previous: &[&str]) -> anyhow::Result<Self> {
        let check = |s: &str, what: &str| -> anyhow::Result<Vec<u8>> {
            let s = s.trim();
            if s.len() < MIN_SECRET_LEN {
                bail!("{what} is too short: at least {MIN_SECRET_LEN} characters (e.g. `openssl rand -base64 32`)");
            }
            Ok(s.as_bytes().to_vec())
        };
        Ok(Self {
            current: check(current, "the server secret")?,
            previous: previous
                .iter()
                .map(|p| check(p, PREVIOUS_ENV))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// A fresh random secret (tests, and servers built in-process without one).
    pub fn random() -> Self {
        Self {
            current: random_secret().into_bytes(),
            previous: Vec::new(),
        }
    }

    /// The secret as configured (see the module documentation); `serve` creates the
    /// default file when nothing is configured.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_with(true)
    }

    /// The secret as configured, never creating one: for the commands that work next to a
    /// server (`tessera keys …`), which must use the server's secret, not a new one.
    pub fn load_existing() -> anyhow::Result<Self> {
        Self::load_with(false)
    }

    fn load_with(create_default: bool) -> anyhow::Result<Self> {
        let previous_raw = std::env::var(PREVIOUS_ENV).unwrap_or_default();
        let previous: Vec<&str> = previous_raw.split(',').filter(|s| !s.trim().is_empty()).collect();
        if let Ok(secret) = std::env::var(SECRET_ENV) {
            return Self::new(&secret, &previous).context(SECRET_ENV);
        }
        let (path, create) = match std::env::var_os(SECRET_FILE_ENV) {
            Some(p) => (PathBuf::from(p), false),
            None => (PathBuf::from(DEFAULT_SECRET_FILE), create_default),
        };
        let secret = read_or_create(&path, create)?;
        Self::new(&secret, &previous).with_context(|| format!("the secret in {}", path.display()))
    }

    /// A 256-bit key for `label` under the current secret: HMAC-SHA256(secret, label).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        derive(&self.current, label)
    }

    /// Authenticated encryption for `label`: seals with the current secret's key, opens
    /// with it or any previous one's.
    pub fn sealer(&self, label: &str) -> Sealer {
        let mut keys = vec![derive(&self.current, label)];
        keys.extend(self.previous.iter().map(|p| derive(p, label)));
        Sealer::new(&keys)
    }
}

fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, label.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // The system RNG failing is not something to go on from.
    if SystemRandom::new().fill(&mut bytes).is_err() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

fn read_or_create(path: &Path, create: bool) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let secret = random_secret();
            if secret.is_empty() {
                bail!("the system random number generator failed");
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            write_private(path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(
                file = %path.display(),
                "created the server secret; every instance on this database needs the same one \
                 (TESSERA_SECRET or TESSERA_SECRET_FILE)"
            );
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read the server secret from {} (set {SECRET_ENV} or {SECRET_FILE_ENV} to the server's)",
                path.display()
            )
        }),
    }
}

/// Creates `path` readable only by its owner, failing if it exists (never overwrites).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

/// The prefix of everything a [`Sealer`] sealed: a stored value that lacks it was written
/// before encryption at rest (read as it is, and re-sealed by the caller).
const MAGIC: &[u8] = b"tsealed1";

/// AES-256-GCM with a random 96-bit nonce per message: `MAGIC || nonce || ciphertext+tag`.
/// The associated data binds a sealed value to where it belongs (a key's kid), so one
/// cannot be swapped for another.
pub struct Sealer {
    keys: Vec<LessSafeKey>,
}

impl Sealer {
    fn new(keys: &[[u8; 32]]) -> Self {
        Self {
            keys: keys
                .iter()
                .filter_map(|k| UnboundKey::new(&AES_256_GCM, k).ok().map(LessSafeKey::new))
                .collect(),
        }
    }

    /// Whether `stored` was sealed (by any key) rather than written in the clear.
    pub fn is_sealed(stored: &[u8]) -> bool {
        stored.starts_with(MAGIC)
    }

    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        let key = self.keys.first().context("no sealing key")?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
        let mut in_out = plaintext.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut in_out)
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + in_out.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// The plaintext, and whether it was sealed under the current key (`false`: under a
    /// previous one, so the caller should seal it again). `None` if no key opens it.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<(Vec<u8>, bool)> {
        let rest = sealed.strip_prefix(MAGIC)?;
        let nonce: [u8; NONCE_LEN] = rest.get(..NONCE_LEN)?.try_into().ok()?;
        let body = rest.get(NONCE_LEN..)?;
        self.keys.iter().enumerate().find_map(|(i, key)| {
            let mut in_out = body.to_vec();
            let plain = key
                .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut in_out)
                .ok()?;
            Some((plain.to_vec(), i == 0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "an-example-secret-of-at-least-32-bytes-a";
    const B: &str = "an-example-secret-of-at-least-32-bytes-b";

    #[test]
    fn seals_opens_and_binds_to_its_place() {
        let s = ServerSecret::new(A, &[]).unwrap().sealer("label");
        let sealed = s.seal(b"private key", b"kid-1").unwrap();
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.windows(11).any(|w| w == b"private key"), "not in the clear");
        assert_eq!(s.open(&sealed, b"kid-1"), Some((b"private key".to_vec(), true)));
        assert_eq!(s.open(&sealed, b"kid-2"), None, "moved to another kid");
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(s.open(&tampered, b"kid-1"), None);
        assert_eq!(s.open(b"plain", b"kid-1"), None);
        // Another label is another key.
        assert_eq!(
            ServerSecret::new(A, &[])
                .unwrap()
                .sealer("other")
                .open(&sealed, b"kid-1"),
            None
        );
        // Two seals of one value differ (random nonce).
        assert_ne!(s.seal(b"x", b"").unwrap(), s.seal(b"x", b"").unwrap());
    }

    #[test]
    fn rotation_opens_with_previous_secrets_and_says_so() {
        let old = ServerSecret::new(A, &[]).unwrap().sealer("l");
        let sealed = old.seal(b"v", b"").unwrap();
        let rotated = ServerSecret::new(B, &[A]).unwrap().sealer("l");
        assert_eq!(
            rotated.open(&sealed, b""),
            Some((b"v".to_vec(), false)),
            "needs resealing"
        );
        let resealed = rotated.seal(b"v", b"").unwrap();
        assert_eq!(rotated.open(&resealed, b""), Some((b"v".to_vec(), true)));
        assert_eq!(old.open(&resealed, b""), None, "the old secret cannot read the new");
        assert_eq!(ServerSecret::new(B, &[]).unwrap().sealer("l").open(&sealed, b""), None);
    }

    #[test]
    fn short_secrets_are_refused_and_derivation_is_stable() {
        assert!(ServerSecret::new("too-short", &[]).is_err());
        assert!(ServerSecret::new(A, &["short"]).is_err());
        let s = ServerSecret::new(A, &[]).unwrap();
        assert_eq!(s.derive("x"), ServerSecret::new(A, &[]).unwrap().derive("x"));
        assert_ne!(s.derive("x"), s.derive("y"));
        assert_ne!(s.derive("x"), ServerSecret::new(B, &[]).unwrap().derive("x"));
    }

    #[test]
    fn the_secret_file_is_created_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tessera.secret");
        let first = read_or_create(&path, true).unwrap();
        assert!(first.len() >= MIN_SECRET_LEN);
        assert_eq!(read_or_create(&path, true).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(
            read_or_create(&dir.path().join("missing"), false).is_err(),
            "a named file must exist"
        );
    }
}
