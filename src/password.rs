//! Human passwords: Argon2id with the `argon2` crate's defaults (m = 19 MiB, t = 2,
//! p = 1, the OWASP minimum), stored as a PHC string that carries its own parameters.
//!
//! Argon2's 19 MiB of working memory is reused from a small shared pool: allocated per
//! hash, glibc kept a freed 19 MiB block in the malloc arena of every thread that ever
//! hashed (570 MiB after 32 concurrent sign-ins on the blocking pool). The server hashes at
//! most one password per core at a time, so the pool holds one block per core.

use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use thiserror::Error;

/// Password length bounds (characters), from [`crate::policy`].
pub use crate::policy::{PASSWORD_MAX_CHARS as MAX_LEN, PASSWORD_MIN_CHARS as MIN_LEN};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("password could not be hashed")]
    Hash,
}

/// Blocks of Argon2 memory not in use; at most one per core is kept.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `argon` over `password` and `salt` into `out`, in a block of reused memory.
fn argon2_into(argon: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let mut memory = MEMORY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default();
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory = argon2_memory(blocks);
    }
    let ok = memory.get_mut(..blocks).is_some_and(|blocks| {
        argon
            .hash_password_into_with_memory(password, salt, out, blocks)
            .is_ok()
    });
    let keep = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut pool = MEMORY.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < keep {
        pool.push(memory);
    }
    ok
}

/// `blocks` blocks of fresh Argon2 working memory, zeroed, asked to be backed by
/// transparent huge pages (Linux, where the kernel offers them for advised memory, as
/// its default `madvise` mode does). Argon2 reads a pseudo-random earlier block for every
/// block it computes; over 19 MiB of 4 KiB pages most of those reads missed the TLB.
/// Measured on the project's 2-core machine, both cores hashing: 71–73 → 78 hashes/s per
/// core. The benchmark's Argon2id floor uses this same memory (`tessera-bench floors`).
pub fn argon2_memory(blocks: usize) -> Vec<Block> {
    let mut memory: Vec<Block> = Vec::with_capacity(blocks);
    #[cfg(target_os = "linux")]
    advise_huge_pages(memory.as_mut_ptr(), blocks);
    memory.resize(blocks, Block::default());
    memory
}

/// Asks the kernel to back the 2 MiB-aligned part of `blocks` blocks at `start` with huge
/// pages. Done before the memory is first written, so the first touch faults huge pages in.
#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut Block, blocks: usize) {
    const HUGE_PAGE: usize = 2 << 20;
    let from = (start as usize).next_multiple_of(HUGE_PAGE);
    let to = (start as usize + blocks * std::mem::size_of::<Block>()) / HUGE_PAGE * HUGE_PAGE;
    if to > from {
        // SAFETY: [from, to) lies inside the allocation just made for `blocks` blocks and
        // is page-aligned. MADV_HUGEPAGE changes only how the kernel backs those pages,
        // never their contents or whether they are mapped; if the kernel has no
        // transparent huge pages it fails, which changes nothing, so the result is ignored.
        unsafe {
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}

/// Checks the length rules and returns the Argon2id PHC string.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|_| PasswordError::Hash)?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !argon2_into(&argon, &params, password.as_bytes(), salt_bytes, &mut out) {
        return Err(PasswordError::Hash);
    }
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|_| PasswordError::Hash)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|_| PasswordError::Hash)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string, using the algorithm, version and
/// parameters it names. A malformed stored hash never matches. The comparison is
/// constant-time (`Output`'s equality).
pub fn verify_password(password: &str, stored: &str) -> bool {
    if password.len() > MAX_LEN * 4 {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon, &params, password.as_bytes(), salt_bytes, &mut out)
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Spends the same time as a real verification, for unknown usernames, so that response
/// time does not reveal which usernames exist.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash_password(&crate::secret::random_token()).unwrap_or_default());
    let _ = verify_password(password, stored);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the kernel hands out transparent huge pages on request (`madvise`, its
    /// default, or `always`), Argon2's memory gets them.
    #[cfg(target_os = "linux")]
    #[test]
    fn argon2_memory_is_backed_by_huge_pages_where_the_kernel_offers_them() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
        let memory = argon2_memory(Params::default().block_count());
        assert_eq!(memory.len(), Params::default().block_count());
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
        if !(mode.contains("[madvise]") || mode.contains("[always]")) {
            return; // no huge pages on this kernel: nothing more to check
        }
        // The advised part becomes mappings of its own: add up every mapping the memory spans.
        let (start, end) = (memory.as_ptr() as usize, memory.as_ptr_range().end as usize);
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
        let mut overlaps = false;
        let mut huge_kb = 0;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if let Some((lo, hi)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
                let lo = usize::from_str_radix(lo, 16).unwrap_or(usize::MAX);
                let hi = usize::from_str_radix(hi, 16).unwrap_or(0);
                overlaps = lo < end && start < hi;
            } else if overlaps && first == "AnonHugePages:" {
                huge_kb += line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        // 19 MiB holds at least eight whole 2 MiB pages wherever it starts; ask for one, as
        // the kernel falls back to small pages for any it cannot find free (fragmentation).
        assert!(
            huge_kb >= 2048,
            "{huge_kb} kB of huge pages under Argon2's memory (mode {mode:?})"
        );
    }

    #[test]
    fn round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash_password("password1").unwrap(), hash_password("password1").unwrap());
    }

    #[test]
    fn length_rules() {
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(hash_password(&"x".repeat(MAX_LEN + 1)), Err(PasswordError::TooLong));
    }

    #[test]
    fn dummy_verification_is_a_real_argon2_check() {
        // Must cost as much as a real check: it only does if the dummy hash parses.
        let start = std::time::Instant::now();
        verify_against_dummy("whatever");
        verify_against_dummy("whatever");
        let h = hash_password("whatever1").unwrap();
        assert!(PasswordHash::new(&h).is_ok());
        assert!(start.elapsed() > std::time::Duration::from_millis(1));
    }

    /// Hashes stored before the memory was reused (the crate's own hasher), and hashes with
    /// other parameters or variants, verify; ours verify with the crate's own verifier.
    #[test]
    fn same_results_as_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"pass-word-1", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password("pass-word-1", &theirs));
        assert!(!verify_password("pass-word-2", &theirs));

        // Another variant and smaller memory, after a larger hash used this thread's memory.
        let small = Params::new(4096, 3, 1, Some(16)).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, small);
        let other = argon2i.hash_password(b"pass-word-1", &salt).unwrap().to_string();
        assert!(verify_password("pass-word-1", &other));
        assert!(!verify_password("pass-word-1x", &other));

        let ours = hash_password("pass-word-1").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pass-word-1", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"pass-word-2", &parsed).is_err());
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        assert!(!verify_password("anything", "not-a-phc-string"));
        assert!(!verify_password("anything", ""));
    }
}
