//! Property-based fuzzing of the protocol core (security issue #18): the form parser and its
//! bounds, the `/authorize` request validation, redirect-URI matching, PKCE, scopes and
//! usernames, client authentication and token request parsing. JWT parsing is not here: the
//! core has none (it lives in the server crate, `server/src/crypto/jwt.rs`).
//!
//! Each property asserts what the RFC (or the documented contract in `src/`) says the answer
//! must be, usually against a small reference model written here from the specification.
//!
//! Bounded by default ([`DEFAULT_CASES`] cases per property, a few seconds in a debug build).
//! `PROPTEST_CASES=N` overrides it (`proptest!` runs the config through
//! `contextualize_config`, which reads the `PROPTEST_*` variables); other knobs such as
//! `PROPTEST_RNG_SEED` work the same way. Failures are never persisted to files: a failing run
//! prints the minimal input, which belongs below as a plain `#[test]`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use sha2::{Digest, Sha256};

use tessera_core::authorize::{
    self, AuthorizeRequest, Prompt, MAX_CLIENT_ID, MAX_LOGIN_HINT, MAX_NONCE, MAX_REDIRECT_URI, MAX_SCOPE, MAX_STATE,
};
use tessera_core::client_auth::PresentedClient;
use tessera_core::error::{AuthorizeError, ErrorCode, OAuthError};
use tessera_core::params::{self, check_bounds, form_urldecode, parse_form, FormError, MAX_FORM_BYTES, MAX_PARAMS};
use tessera_core::pkce::{verifier_syntax_ok, PkceChallenge};
use tessera_core::store::{Client, ClientSettings};
use tessera_core::token::TokenRequest;
use tessera_core::types::{RedirectUri, ScopeSet, Username, MAX_USERNAME_CHARS};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 1024;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: DEFAULT_CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

type Pairs = Vec<(String, String)>;

// ---------------------------------------------------------------------------------------
// Reference models and helpers
// ---------------------------------------------------------------------------------------

fn hex(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// WHATWG `application/x-www-form-urlencoded` decoding of one name or value, strict: `+`
/// is a space, `%` MUST be followed by two hex digits, the result MUST be UTF-8.
fn strict_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                out.push(hi << 4 | lo);
            }
            other => out.push(other),
        }
    }
    String::from_utf8(out).ok()
}

fn model_bounds(body: &[u8]) -> Result<(), FormError> {
    if body.len() > MAX_FORM_BYTES {
        Err(FormError::TooLarge)
    } else if body.iter().filter(|&&b| b == b'&').count() >= MAX_PARAMS {
        Err(FormError::TooManyParams)
    } else {
        Ok(())
    }
}

fn model_parse_form(body: &[u8]) -> Result<Pairs, FormError> {
    model_bounds(body)?;
    let s = std::str::from_utf8(body).map_err(|_| FormError::Malformed)?;
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((
                strict_decode(k).ok_or(FormError::Malformed)?,
                strict_decode(v).ok_or(FormError::Malformed)?,
            ))
        })
        .collect()
}

fn count(pairs: &[(String, String)], name: &str) -> usize {
    pairs.iter().filter(|(k, _)| k == name).count()
}

/// RFC 6749 §3.1: the first occurrence, an empty value read as omitted.
fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn owned(list: &[(&str, &str)]) -> Pairs {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// RFC 8252 §7.3 as Tessera documents it: an http loopback *IP* URI with its port
/// (1 to 5 digits) removed; `None` for anything else.
fn loopback_key(uri: &str) -> Option<String> {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let Some(rest) = uri.strip_prefix(host) else { continue };
        let rest = match rest.strip_prefix(':') {
            Some(after) => {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if !(1..=5).contains(&digits) {
                    return None;
                }
                after.get(digits..)?
            }
            None => rest,
        };
        return (rest.is_empty() || rest.starts_with(['/', '?'])).then(|| format!("{host}{rest}"));
    }
    None
}

/// Whether `given` may be used as the redirect URI of `client` (RFC 9700 §4.1.3 exact
/// match, plus the loopback port exception for public clients).
fn redirect_allowed(given: &str, client: &Client) -> bool {
    client.redirect_uris.iter().any(|r| r.as_str() == given)
        || (client.is_public
            && RedirectUri::parse(given).is_ok()
            && loopback_key(given).is_some_and(|g| {
                client
                    .redirect_uris
                    .iter()
                    .any(|r| loopback_key(r.as_str()).as_deref() == Some(g.as_str()))
            }))
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A string of arbitrary chars (control characters, NUL, surrogates' neighbours, emoji...).
fn text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..=max).prop_map(|v| v.into_iter().collect())
}

fn nonempty_text(max: usize) -> impl Strategy<Value = String> {
    vec(any::<char>(), 1..=max).prop_map(|v| v.into_iter().collect())
}

// ---------------------------------------------------------------------------------------
// Clients for /authorize
// ---------------------------------------------------------------------------------------

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const NOW: i64 = 1000;

fn client(id: &str, public: bool, uris: &[&str], scopes: &str) -> Client {
    Client {
        client_id: id.to_owned(),
        name: id.to_owned(),
        secret_hash: None,
        redirect_uris: uris.iter().map(|u| RedirectUri::parse(u).unwrap()).collect(),
        scopes: ScopeSet::parse(scopes).unwrap(),
        is_public: public,
        created_at: 0,
        settings: ClientSettings::default(),
    }
}

fn clients() -> Vec<Client> {
    vec![
        client(
            "conf",
            false,
            &[
                "https://app.example/cb",
                "https://app.example/cb2?x=1",
                "http://127.0.0.1:8080/cb",
            ],
            "openid profile email api legacy",
        ),
        client(
            "pub",
            true,
            &["http://127.0.0.1/cb", "http://[::1]:9/cb", "com.example.app:/cb"],
            "openid profile",
        ),
        client("single", false, &["https://one.example/cb"], "api openid"),
    ]
}

fn known_scope(s: &str) -> bool {
    s != "legacy"
}

/// Looks the client up as the server does, then validates.
fn run_authorize(
    pairs: &[(String, String)],
    require_pkce: bool,
) -> (Option<Client>, Result<AuthorizeRequest, AuthorizeError>) {
    let found = authorize::client_id(pairs)
        .ok()
        .and_then(|id| clients().into_iter().find(|c| c.client_id == id));
    let r = AuthorizeRequest::validate(pairs, found.as_ref(), require_pkce, known_scope, NOW);
    (found, r)
}

/// `RECOGNIZED` in src/authorize.rs: the parameters RFC 6749 §3.1 forbids repeating.
const AUTHZ_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "display",
    "ui_locales",
    "acr_values",
    "claims",
    "request",
    "request_uri",
];

/// The documented length limits (bytes).
const AUTHZ_BOUNDS: &[(&str, usize)] = &[
    ("client_id", MAX_CLIENT_ID),
    ("redirect_uri", MAX_REDIRECT_URI),
    ("scope", MAX_SCOPE),
    ("state", MAX_STATE),
    ("nonce", MAX_NONCE),
    ("login_hint", MAX_LOGIN_HINT),
];

const BASE_CONF: &[(&str, &str)] = &[
    ("client_id", "conf"),
    ("redirect_uri", "https://app.example/cb"),
    ("response_type", "code"),
    ("scope", "openid"),
    ("state", "xyz"),
];

const BASE_PUB: &[(&str, &str)] = &[
    ("client_id", "pub"),
    ("redirect_uri", "http://127.0.0.1:5555/cb"),
    ("response_type", "code"),
    ("scope", "openid"),
    ("state", "xyz"),
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

const AUTHZ_VALUES: &[&str] = &[
    "",
    "conf",
    "pub",
    "single",
    "code",
    "token",
    "code id_token",
    "query",
    "fragment",
    "https://app.example/cb",
    "https://app.example/cb/",
    "https://one.example/cb",
    "http://127.0.0.1:5555/cb",
    "http://127.0.0.1:5555@evil.example/cb",
    "http://[::1]:4000/cb",
    "http://localhost:9/cb",
    "com.example.app:/cb",
    "openid",
    "openid profile",
    "api",
    "legacy",
    "admin",
    "open\"id",
    "S256",
    "plain",
    CHALLENGE,
    "none",
    "login consent",
    "none login",
    "0",
    "300",
    "-1",
    "99999999999999999999",
    "eyJhbGciOiJub25lIn0.e30.",
];

/// Values around the length limits, ASCII or multi-byte (the limits are in bytes).
fn around_limit() -> impl Strategy<Value = String> {
    let limits: Vec<usize> = AUTHZ_BOUNDS.iter().map(|(_, m)| *m).collect();
    (select(limits), -2i64..=2, select(vec!['x', 'é', '€', '😀'])).prop_map(|(max, delta, c)| {
        let bytes = usize::try_from(i64::try_from(max).unwrap() + delta).unwrap();
        c.to_string().repeat(bytes.div_ceil(c.len_utf8()))
    })
}

fn authz_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(AUTHZ_PARAMS).prop_map(str::to_owned),
        1 => "[a-z_]{0,10}",
    ]
}

fn authz_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(AUTHZ_VALUES).prop_map(str::to_owned),
        2 => text(24),
        1 => around_limit(),
    ]
}

/// Mostly-valid requests: a random subset of a valid base, random extra pairs, shuffled.
fn authz_pairs() -> impl Strategy<Value = Pairs> {
    (
        any::<bool>(),
        vec(prop::bool::weighted(0.85), BASE_PUB.len()),
        vec((authz_key(), authz_value()), 0..6),
    )
        .prop_flat_map(|(public, keep, extra)| {
            let base = if public { BASE_PUB } else { BASE_CONF };
            let mut v: Pairs = base
                .iter()
                .zip(&keep)
                .filter(|(_, keep)| **keep)
                .map(|((k, v), _)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            v.extend(extra);
            Just(v).prop_shuffle()
        })
}

fn check_authorize(
    pairs: &[(String, String)],
    found: Option<&Client>,
    require_pkce: bool,
    r: &Result<AuthorizeRequest, AuthorizeError>,
) -> Result<(), TestCaseError> {
    let repeated = AUTHZ_PARAMS.iter().any(|n| count(pairs, n) > 1);
    let too_long = AUTHZ_BOUNDS
        .iter()
        .any(|(n, max)| pairs.iter().any(|(k, v)| k == n && v.len() > *max));
    if repeated || too_long {
        prop_assert!(
            matches!(r, Err(e) if e.error().code == ErrorCode::InvalidRequest),
            "repeated or overlong parameter not refused with invalid_request: {:?}",
            r
        );
    }
    let expected_state = (count(pairs, "state") == 1)
        .then(|| first(pairs, "state"))
        .flatten()
        .filter(|s| s.len() <= MAX_STATE);
    match r {
        Ok(req) => {
            let client = found.expect("accepted without a client");
            prop_assert_eq!(req.client_id.as_str(), client.client_id.as_str());
            prop_assert_eq!(first(pairs, "client_id"), Some(client.client_id.as_str()));
            prop_assert_eq!(first(pairs, "response_type"), Some("code"));
            prop_assert!(first(pairs, "response_mode").is_none_or(|m| m == "query"));
            prop_assert!(first(pairs, "request").is_none() && first(pairs, "request_uri").is_none());
            match first(pairs, "redirect_uri") {
                Some(given) => {
                    prop_assert!(req.redirect_uri_in_request);
                    prop_assert_eq!(req.redirect_uri.as_str(), given);
                    prop_assert!(redirect_allowed(given, client), "unregistered redirect_uri accepted");
                }
                None => {
                    prop_assert!(!req.redirect_uri_in_request);
                    prop_assert_eq!(client.redirect_uris.as_slice(), std::slice::from_ref(&req.redirect_uri));
                }
            }
            prop_assert_eq!(req.state.as_deref(), expected_state);
            prop_assert_eq!(req.nonce.as_deref(), first(pairs, "nonce"));
            prop_assert_eq!(req.login_hint.as_deref(), first(pairs, "login_hint"));
            let asked = first(pairs, "scope").map(|s| ScopeSet::parse(s).unwrap());
            prop_assert_eq!(Some(&req.scopes), asked.as_ref());
            prop_assert!(!req.scopes.is_empty());
            prop_assert!(req.scopes.iter().all(|s| client.scopes.contains(s) && known_scope(s)));
            if client.is_public || require_pkce {
                prop_assert!(req.pkce.is_some(), "PKCE required but missing");
            }
            prop_assert_eq!(
                req.pkce.as_ref().map(PkceChallenge::as_str),
                first(pairs, "code_challenge")
            );
            prop_assert_eq!(req.requested_at, NOW);
        }
        Err(AuthorizeError::Redirect {
            redirect_uri, state, ..
        }) => {
            // RFC 6749 §4.1.2.1: never redirect before client and redirect URI are verified.
            let client = found.expect("redirected without a client");
            prop_assert_eq!(count(pairs, "client_id"), 1);
            prop_assert_eq!(first(pairs, "client_id"), Some(client.client_id.as_str()));
            match first(pairs, "redirect_uri") {
                Some(given) => {
                    prop_assert_eq!(count(pairs, "redirect_uri"), 1);
                    prop_assert_eq!(redirect_uri.as_str(), given);
                    prop_assert!(redirect_allowed(given, client), "redirected to an unregistered URI");
                }
                None => prop_assert_eq!(
                    client.redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>(),
                    vec![redirect_uri.as_str()]
                ),
            }
            prop_assert_eq!(state.as_deref(), expected_state);
        }
        Err(AuthorizeError::ShowToUser(_)) => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Redirect URIs
// ---------------------------------------------------------------------------------------

/// Registrable redirect URIs: https, loopback http, localhost, private-use schemes.
fn redirect_uri() -> impl Strategy<Value = String> {
    let origin = prop_oneof![
        "[a-z]{1,8}(\\.[a-z]{2,4}){1,2}".prop_map(|h| format!("https://{h}")),
        Just("http://127.0.0.1".to_owned()),
        Just("http://[::1]".to_owned()),
        Just("http://localhost".to_owned()),
        Just("com.example.app:".to_owned()),
    ];
    (
        origin,
        proptest::option::of(0u32..=65535).prop_map(|p| p.map(|p| format!(":{p}")).unwrap_or_default()),
        "(/[a-zA-Z0-9._~%-]{0,6}){0,3}",
        "(\\?[a-z]{1,4}=[a-zA-Z0-9%+]{0,5}(&[a-z]{1,4}=[a-z]{0,3})?)?",
    )
        .prop_map(|(o, port, path, query)| {
            let port = if o.ends_with(':') { String::new() } else { port };
            format!("{o}{port}{path}{query}")
        })
        .prop_filter("must be registrable", |u| RedirectUri::parse(u).is_ok())
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Index, char),
    Insert(Index, char),
    Delete(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let ch = prop_oneof![
        3 => select("aAzZ09/.:?#%@&=-_~+; \t\0é\\[]".chars().collect::<Vec<_>>()),
        1 => any::<char>(),
    ];
    prop_oneof![
        (any::<Index>(), ch.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (any::<Index>(), ch).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<Index>().prop_map(Mutation::Delete),
    ]
}

fn mutate(s: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    match m {
        Mutation::Replace(i, c) if !chars.is_empty() => {
            let i = i.index(chars.len());
            chars[i] = *c;
        }
        Mutation::Insert(i, c) => {
            let i = i.index(chars.len() + 1);
            chars.insert(i, *c);
        }
        Mutation::Delete(i) if !chars.is_empty() => {
            chars.remove(i.index(chars.len()));
        }
        _ => {}
    }
    chars.into_iter().collect()
}

/// Validates a request of a client with `registered` as its only redirect URI, once with
/// that URI (accepted) and once with `given`: accepted iff identical, or, for a public
/// client, the same loopback IP URI but for the port; otherwise shown to the user.
fn check_redirect_match(registered: &str, given: &str, public: bool) -> Result<(), TestCaseError> {
    let c = client("c", public, &[registered], "api");
    let request = |uri: &str| {
        let pairs = owned(&[
            ("client_id", "c"),
            ("redirect_uri", uri),
            ("response_type", "code"),
            ("scope", "api"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        AuthorizeRequest::validate(&pairs, Some(&c), false, |_| true, NOW)
    };
    let exact = request(registered);
    prop_assert!(
        exact.as_ref().is_ok_and(|r| r.redirect_uri.as_str() == registered),
        "{:?}",
        exact
    );
    let should_match = given == registered
        || (public
            && RedirectUri::parse(given).is_ok()
            && loopback_key(given).is_some()
            && loopback_key(given) == loopback_key(registered));
    match request(given) {
        Ok(r) => {
            prop_assert!(should_match, "{:?} matched registered {:?}", given, registered);
            prop_assert_eq!(r.redirect_uri.as_str(), given);
        }
        Err(AuthorizeError::ShowToUser(e)) => {
            prop_assert!(!should_match, "{:?} refused though registered {:?}", given, registered);
            prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
        }
        Err(other) => prop_assert!(false, "{:?}: {:?}", given, other),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------

/// `RECOGNIZED` in src/token/mod.rs (RFC 6749 §3.2: not to be repeated).
const TOKEN_PARAMS: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
];
const GRANTS: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

fn token_pairs() -> impl Strategy<Value = Pairs> {
    let key = prop_oneof![
        4 => select(TOKEN_PARAMS).prop_map(str::to_owned),
        1 => "[a-z_]{0,10}",
    ];
    let value = prop_oneof![
        3 => select(vec![
            "", "authorization_code", "refresh_token", "client_credentials", "password", "implicit",
            "Authorization_Code", "authorization_code ", "c", "r", "openid email", "a\\b", "  ", "x\"y",
        ])
        .prop_map(str::to_owned),
        1 => text(16),
    ];
    (select(GRANTS), any::<bool>(), vec((key, value), 0..6)).prop_flat_map(|(grant, with_grant, mut v)| {
        if with_grant {
            v.push(("grant_type".to_owned(), grant.to_owned()));
        }
        Just(v).prop_shuffle()
    })
}

/// RFC 6749 §3.2, §4.1.3, §4.4.2, §6 and §3.3, as a model of `TokenRequest::parse`.
fn model_token(pairs: &[(String, String)]) -> Result<TokenRequest, ErrorCode> {
    if TOKEN_PARAMS.iter().any(|n| count(pairs, n) > 1) {
        return Err(ErrorCode::InvalidRequest);
    }
    let get = |n: &str| first(pairs, n);
    let get_owned = |n: &str| get(n).map(str::to_owned);
    let scope = || match get("scope").map(ScopeSet::parse) {
        None => Ok(None),
        Some(Ok(s)) => Ok((!s.is_empty()).then_some(s)),
        Some(Err(_)) => Err(ErrorCode::InvalidScope),
    };
    match get("grant_type").ok_or(ErrorCode::InvalidRequest)? {
        "authorization_code" => Ok(TokenRequest::AuthorizationCode {
            code: get_owned("code").ok_or(ErrorCode::InvalidRequest)?,
            redirect_uri: get_owned("redirect_uri"),
            code_verifier: get_owned("code_verifier"),
        }),
        "refresh_token" => Ok(TokenRequest::RefreshToken {
            refresh_token: get_owned("refresh_token").ok_or(ErrorCode::InvalidRequest)?,
            scope: scope()?,
        }),
        "client_credentials" => Ok(TokenRequest::ClientCredentials { scope: scope()? }),
        _ => Err(ErrorCode::UnsupportedGrantType),
    }
}

// ---------------------------------------------------------------------------------------
// Client authentication
// ---------------------------------------------------------------------------------------

/// RFC 6749 §2.3.1: the credentials inside Basic are `urlencode(id) ":" urlencode(secret)`.
fn model_basic(credentials: &[u8]) -> Option<(String, String)> {
    let s = std::str::from_utf8(credentials).ok()?;
    let (id, secret) = s.split_once(':')?;
    let (id, secret) = (strict_decode(id)?, strict_decode(secret)?);
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

fn basic_header(scheme: &str, credentials: &[u8], padded: bool, spaces: &str) -> String {
    let b64 = if padded {
        STANDARD.encode(credentials)
    } else {
        STANDARD_NO_PAD.encode(credentials)
    };
    format!("{spaces}{scheme} {spaces}{b64}{spaces}")
}

fn basic_parts(r: &Result<PresentedClient, OAuthError>) -> Option<(String, String)> {
    match r {
        Ok(PresentedClient::Basic { client_id, secret }) => Some((client_id.clone(), secret.expose().to_owned())),
        _ => None,
    }
}

fn form_byte_strategy() -> impl Strategy<Value = Vec<u8>> {
    let alphabet = b"&&&===%%%+aZ09fFgG \xff\xc3\xa9;#".to_vec();
    let segment = vec(select(b"a=%+2F0\xc3\xa9".to_vec()), 0..5);
    prop_oneof![
        vec(any::<u8>(), 0..512),
        vec(select(alphabet), 0..2048),
        // Around MAX_PARAMS: many short segments.
        vec(segment, 50..80).prop_map(|segs| segs.join(&b'&')),
        // Around MAX_FORM_BYTES.
        (MAX_FORM_BYTES - 2..=MAX_FORM_BYTES + 2, select(b"a&=%+\xff".to_vec())).prop_map(|(n, b)| vec![b; n]),
        (MAX_FORM_BYTES - 4..=MAX_FORM_BYTES + 4).prop_map(|n| b"a=1&".iter().copied().cycle().take(n).collect()),
    ]
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    // --- 1. Form bodies (params.rs) ------------------------------------------------------

    /// Arbitrary bytes: the bounds are enforced first; the result equals the strict
    /// WHATWG model and, when accepted, what the `url` crate decodes.
    #[test]
    fn form_parse_matches_model(body in form_byte_strategy()) {
        let got = parse_form(&body);
        prop_assert_eq!(check_bounds(&body), model_bounds(&body));
        if body.len() > MAX_FORM_BYTES {
            prop_assert_eq!(got.clone(), Err(FormError::TooLarge));
        }
        if let Ok(pairs) = &got {
            prop_assert!(pairs.len() <= MAX_PARAMS);
            prop_assert!(check_bounds(&body).is_ok());
        }
        prop_assert_eq!(&got, &model_parse_form(&body));
        if let Ok(pairs) = &got {
            let lossy: Pairs = url::form_urlencoded::parse(&body).into_owned().collect();
            prop_assert_eq!(pairs, &lossy);
        }
    }

    /// One name or value: `form_urldecode` is the strict decoder.
    #[test]
    fn form_urldecode_matches_model(s in prop_oneof![text(24), "[%+0-9a-fA-FgG\\-é ]{0,12}"]) {
        let got = form_urldecode(&s);
        prop_assert_eq!(got, strict_decode(&s));
    }

    /// Serialize with the `url` crate, parse back: same pairs, in order (up to MAX_PARAMS
    /// and MAX_FORM_BYTES); one more pair is TooManyParams, one more byte TooLarge.
    #[test]
    fn form_round_trip(
        pairs in vec((text(10), text(10)), 0..=MAX_PARAMS + 8),
    ) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let got = parse_form(body.as_bytes());
        if body.len() > MAX_FORM_BYTES {
            prop_assert_eq!(got, Err(FormError::TooLarge));
        } else if pairs.len() <= MAX_PARAMS {
            prop_assert_eq!(got, Ok(pairs));
        } else {
            prop_assert_eq!(got, Err(FormError::TooManyParams));
        }
    }

    // --- 2. /authorize (authorize.rs) -----------------------------------------------------

    /// Arbitrary (mostly valid) requests: a repeated or overlong parameter is refused; an
    /// accepted request holds exactly what was asked; redirects only go to verified URIs.
    #[test]
    fn authorize_invariants(pairs in authz_pairs(), require_pkce in any::<bool>()) {
        let (found, r) = run_authorize(&pairs, require_pkce);
        check_authorize(&pairs, found.as_ref(), require_pkce, &r)?;
        // Passing a client whose id differs from the request's is an unknown client.
        let wrong = clients().into_iter().find(|c| Some(c.client_id.as_str()) != first(&pairs, "client_id"));
        let r2 = AuthorizeRequest::validate(&pairs, wrong.as_ref(), require_pkce, known_scope, NOW);
        prop_assert!(matches!(r2, Err(AuthorizeError::ShowToUser(_))), "{:?}", r2);
    }

    /// A valid request with one parameter over its documented byte limit (ASCII or
    /// multi-byte, so bytes and not chars are counted) is invalid_request.
    #[test]
    fn authorize_refuses_overlong(
        public in any::<bool>(),
        which in select(AUTHZ_BOUNDS),
        c in select(vec!['x', 'é', '€', '😀', ' ']),
        extra in 1usize..64,
    ) {
        let (name, max) = which;
        let base = if public { BASE_PUB } else { BASE_CONF };
        prop_assert!(run_authorize(&owned(base), false).1.is_ok());
        let value = c.to_string().repeat((max + extra).div_ceil(c.len_utf8()));
        let mut pairs: Pairs = owned(base).into_iter().filter(|(k, _)| k != name).collect();
        pairs.push((name.to_owned(), value));
        let (_, r) = run_authorize(&pairs, false);
        match (name, &r) {
            ("client_id" | "redirect_uri", Err(AuthorizeError::ShowToUser(e))) => {
                prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
            }
            (_, Err(AuthorizeError::Redirect { state, error, .. })) if name != "client_id" && name != "redirect_uri" => {
                prop_assert_eq!(error.code, ErrorCode::InvalidRequest);
                // An overlong state is not echoed back.
                let expected = if name == "state" { None } else { Some("xyz") };
                prop_assert_eq!(state.as_deref(), expected);
            }
            _ => prop_assert!(false, "{} over its limit: {:?}", name, r),
        }
    }

    /// At its byte limit, any content of state, nonce and login_hint is accepted verbatim.
    #[test]
    fn authorize_accepts_at_limit(
        which in select(vec![("state", MAX_STATE), ("nonce", MAX_NONCE), ("login_hint", MAX_LOGIN_HINT)]),
        prefix in text(200),
    ) {
        let (name, max) = which;
        let mut value = String::new();
        for c in prefix.chars() {
            if value.len() + c.len_utf8() > max {
                break;
            }
            value.push(c);
        }
        while value.len() < max {
            value.push('x');
        }
        let mut pairs: Pairs = owned(BASE_CONF).into_iter().filter(|(k, _)| k != name).collect();
        pairs.push((name.to_owned(), value.clone()));
        let req = run_authorize(&pairs, false).1;
        prop_assert!(req.is_ok(), "{:?}", req);
        let req = req.unwrap();
        let got = match name {
            "state" => req.state,
            "nonce" => req.nonce,
            _ => req.login_hint,
        };
        prop_assert_eq!(got, Some(value));
    }

    /// RFC 6749 §3.1: any recognized parameter sent twice (even empty) is refused, shown
    /// to the user while the redirect URI is unverified, redirected without state after.
    #[test]
    fn authorize_refuses_repeats(
        public in any::<bool>(),
        name in select(AUTHZ_PARAMS),
        values in (prop_oneof![Just(String::new()), text(8), select(AUTHZ_VALUES).prop_map(str::to_owned)], text(8)),
        at in (any::<Index>(), any::<Index>()),
    ) {
        let base = if public { BASE_PUB } else { BASE_CONF };
        let mut pairs = owned(base);
        prop_assert!(run_authorize(&pairs, false).1.is_ok());
        if count(&pairs, name) == 0 {
            pairs.insert(at.1.index(pairs.len() + 1), (name.to_owned(), values.1));
        }
        pairs.insert(at.0.index(pairs.len() + 1), (name.to_owned(), values.0));
        let (_, r) = run_authorize(&pairs, false);
        prop_assert_eq!(r.as_ref().map_err(|e| e.error().code).err(), Some(ErrorCode::InvalidRequest));
        match (&r, name) {
            (Err(AuthorizeError::ShowToUser(_)), "client_id" | "redirect_uri") => {}
            (Err(AuthorizeError::Redirect { state, .. }), n) if n != "client_id" && n != "redirect_uri" => {
                let expected = if n == "state" { None } else { Some("xyz") };
                prop_assert_eq!(state.as_deref(), expected);
            }
            _ => prop_assert!(false, "repeated {}: {:?}", name, r),
        }
    }

    /// RFC 6749 §3.1: unrecognized parameters are ignored, even repeated.
    #[test]
    fn authorize_ignores_unknown_params(
        pairs in authz_pairs(),
        extra in vec(("[a-z_]{1,10}", text(12)), 0..4),
        dup in any::<bool>(),
    ) {
        let extra: Pairs = extra.into_iter().filter(|(k, _)| !AUTHZ_PARAMS.contains(&k.as_str())).collect();
        let mut more = pairs.clone();
        more.extend(extra.iter().cloned());
        if dup {
            more.extend(extra);
        }
        prop_assert_eq!(run_authorize(&pairs, false).1, run_authorize(&more, false).1);
    }

    /// OIDC Core §3.1.2.1 `prompt`: known values only, `none` alone.
    #[test]
    fn prompt_model(raw in prop_oneof![
        vec(select(vec!["none", "login", "consent", "select_account", "", "Login", "create"]), 0..4).prop_map(|v| v.join(" ")),
        text(20),
    ]) {
        let values: Vec<&str> = raw.split(' ').filter(|v| !v.is_empty()).collect();
        let known = values.iter().all(|v| ["none", "login", "consent", "select_account"].contains(v));
        let none_alone = !values.contains(&"none") || values.iter().all(|v| *v == "none");
        match Prompt::parse(Some(&raw)) {
            Ok(p) => {
                prop_assert!(known && none_alone);
                prop_assert_eq!(p.none, values.contains(&"none"));
                prop_assert_eq!(p.login, values.contains(&"login"));
                prop_assert_eq!(p.consent, values.contains(&"consent"));
                prop_assert_eq!(p.select_account, values.contains(&"select_account"));
            }
            Err(e) => {
                prop_assert!(!(known && none_alone));
                prop_assert_eq!(e.code, ErrorCode::InvalidRequest);
            }
        }
    }

    /// RFC 6749 §4.1.2 / §3.1.2: the response keeps the registered URI (and its query) as a
    /// prefix and appends exactly code, state, iss, whatever the state contains.
    #[test]
    fn success_redirect_appends_exactly(
        uri in redirect_uri(),
        code in "[A-Za-z0-9_-]{1,43}",
        state in proptest::option::of(nonempty_text(40)),
        iss in text(30),
    ) {
        let url = authorize::success_redirect(&uri, &code, state.as_deref(), &iss);
        prop_assert!(url.starts_with(&uri));
        prop_assert!(!url.contains('#'));
        let query_pairs = |u: &str| -> Pairs { url::Url::parse(u).unwrap().query_pairs().into_owned().collect() };
        let mut expected = query_pairs(&uri);
        expected.push(("code".to_owned(), code.clone()));
        expected.extend(state.map(|s| ("state".to_owned(), s)));
        expected.push(("iss".to_owned(), iss));
        prop_assert_eq!(query_pairs(&url), expected);
    }

    // --- 3. Redirect URIs (types.rs, authorize.rs) -----------------------------------------

    /// Arbitrary strings: parse never panics; an accepted URI is kept byte for byte, is
    /// stable under re-parsing and serde, has no fragment and an allowed scheme.
    #[test]
    fn redirect_uri_parse(raw in prop_oneof![text(40), redirect_uri(), (redirect_uri(), mutation()).prop_map(|(u, m)| mutate(&u, &m))]) {
        if let Ok(uri) = RedirectUri::parse(&raw) {
            prop_assert_eq!(uri.as_str(), raw.as_str());
            prop_assert_eq!(RedirectUri::parse(uri.as_str()), Ok(uri.clone()));
            let json = serde_json::to_string(&uri).unwrap();
            prop_assert_eq!(serde_json::from_str::<RedirectUri>(&json).unwrap(), uri.clone());
            prop_assert!(!raw.contains('#'));
            let parsed = url::Url::parse(&raw).unwrap();
            let scheme_ok = match parsed.scheme() {
                "https" => parsed.host_str().is_some_and(|h| !h.is_empty()),
                "http" => matches!(parsed.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
                    || parsed.host().is_some_and(|h| matches!(h, url::Host::Ipv4(ip) if ip.is_loopback())),
                s => s.contains('.'),
            };
            prop_assert!(scheme_ok, "{}", raw);
        }
    }

    /// RFC 9700 §4.1.3: exact string matching. One character replaced, inserted or deleted
    /// never matches for a confidential client; for a public client only the RFC 8252 §7.3
    /// loopback port exception applies.
    #[test]
    fn redirect_uri_matching_is_exact(
        registered in redirect_uri(),
        m in mutation(),
        public in any::<bool>(),
    ) {
        check_redirect_match(&registered, &mutate(&registered, &m), public)?;
    }

    /// RFC 8252 §7.3: a public client's loopback IP redirect URI matches with any port
    /// (1 to 5 digits, or none), and nothing else about it may differ; a confidential
    /// client gets no exception.
    #[test]
    fn redirect_uri_loopback_ports(
        host in select(vec!["http://127.0.0.1", "http://[::1]"]),
        port in proptest::option::of(0u32..=65535),
        rest in "(/[a-z]{0,4}){1,2}(\\?[a-z]=[0-9])?",
        other_host in select(vec!["http://127.0.0.1", "http://[::1]", "http://localhost", "http://127.0.0.2", "https://127.0.0.1"]),
        given_port in prop_oneof![
            1 => Just(String::new()),
            3 => ":[0-9]{1,5}",
            1 => ":[0-9]{0,7}",
            1 => ":[0-9a-z+@:-]{1,4}",
        ],
        same_host in prop::bool::weighted(0.7),
        same_rest in prop::bool::weighted(0.8),
        other_rest in "(/[a-z]{0,4}){0,2}",
        public in any::<bool>(),
    ) {
        let registered = format!("{host}{}{rest}", port.map(|p| format!(":{p}")).unwrap_or_default());
        let given_host = if same_host { host } else { other_host };
        let given_rest = if same_rest { rest } else { other_rest };
        check_redirect_match(&registered, &format!("{given_host}{given_port}{given_rest}"), public)?;
    }

    // --- 4. PKCE (pkce.rs) ------------------------------------------------------------------

    /// Arbitrary challenge and method: only S256 with a canonical 43-character base64url
    /// encoding of 32 bytes is accepted (RFC 7636 §4.2, RFC 9700 §2.1.1).
    #[test]
    fn pkce_parse(
        challenge in proptest::option::of(prop_oneof![
            text(50),
            "[A-Za-z0-9_-]{43}",
            "[A-Za-z0-9_+/=-]{41,45}",
            vec(any::<u8>(), 30..34).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        ]),
        method in proptest::option::of(prop_oneof![
            Just("S256".to_owned()), Just("plain".to_owned()), Just("s256".to_owned()), text(6),
        ]),
    ) {
        let r = PkceChallenge::parse(challenge.as_deref(), method.as_deref());
        let canonical = |c: &str| {
            c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok_and(|b| b.len() == 32 && URL_SAFE_NO_PAD.encode(&b) == c)
        };
        match (challenge.as_deref(), method.as_deref()) {
            (None, None) => prop_assert_eq!(r, Ok(None)),
            (Some(c), Some("S256")) if canonical(c) => {
                prop_assert_eq!(r.unwrap().map(|p| p.as_str().to_owned()), Some(c.to_owned()));
            }
            _ => prop_assert_eq!(r.map_err(|e| e.code), Err(ErrorCode::InvalidRequest)),
        }
    }

    /// RFC 7636 §4.1/§4.6: a valid verifier verifies against its S256 challenge computed
    /// here (sha2 + base64url without padding); another verifier, or a one-character change,
    /// does not.
    #[test]
    fn pkce_verify_valid_verifiers(
        verifier in "[A-Za-z0-9._~-]{43,128}",
        other in "[A-Za-z0-9._~-]{43,128}",
        at in any::<Index>(),
        c in select("ABCxyz019-._~".chars().collect::<Vec<_>>()),
    ) {
        let challenge = PkceChallenge::parse(Some(&s256(&verifier)), Some("S256")).unwrap().unwrap();
        prop_assert!(verifier_syntax_ok(&verifier));
        prop_assert!(challenge.verify(&verifier));
        prop_assert_eq!(challenge.verify(&other), other == verifier);
        let changed = mutate(&verifier, &Mutation::Replace(at, c));
        prop_assert_eq!(challenge.verify(&changed), changed == verifier);
        // A truncation of the verifier (too short at 43, or another verifier) does not verify.
        prop_assert!(!challenge.verify(&verifier[..verifier.len() - 1]));
    }

    /// RFC 7636 §4.1: verifiers outside 43*128unreserved are refused, even when the
    /// challenge is exactly their hash.
    #[test]
    fn pkce_refuses_bad_verifiers(bad in prop_oneof![
        "[A-Za-z0-9._~-]{0,42}",
        "[A-Za-z0-9._~-]{129,200}",
        ("[A-Za-z0-9._~-]{43,128}", any::<Index>(), prop_oneof![
            select("+/= %!*'()\t\n\0é€😀".chars().collect::<Vec<_>>()),
            any::<char>().prop_filter("not unreserved", |c| !(c.is_ascii_alphanumeric() || "-._~".contains(*c))),
        ]).prop_map(|(v, i, c)| mutate(&v, &Mutation::Replace(i, c))),
    ]) {
        prop_assert!(!verifier_syntax_ok(&bad));
        let challenge = PkceChallenge::parse(Some(&s256(&bad)), Some("S256")).unwrap().unwrap();
        prop_assert!(!challenge.verify(&bad));
    }

    // --- 5. Scopes and usernames (types.rs) -------------------------------------------------

    /// RFC 6749 §3.3: accepted iff every byte is a space or a scope-token byte; the
    /// canonical form re-parses to the same set and has one space between tokens.
    #[test]
    fn scope_set_model(raw in prop_oneof![
        text(30),
        "[ !#-\\[\\]-~\"\\\\\t]{0,40}",
        vec(select(vec!["openid", "profile", "email", "api", "", " ", "a:b", "x\"y"]), 0..6).prop_map(|v| v.join(" ")),
    ]) {
        let valid = raw.bytes().all(|b| b == b' ' || b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        let r = ScopeSet::parse(&raw);
        prop_assert_eq!(r.is_ok(), valid);
        if let Ok(set) = r {
            let canonical = set.to_string();
            prop_assert_eq!(ScopeSet::parse(&canonical), Ok(set.clone()));
            prop_assert!(!canonical.contains("  ") && !canonical.starts_with(' ') && !canonical.ends_with(' '));
            let mut tokens: Vec<&str> = raw.split(' ').filter(|t| !t.is_empty()).collect();
            tokens.sort_unstable();
            tokens.dedup();
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), tokens);
            let json = serde_json::to_string(&set).unwrap();
            prop_assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), set);
        }
    }

    /// 1 to 64 characters of `[A-Za-z0-9._@-]`, stored lower-case; parse is idempotent.
    #[test]
    fn username_model(raw in prop_oneof![text(70), "[A-Za-z0-9._@\\- é/]{0,70}"]) {
        let valid = (1..=MAX_USERNAME_CHARS).contains(&raw.chars().count())
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c));
        match Username::parse(&raw) {
            Ok(u) => {
                prop_assert!(valid);
                prop_assert_eq!(u.as_str(), raw.to_ascii_lowercase());
                prop_assert_eq!(Username::parse(&u.to_string()), Ok(u.clone()));
            }
            Err(_) => prop_assert!(!valid, "{:?} refused", raw),
        }
    }

    // --- 6. Client authentication (client_auth.rs) --------------------------------------

    /// Arbitrary Authorization headers: never panics; success is always Basic with a
    /// non-empty id and secret; every failure is invalid_client.
    #[test]
    fn client_auth_arbitrary_header(header in prop_oneof![
        text(60),
        ("(?i:basic|bearer|digest)", "[ \t]{0,2}", text(40)).prop_map(|(s, w, t)| format!("{s} {w}{t}")),
        ("(?i:basic)", "[A-Za-z0-9+/=: ]{0,40}").prop_map(|(s, t)| format!("{s} {t}")),
    ]) {
        match PresentedClient::from_request(Some(&header), &[]) {
            Ok(PresentedClient::Basic { client_id, secret }) => {
                prop_assert!(!client_id.is_empty() && !secret.expose().is_empty());
            }
            Ok(other) => prop_assert!(false, "{:?} from a header", other),
            Err(e) => prop_assert_eq!(e.code, ErrorCode::InvalidClient),
        }
    }

    /// `Basic ` + base64 of arbitrary bytes: accepted iff the bytes are UTF-8
    /// `urlencode(id) ":" urlencode(secret)` with both non-empty, and then exactly those.
    #[test]
    fn client_auth_basic_model(
        credentials in prop_oneof![
            vec(any::<u8>(), 0..48),
            vec(select(b"::%%++aAfF09 \xc3\xa9\xff".to_vec()), 0..32),
        ],
        scheme in select(vec!["Basic", "basic", "BASIC", "bAsIc"]),
        padded in any::<bool>(),
        spaces in select(vec!["", " ", "  "]),
    ) {
        let header = basic_header(scheme, &credentials, padded, spaces);
        let r = PresentedClient::from_request(Some(&header), &[]);
        prop_assert_eq!(basic_parts(&r), model_basic(&credentials));
        if let Some((id, secret)) = basic_parts(&r) {
            prop_assert!(!id.is_empty() && !secret.is_empty());
        }
        if let Err(e) = r {
            prop_assert_eq!(e.code, ErrorCode::InvalidClient);
        }
    }

    /// RFC 6749 §2.3.1 round trip: any non-empty id and secret, form-urlencoded inside
    /// Basic, come back exactly; the body may repeat the same client_id but not another one,
    /// nor add client_secret (RFC 6749 §2.3: one method only).
    #[test]
    fn client_auth_basic_round_trip(
        id in nonempty_text(30),
        secret in nonempty_text(30),
        other in nonempty_text(10),
        padded in any::<bool>(),
    ) {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = format!("{}:{}", enc(&id), enc(&secret));
        let header = basic_header("Basic", credentials.as_bytes(), padded, "");
        let r = PresentedClient::from_request(Some(&header), &[]);
        prop_assert_eq!(basic_parts(&r), Some((id.clone(), secret.clone())));
        let same = PresentedClient::from_request(Some(&header), &owned(&[("client_id", id.as_str())]));
        prop_assert_eq!(basic_parts(&same), Some((id.clone(), secret)));
        let mismatch = PresentedClient::from_request(Some(&header), &owned(&[("client_id", other.as_str())]));
        if other == id {
            prop_assert!(mismatch.is_ok());
        } else {
            prop_assert_eq!(mismatch.map_err(|e| e.code).err(), Some(ErrorCode::InvalidRequest));
        }
        let two = PresentedClient::from_request(Some(&header), &owned(&[("client_secret", other.as_str())]));
        prop_assert_eq!(two.map_err(|e| e.code).err(), Some(ErrorCode::InvalidRequest));
    }

    // --- 7. Token requests (token/mod.rs) ---------------------------------------------------

    /// Arbitrary pairs: the outcome is the RFC 6749 model's.
    #[test]
    fn token_request_model(pairs in token_pairs()) {
        prop_assert_eq!(TokenRequest::parse(&pairs).map_err(|e| e.code), model_token(&pairs));
    }

    /// Any grant_type other than the three supported is unsupported_grant_type.
    #[test]
    fn token_request_unknown_grant(
        grant in prop_oneof![nonempty_text(20), "[a-z_:]{1,30}"],
        others in prop::collection::btree_map(select(TOKEN_PARAMS), text(10), 0..5),
    ) {
        prop_assume!(!GRANTS.contains(&grant.as_str()));
        let mut pairs: Pairs = others
            .into_iter()
            .filter(|(k, _)| *k != "grant_type")
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        pairs.push(("grant_type".to_owned(), grant));
        let r = TokenRequest::parse(&pairs);
        prop_assert_eq!(r.map_err(|e| e.code).err(), Some(ErrorCode::UnsupportedGrantType));
    }

    /// RFC 6749 §3.2: unknown parameters are ignored, even repeated.
    #[test]
    fn token_request_ignores_unknown(
        pairs in token_pairs(),
        extra in vec(("[a-z_]{1,10}", text(8)), 0..4),
    ) {
        let extra: Pairs = extra.into_iter().filter(|(k, _)| !TOKEN_PARAMS.contains(&k.as_str())).collect();
        let mut more = pairs.clone();
        more.extend(extra.iter().cloned());
        more.extend(extra);
        prop_assert_eq!(TokenRequest::parse(&pairs), TokenRequest::parse(&more));
    }
}

/// The composition the server runs: form body bytes, then the token request.
#[test]
fn pipeline_examples() {
    let ok = parse_form(b"grant_type=client_credentials&scope=api+read").unwrap();
    assert_eq!(
        TokenRequest::parse(&ok),
        Ok(TokenRequest::ClientCredentials {
            scope: Some(ScopeSet::parse("api read").unwrap())
        })
    );
    let repeated = parse_form(b"grant_type=client_credentials&grant_type=password").unwrap();
    assert_eq!(
        TokenRequest::parse(&repeated).map_err(|e| e.code),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(params::duplicated(&repeated, &["grant_type"]), Some("grant_type"));
}

/// Found by `form_urldecode_matches_model` (minimal input `%+0`): the decoder used
/// `u8::from_str_radix`, which accepts a sign, so `%+F` decoded to 0x0F where other
/// decoders (proxies, the `url` crate) read the text `% F` — control bytes under a
/// spelling nothing else sees. Fixed in src/params.rs; kept as a regression test.
#[test]
fn percent_sign_hex_is_refused() {
    assert_eq!(form_urldecode("%+F"), None);
    assert_eq!(form_urldecode("a%+0b"), None);
    assert_eq!(parse_form(b"state=%+0"), Err(FormError::Malformed));
    // The same decoder reads client credentials inside Basic (RFC 6749 §2.3.1).
    let header = format!("Basic {}", STANDARD.encode("app%+0:secret"));
    assert!(PresentedClient::from_request(Some(&header), &[]).is_err());
}
