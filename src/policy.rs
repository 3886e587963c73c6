//! Every lifetime and bound Tessera enforces, in one place (in the spirit of
//! node-oidc-provider's `lib/helpers/defaults.js`). Each constant says what it bounds and
//! why it has that value; the modules that enforce them re-export them under their old
//! names where other crates use those. Times are seconds, lengths say their unit.

use std::ops::RangeInclusive;

use crate::throttle::Backoff;

// --- Lifetimes ---------------------------------------------------------------------

/// How long an authorization code lives. RFC 6749 §4.1.2: "a maximum authorization code
/// lifetime of 10 minutes is RECOMMENDED"; one minute is plenty for a redirect.
pub const CODE_LIFETIME: i64 = 60;

/// How long a user has to sign in and decide on a pending authorization request: long
/// enough to type a password and read the consent screen, short enough that an abandoned
/// request does not linger in the store.
pub const PENDING_LIFETIME: i64 = 600;

/// How long a pushed authorization request's `request_uri` can be used (RFC 9126 §2.2,
/// `expires_in`): the client redirects the browser right after pushing, so a minute is
/// plenty (node-oidc-provider's default too); the request is then consumed at
/// `/authorize` and lives on as a pending request ([`PENDING_LIFETIME`]).
pub const PUSHED_REQUEST_LIFETIME: i64 = 60;

/// How long an ID token is valid. It is read once, at sign-in (OIDC Core §3.1.3.7), so an
/// hour is generous.
pub const ID_TOKEN_LIFETIME: i64 = 3600;

/// The longest any token Tessera signs can live. A retired signing key stays published
/// this long, so that every token it signed still verifies until it expires.
pub const MAX_TOKEN_LIFETIME: i64 = 24 * 3600;

/// A new client's access token lifetime: an hour, the common default; RFC 9700 §2.2 asks
/// for short-lived access tokens.
pub const ACCESS_TOKEN_LIFETIME_DEFAULT: i64 = 3600;

/// The access token lifetimes a client may be registered with: at least a minute (less
/// only produces refresh traffic), at most [`MAX_TOKEN_LIFETIME`] (a JWT access token
/// cannot be recalled before it expires, RFC 9068 §6).
pub const ACCESS_TOKEN_LIFETIME_RANGE: RangeInclusive<i64> = 60..=MAX_TOKEN_LIFETIME;

/// A new client's refresh token lifetime: 30 days, so a regular user stays signed in.
pub const REFRESH_TOKEN_LIFETIME_DEFAULT: i64 = 30 * 24 * 3600;

/// The refresh token lifetimes a client may be registered with: at least an hour (shorter
/// than an access token's would be pointless), at most a year (a grant nobody uses for a
/// year should be given again).
pub const REFRESH_TOKEN_LIFETIME_RANGE: RangeInclusive<i64> = 3600..=365 * 24 * 3600;

/// How long a grant may be refreshed in all, however often its refresh tokens rotate
/// (`--refresh-family-max-age`): each rotation slides the token's own expiry forward (the
/// client's refresh lifetime), so without a cap a grant used weekly would never end. 90
/// days, then the user signs in and approves again.
pub const REFRESH_FAMILY_MAX_AGE_DEFAULT: i64 = 90 * 24 * 3600;

/// The caps an operator may set: from an hour (a shorter one than a refresh token's
/// shortest lifetime is pointless) to five years.
pub const REFRESH_FAMILY_MAX_AGE_RANGE: RangeInclusive<i64> = 3600..=5 * 365 * 24 * 3600;

/// A browser session ends after this long without a request (sliding;
/// `--session-idle-timeout`). OWASP ASVS 4.0 §3.3.2 (level 2): 12 hours.
pub const SESSION_IDLE_TIMEOUT_DEFAULT: i64 = 12 * 3600;

/// A browser session ends this long after its user signed in, however active
/// (`--session-max-age`): ASVS §3.3.2 asks for periodic re-authentication "both when
/// actively used or after an idle period", 30 days at level 1; we take a week (43200 for
/// level 2's 12 hours).
pub const SESSION_MAX_AGE_DEFAULT: i64 = 7 * 24 * 3600;

/// Either session lifetime an operator may set: five minutes to a year.
pub const SESSION_LIFETIME_RANGE: RangeInclusive<i64> = 300..=365 * 24 * 3600;

// --- Passwords and names -------------------------------------------------------------

/// The shortest password (characters): NIST SP 800-63B §5.1.1.2's minimum for a
/// password the user chose.
pub const PASSWORD_MIN_CHARS: usize = 8;

/// The longest password (characters): enough for any passphrase, bounded so that a huge
/// body cannot make hashing expensive.
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// The longest username (characters): fits an email address used as a login name.
pub const USERNAME_MAX_CHARS: usize = 64;

/// The longest display name of a user (characters); shown in the console and in claims.
pub const USER_NAME_MAX_CHARS: usize = 100;

/// The longest email address (bytes): RFC 5321 §4.5.3.1.3's path limit less the brackets.
pub const EMAIL_MAX_BYTES: usize = 254;

/// The longest client name (characters); the consent screen shows it in a heading.
pub const CLIENT_NAME_MAX_CHARS: usize = 100;

/// The longest client description (characters); the consent screen shows it.
pub const CLIENT_DESCRIPTION_MAX_CHARS: usize = 500;

/// The longest logo URL (bytes); a URL longer than this is not a logo.
pub const LOGO_URI_MAX_BYTES: usize = 2000;

/// The longest custom scope name (bytes; a scope token is ASCII, RFC 6749 §3.3).
pub const SCOPE_NAME_MAX_BYTES: usize = 64;

/// The longest scope description (characters): one line on the consent screen.
pub const SCOPE_DESCRIPTION_MAX_CHARS: usize = 200;

/// The longest API (resource server) identifier URI (bytes), registered or sent as a
/// `resource` parameter (RFC 8707 §2).
pub const API_IDENTIFIER_MAX_BYTES: usize = 512;

/// The longest API name (characters).
pub const API_NAME_MAX_CHARS: usize = 100;

/// The most `resource` parameters one request may carry (RFC 8707 §2 lets it repeat);
/// also the most APIs one client may be allowed.
pub const MAX_RESOURCES: usize = 16;

// --- Requests ------------------------------------------------------------------------

/// The largest query or form body the protocol endpoints read (bytes), whoever sends it
/// (anonymous callers included): generous for every real client, small enough that
/// nothing is parsed or stored at an attacker's chosen size.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The most parameters in one query or form body (a few dozen at most in any real request).
pub const MAX_PARAMS: usize = 64;

// Length bounds (bytes) on what `/authorize` accepts and keeps while the user signs in:
// generous for real clients, small enough that an anonymous request cannot make the
// server store much (the whole request is kept as the pending authorization).

/// `client_id` at `/authorize` (bytes).
pub const MAX_CLIENT_ID: usize = 255;
/// `redirect_uri` at `/authorize` (bytes).
pub const MAX_REDIRECT_URI: usize = 2048;
/// `scope` at `/authorize` (bytes).
pub const MAX_SCOPE: usize = 1024;
/// `state` at `/authorize` (bytes).
pub const MAX_STATE: usize = 2048;
/// `nonce` at `/authorize` (bytes).
pub const MAX_NONCE: usize = 512;
/// `login_hint` at `/authorize` (bytes).
pub const MAX_LOGIN_HINT: usize = 256;
/// `id_token_hint` at `/authorize` (bytes): an RS256 ID token with Tessera's claims is
/// well under 2 KiB.
pub const MAX_ID_TOKEN_HINT: usize = 4096;

/// The longest pushed-request id `/authorize` looks up, after the `request_uri` prefix
/// (bytes): ours are 43 (256 bits, base64url); anything longer is not ours.
pub const MAX_PUSHED_REQUEST_ID: usize = 64;

// --- Login throttling (see `crate::throttle` for how a rule is applied) ---------------

/// Per username, known or not (so that blocking does not reveal which names exist):
/// the 5th failure in 15 minutes blocks for 1 s, doubling to at most 15 minutes.
pub const LOGIN_BACKOFF_PER_ACCOUNT: Backoff = Backoff {
    threshold: 5,
    window: 15 * 60,
    max_block: 15 * 60,
};

/// Per client address: a higher threshold (20), because several people may share one
/// address.
pub const LOGIN_BACKOFF_PER_ADDRESS: Backoff = Backoff {
    threshold: 20,
    window: 15 * 60,
    max_block: 15 * 60,
};

// --- Anonymous load and sign-in capacity ---------------------------------------------

/// Authorization requests one client address may leave pending (for the login or consent
/// page) per minute, and in a burst (#18 item 1); beyond, `temporarily_unavailable`.
pub const PENDING_PER_ADDRESS_PER_MINUTE: u32 = 60;

/// Live pending authorization requests one client may have at once (#18 item 1): what
/// anonymous callers can leave stored stays bounded even from many addresses.
pub const MAX_PENDING_PER_CLIENT: i64 = 10_000;

/// Live pushed authorization requests one client may have at once (RFC 9126 §2): a
/// public client's pushes are anonymous, so what they can leave stored stays bounded. At
/// [`PUSHED_REQUEST_LIFETIME`] a row, this still lets one client push ~160 a second.
pub const MAX_PUSHED_PER_CLIENT: i64 = 10_000;

/// Password checks that may wait for an Argon2 slot (one slot per core); beyond that the
/// answer is "busy, try again" at once (#18 item 3). At ~50 ms a hash on 2 cores the last
/// in the queue waits about 0.8 s.
pub const ARGON2_QUEUE: usize = 32;

/// The longest wait (seconds) for an account's turn: one password check per account at a
/// time on each instance, so a double-clicked "Sign in" still works (#18 item 3).
pub const ACCOUNT_TURN_WAIT: u64 = 5;

/// The largest request body the server reads at all (bytes; axum's default is 2 MiB).
/// The admin console's forms are the largest legitimate bodies, a few KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

// --- Signing keys ----------------------------------------------------------------------

/// Clock skew tolerated on `exp` when verifying our own JWTs (seconds). Issuer and
/// verifier are the same deployment on NTP-synchronised hosts, so a few seconds is plenty.
pub const JWT_LEEWAY: u64 = 5;

/// How long `tessera keys rotate` publishes a new key before it signs: relying parties
/// may cache the JWKS for five minutes (its `Cache-Control`), and a token signed with a
/// key they have not seen would fail there until their cache expires.
pub const PUBLISH_BEFORE_SIGNING: i64 = 300;

/// How often each server reloads the key set from the database, so a rotation by the CLI
/// or another instance is picked up without a restart.
pub const KEY_RELOAD_EVERY: i64 = 60;

// --- Audit log -------------------------------------------------------------------------

/// How long audit events are kept (days) unless `--audit-retention-days` says otherwise:
/// 90 days covers a quarterly review and the usual time to notice an incident. The
/// periodic sweep and `tessera purge` delete older events.
pub const AUDIT_RETENTION_DAYS_DEFAULT: u32 = 90;

/// The retention an operator may set (days): at least a day (0 is refused rather than read
/// as "forever": an unbounded table should be a visible choice, a very large number), at
/// most about a century.
pub const AUDIT_RETENTION_DAYS_RANGE: RangeInclusive<u32> = 1..=36_500;

/// Events per page of the admin console's audit log, and the most `tessera audit list`
/// prints at once.
pub const AUDIT_PAGE_SIZE: i64 = 50;

/// The longest username an audit event keeps of a failed sign-in (characters): the name
/// tried is the caller's input, so it is cut to the longest a real one can be.
pub const AUDIT_SUBJECT_MAX_CHARS: usize = USERNAME_MAX_CHARS;

// --- DPoP (RFC 9449) ---------------------------------------------------------------------

/// How far a DPoP proof's `iat` may be from now, either way (seconds). RFC 9449 §4.3 asks
/// for "a reasonable window"; §11.1 ties it to how long a `jti` must be remembered. A minute
/// covers clock skew between a client and the server and a slow network, and keeps the
/// replay state short-lived.
pub const DPOP_IAT_WINDOW: i64 = 60;

/// The largest DPoP proof read at all (bytes of the compact JWS). An RS/PS256 proof with a
/// 4096-bit key is about 2 KiB; anything far larger is refused before it is decoded.
pub const DPOP_MAX_PROOF_BYTES: usize = 8 * 1024;

/// The longest `jti` a DPoP proof may carry (bytes): RFC 9449 §4.2 asks for 96 bits of
/// randomness, a UUID or 43 base64url characters in practice.
pub const DPOP_MAX_JTI: usize = 256;

/// The `dpop_jkt` authorization parameter (RFC 9449 §10): a base64url SHA-256 thumbprint is
/// 43 characters.
pub const DPOP_JKT_LEN: usize = 43;

/// How long one server nonce (RFC 9449 §8) slot lasts (seconds). A nonce is accepted in the
/// slot it was made in and the ones either side (skew between instances), so for 1 to 2
/// minutes: as node-oidc-provider's one-minute step.
pub const DPOP_NONCE_SLOT: i64 = 60;

// --- Device authorization grant (RFC 8628; see `crate::device`) -----------------------

/// How long a device code and its user code live (seconds): RFC 8628 §3.2 `expires_in`.
/// Ten minutes, as node-oidc-provider's default: long enough to find a phone and sign in.
pub const DEVICE_CODE_LIFETIME: i64 = 600;

/// RFC 8628 §3.2 `interval`: the seconds a device waits between polls (the RFC's default, 5).
pub const DEVICE_POLL_INTERVAL: i64 = 5;

/// RFC 8628 §3.5: what a `slow_down` answer adds to the interval (seconds).
pub const DEVICE_SLOW_DOWN_STEP: i64 = 5;

/// The longest interval a device is told to wait: repeated `slow_down`s stop growing it
/// here (a minute: still usable within [`DEVICE_CODE_LIFETIME`]).
pub const DEVICE_POLL_INTERVAL_MAX: i64 = 60;

/// Device codes one client may have in flight (unexpired) at once. A public client's
/// requests are anonymous; this keeps what they can leave stored bounded per client.
pub const MAX_DEVICE_CODES_PER_CLIENT: i64 = 1_000;

/// Device codes in flight across all clients. Also keeps user codes sparse: with at most
/// 10,000 live among 20^8 (2.56e10), a random guess hits one with probability 4e-7.
pub const MAX_DEVICE_CODES: i64 = 10_000;

/// Wrong user codes per browser session (the form's CSRF token, which an anonymous visitor
/// keeps in a cookie): as a wrong password per account, the 5th blocks for 1 s, doubling.
pub const DEVICE_CODE_BACKOFF_PER_SESSION: Backoff = Backoff {
    threshold: 5,
    window: 15 * 60,
    max_block: 15 * 60,
};

/// Wrong user codes per client address: as wrong passwords per address (20), counted apart
/// from them. A guesser who drops its cookies is still held here.
pub const DEVICE_CODE_BACKOFF_PER_ADDRESS: Backoff = Backoff {
    threshold: 20,
    window: 15 * 60,
    max_block: 15 * 60,
};

// The defaults must be allowed values, and the bounds consistent: checked when compiling.
const _: () = {
    assert!(*ACCESS_TOKEN_LIFETIME_RANGE.start() <= ACCESS_TOKEN_LIFETIME_DEFAULT);
    assert!(ACCESS_TOKEN_LIFETIME_DEFAULT <= *ACCESS_TOKEN_LIFETIME_RANGE.end());
    assert!(*REFRESH_TOKEN_LIFETIME_RANGE.start() <= REFRESH_TOKEN_LIFETIME_DEFAULT);
    assert!(REFRESH_TOKEN_LIFETIME_DEFAULT <= *REFRESH_TOKEN_LIFETIME_RANGE.end());
    assert!(*ACCESS_TOKEN_LIFETIME_RANGE.end() <= MAX_TOKEN_LIFETIME);
    assert!(ID_TOKEN_LIFETIME <= MAX_TOKEN_LIFETIME);
    assert!(*REFRESH_FAMILY_MAX_AGE_RANGE.start() <= REFRESH_FAMILY_MAX_AGE_DEFAULT);
    assert!(REFRESH_FAMILY_MAX_AGE_DEFAULT <= *REFRESH_FAMILY_MAX_AGE_RANGE.end());
    assert!(*SESSION_LIFETIME_RANGE.start() <= SESSION_IDLE_TIMEOUT_DEFAULT);
    assert!(SESSION_IDLE_TIMEOUT_DEFAULT <= SESSION_MAX_AGE_DEFAULT);
    assert!(SESSION_MAX_AGE_DEFAULT <= *SESSION_LIFETIME_RANGE.end());
    // RFC 6749 §4.1.2: at most 10 minutes.
    assert!(CODE_LIFETIME <= 600);
    // A pushed request is consumed at /authorize well before the pending request it
    // becomes could expire.
    assert!(PUSHED_REQUEST_LIFETIME <= PENDING_LIFETIME);
    assert!(PASSWORD_MIN_CHARS < PASSWORD_MAX_CHARS);
    assert!(*AUDIT_RETENTION_DAYS_RANGE.start() <= AUDIT_RETENTION_DAYS_DEFAULT);
    assert!(AUDIT_RETENTION_DAYS_DEFAULT <= *AUDIT_RETENTION_DAYS_RANGE.end());
    assert!(DEVICE_POLL_INTERVAL <= DEVICE_POLL_INTERVAL_MAX);
    assert!(MAX_DEVICE_CODES_PER_CLIENT <= MAX_DEVICE_CODES);
};

/// The lifetimes an operator sets (`tessera serve --session-idle-timeout`,
/// `--session-max-age`, `--refresh-family-max-age`), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub session_idle_timeout: i64,
    pub session_max_age: i64,
    pub refresh_family_max_age: i64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            session_idle_timeout: SESSION_IDLE_TIMEOUT_DEFAULT,
            session_max_age: SESSION_MAX_AGE_DEFAULT,
            refresh_family_max_age: REFRESH_FAMILY_MAX_AGE_DEFAULT,
        }
    }
}

impl Lifetimes {
    /// Each within its range, and the idle timeout no longer than the maximum age (it
    /// would never apply). The message names the flag.
    pub fn check(&self) -> Result<(), String> {
        let within = |flag: &str, value: i64, range: &RangeInclusive<i64>| {
            if range.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "--{flag} {value}: must be {} to {} seconds",
                    range.start(),
                    range.end()
                ))
            }
        };
        within(
            "session-idle-timeout",
            self.session_idle_timeout,
            &SESSION_LIFETIME_RANGE,
        )?;
        within("session-max-age", self.session_max_age, &SESSION_LIFETIME_RANGE)?;
        within(
            "refresh-family-max-age",
            self.refresh_family_max_age,
            &REFRESH_FAMILY_MAX_AGE_RANGE,
        )?;
        if self.session_idle_timeout > self.session_max_age {
            return Err(format!(
                "--session-idle-timeout {} is longer than --session-max-age {}: it would never apply",
                self.session_idle_timeout, self.session_max_age
            ));
        }
        Ok(())
    }
}

// --- Client keys, private_key_jwt, request objects (RFC 7523, RFC 9101) ------------

/// The longest `client_assertion` accepted (bytes). An RS256 assertion with a 4096-bit key
/// is about 1.2 KiB; anything near this bound is not an assertion.
pub const CLIENT_ASSERTION_MAX_BYTES: usize = 8 * 1024;

/// How far ahead of now an assertion's `exp` may be. RFC 7523 §3 lets the server limit
/// it; a short window bounds how long its `jti` must be remembered (node-oidc-provider
/// and FAPI 2.0 peers use minutes).
pub const CLIENT_ASSERTION_MAX_AHEAD: i64 = 300;

/// Tolerated clock difference with a client (seconds) for `iat`/`nbf` in the future and
/// `exp` just passed.
pub const CLIENT_CLOCK_SKEW: i64 = 60;

/// The longest `request` object accepted (bytes); the query or form carrying it is
/// bounded by [`MAX_FORM_BYTES`] anyway.
pub const REQUEST_OBJECT_MAX_BYTES: usize = MAX_FORM_BYTES;

/// How far ahead of now a request object's `exp` may be. FAPI 2.0 Message Signing §5.3.1:
/// no longer than 60 minutes.
pub const REQUEST_OBJECT_MAX_AHEAD: i64 = 3600;

/// A client's registered JWK Set (inline, or fetched from its `jwks_uri`): at most this
/// many bytes and keys.
pub const CLIENT_JWKS_MAX_BYTES: usize = 32 * 1024;
pub const CLIENT_JWKS_MAX_KEYS: usize = 16;

/// The longest `jwks_uri` a client may register (bytes).
pub const JWKS_URI_MAX_BYTES: usize = 2000;

/// Fetching a client's `jwks_uri`: the whole request's timeout (seconds), how long a
/// fetched set is used before fetching again, and the least time between two fetches of
/// one URI (an unknown `kid` refetches, but a client cannot make us hammer its URI).
pub const JWKS_URI_FETCH_TIMEOUT_SECS: u64 = 5;
pub const JWKS_URI_CACHE_TTL: i64 = 300;
pub const JWKS_URI_MIN_REFETCH: i64 = 60;

/// Client ID Metadata Documents (`crate::client_metadata`): the longest client_id URL
/// (bytes), the largest document read (the draft suggests 5 kilobytes), the fetch's
/// timeout (seconds), and the bounds on how long a fetched document is used before it is
/// fetched again, whatever its `Cache-Control` says (seconds).
pub const METADATA_URL_MAX_BYTES: usize = 2000;
pub const METADATA_DOCUMENT_MAX_BYTES: usize = 5 * 1024;
pub const METADATA_DOCUMENT_FETCH_TIMEOUT_SECS: u64 = 5;
pub const METADATA_DOCUMENT_CACHE_MIN: i64 = 60;
pub const METADATA_DOCUMENT_CACHE_MAX: i64 = 24 * 3600;
/// The most clients known by a metadata document kept in `clients` at once: past it, the
/// oldest is removed (with its grants) to make room, so anonymous callers naming new URLs
/// cannot grow the table without limit.
pub const METADATA_CLIENTS_MAX: usize = 1000;

// --- Dynamic client registration (RFC 7591/7592, `crate::dynamic_registration`) ------

/// The largest registration request (bytes): client metadata with an inline JWK Set of a
/// few keys fits many times over.
pub const REGISTRATION_MAX_BODY_BYTES: usize = 32 * 1024;

/// The most redirect URIs one dynamically registered client may list.
pub const REGISTRATION_MAX_REDIRECT_URIS: usize = 10;

/// The most clients `open` mode lets anonymous callers register (and keep: the janitor
/// removes those never used). Past it, `/register` refuses until some are removed.
pub const REGISTRATION_OPEN_MAX_CLIENTS: i64 = 1_000;

/// How long a dynamically registered client may go without being issued a token before
/// the janitor removes it (seconds; `serve --registration-unused-ttl`): 7 days.
pub const REGISTRATION_UNUSED_TTL_DEFAULT: i64 = 7 * 86_400;

/// The longest an initial access token may live (seconds): one year.
pub const INITIAL_ACCESS_TOKEN_MAX_LIFETIME: i64 = 365 * 86_400;

/// The most registrations one initial access token may allow.
pub const INITIAL_ACCESS_TOKEN_MAX_USES: i64 = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_checked() {
        assert_eq!(Lifetimes::default().check(), Ok(()));
        let with = |f: fn(&mut Lifetimes)| {
            let mut l = Lifetimes::default();
            f(&mut l);
            l.check()
        };
        let e = with(|l| l.session_max_age = 10).unwrap_err();
        assert!(e.contains("--session-max-age 10"), "{e}");
        let e = with(|l| l.refresh_family_max_age = 60).unwrap_err();
        assert!(e.contains("--refresh-family-max-age"), "{e}");
        let e = with(|l| {
            l.session_idle_timeout = 7200;
            l.session_max_age = 3600;
        })
        .unwrap_err();
        assert!(e.contains("never apply"), "{e}");
        assert_eq!(with(|l| l.session_idle_timeout = l.session_max_age), Ok(()));
    }
}
