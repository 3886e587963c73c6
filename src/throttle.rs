//! Login back-off: how many wrong passwords an account, or a client address, may send
//! before it has to wait, and for how long. The counters live in the database (see
//! [`crate::store::AccountStore`]) so every instance sees the same ones.
//!
//! The policy: within a window of 15 minutes, the `threshold`-th failure and every one
//! after it blocks further attempts for 2^(failures − threshold) seconds, at most 15
//! minutes (1 s, 2 s, 4 s, … 512 s, then 900 s). Per account the threshold is 5, per
//! client address 20 (several people may share one address). A successful sign-in clears
//! the account's counter. While blocked, an attempt is refused before the password is
//! checked, so a blocked guesser costs no Argon2 work and learns nothing.

use std::net::IpAddr;

use crate::types::Username;

/// One back-off rule. Times are seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures in one window before the first block.
    pub threshold: i64,
    /// How long a run of failures is remembered, from its first failure.
    pub window: i64,
    /// The longest single block.
    pub max_block: i64,
}

/// The two rules, per username and per client address; their numbers are in [`crate::policy`].
pub use crate::policy::{LOGIN_BACKOFF_PER_ACCOUNT as PER_ACCOUNT, LOGIN_BACKOFF_PER_ADDRESS as PER_ADDRESS};

impl Backoff {
    /// Seconds to block after the `failures`-th failure of a window; 0 below the threshold.
    pub fn block_for(&self, failures: i64) -> i64 {
        if failures < self.threshold {
            return 0;
        }
        let exp = failures - self.threshold;
        // 2^10 already exceeds any sensible cap; avoid overflowing the shift.
        if exp >= 30 {
            return self.max_block;
        }
        (1_i64 << exp).min(self.max_block)
    }
}

/// The counter key of a username, normalized the way sign-in looks it up
/// ([`Username::normalise`]). A name longer than any account's
/// ([`crate::policy::USERNAME_MAX_CHARS`]) is keyed by its SHA-256: still one counter per
/// name, but the row (kept a day) does not grow with what a caller typed.
pub fn account_key(username: &str) -> String {
    let name = Username::normalise(username);
    if name.chars().count() <= crate::policy::USERNAME_MAX_CHARS {
        format!("user:{name}")
    } else {
        format!("user:sha256:{}", crate::secret::hash_secret(&name))
    }
}

/// The counter key of a client address. IPv6 addresses count per /64, the block one
/// subscriber usually holds, so rotating through it does not reset the counter.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Whole seconds until the first second after `blocked_until` (the block covers that
/// second too), at least 1: what "try again in N seconds" and `Retry-After` say, and
/// waiting that long is always enough.
pub fn retry_after(blocked_until: i64, now: i64) -> i64 {
    (blocked_until - now + 1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_doubles_from_the_threshold_up_to_the_cap() {
        let table = [
            (0, 0),
            (4, 0),
            (5, 1),
            (6, 2),
            (7, 4),
            (14, 512),
            (15, 900),
            (40, 900),
            (i64::MAX, 900),
        ];
        for (failures, want) in table {
            assert_eq!(PER_ACCOUNT.block_for(failures), want, "{failures} failures");
        }
        assert_eq!(PER_ADDRESS.block_for(19), 0);
        assert_eq!(PER_ADDRESS.block_for(20), 1);
    }

    /// #18: a counter row lives a day; its key must not grow with what a caller typed.
    #[test]
    fn account_keys_are_bounded() {
        let long = "A".repeat(100_000);
        let key = account_key(&long);
        assert!(key.len() <= 80, "{} bytes", key.len());
        // Still one counter per name, case-insensitively, and apart from other names.
        assert_eq!(key, account_key(&long.to_ascii_lowercase()));
        assert_ne!(key, account_key(&"A".repeat(100_001)));
        // Every name an account can have keeps its readable key.
        let longest = "a".repeat(crate::types::MAX_USERNAME_CHARS);
        assert_eq!(account_key(&longest), format!("user:{longest}"));
    }

    #[test]
    fn keys() {
        assert_eq!(account_key("  Alice "), "user:alice");
        assert_eq!(
            address_key("192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))),
            "ip:192.0.2.7"
        );
        let v6: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(address_key(v6), "ip:2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(address_key(mapped), "ip:192.0.2.7");
    }

    #[test]
    fn retry_is_at_least_one_second() {
        assert_eq!(retry_after(110, 100), 11);
        assert_eq!(retry_after(100, 100), 1);
        assert_eq!(retry_after(99, 100), 1);
    }
}
