//! Proof Key for Code Exchange (RFC 7636), S256 only: the challenge sent with the
//! authorization request and the check of the verifier sent with the code.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::OAuthError;
use crate::secret::constant_time_eq;

/// A validated S256 code challenge: BASE64URL(SHA256(code_verifier)), 43 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PkceChallenge(String);

impl PkceChallenge {
    /// The only method we accept.
    pub const METHOD: &'static str = "S256";

    /// Reads `code_challenge` and `code_challenge_method` from an authorization request
    /// (empty values already treated as omitted). `Ok(None)` when neither is present;
    /// whether PKCE is required is the caller's decision.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Option<Self>, OAuthError> {
        // RFC 7636 §4.3: the method defaults to "plain" when absent.
        let method = match (challenge, method) {
            (None, None) => return Ok(None),
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method without code_challenge",
                ))
            }
            (Some(_), m) => m.unwrap_or("plain"),
        };
        // RFC 9700 §2.1.1: "plain" gives no protection if the request leaks; refuse it.
        // RFC 7636 §4.4.1: an unsupported transformation is invalid_request.
        if method != Self::METHOD {
            return Err(OAuthError::invalid_request("code_challenge_method must be S256")
                .with_detail(format!("code_challenge_method {method:?}")));
        }
        match challenge {
            Some(c) => Self::from_s256(c)
                .map(Some)
                .ok_or_else(|| OAuthError::invalid_request("invalid code_challenge")),
            None => Ok(None),
        }
    }

    /// RFC 7636 §4.2: with S256 the challenge is the base64url (no padding) encoding of a
    /// 32-byte hash, hence exactly 43 characters. Decoding also refuses non-canonical
    /// encodings, which no verifier could ever match.
    fn from_s256(raw: &str) -> Option<Self> {
        let ok = raw.len() == 43 && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|bytes| bytes.len() == 32);
        ok.then(|| Self(raw.to_owned()))
    }

    /// RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge,
    /// compared in constant time, after checking the verifier's syntax (§4.1).
    pub fn verify(&self, verifier: &str) -> bool {
        if !verifier_syntax_ok(verifier) {
            return false;
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        constant_time_eq(&computed, &self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`,
/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
pub fn verifier_syntax_ok(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl TryFrom<String> for PkceChallenge {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_s256(&value).ok_or("invalid S256 code challenge")
    }
}

impl From<PkceChallenge> for String {
    fn from(value: PkceChallenge) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn parse_rules() {
        let short = &CHALLENGE[..42];
        // Last char 'M' -> 'N' changes only the 2 padding bits: non-canonical.
        let noncanonical = format!("{}N", &CHALLENGE[..42]);
        let bad_char = format!("{}+", &CHALLENGE[..42]);
        // (code_challenge, code_challenge_method, Ok(challenge present) or error)
        type Row<'a> = (Option<&'a str>, Option<&'a str>, Result<bool, ErrorCode>);
        #[rustfmt::skip]
        let table: &[Row] = &[
            (None, None, Ok(false)),
            (Some(CHALLENGE), Some("S256"), Ok(true)),
            // RFC 7636 §4.3 default is plain, which RFC 9700 §2.1.1 lets us refuse.
            (Some(CHALLENGE), None, Err(ErrorCode::InvalidRequest)),
            (Some(CHALLENGE), Some("plain"), Err(ErrorCode::InvalidRequest)),
            (Some(CHALLENGE), Some("s256"), Err(ErrorCode::InvalidRequest)),
            (Some(CHALLENGE), Some("S512"), Err(ErrorCode::InvalidRequest)),
            (None, Some("S256"), Err(ErrorCode::InvalidRequest)),
            (Some(short), Some("S256"), Err(ErrorCode::InvalidRequest)),
            (Some(&noncanonical), Some("S256"), Err(ErrorCode::InvalidRequest)),
            (Some(&bad_char), Some("S256"), Err(ErrorCode::InvalidRequest)),
            (Some(VERIFIER), Some("S256"), Ok(true)), // any 43-char canonical base64url is a syntactically valid challenge
            (Some(&format!("{CHALLENGE}=")), Some("S256"), Err(ErrorCode::InvalidRequest)),
        ];
        for (challenge, method, expected) in table {
            let got = PkceChallenge::parse(*challenge, *method)
                .map(|c| c.is_some())
                .map_err(|e| e.code);
            assert_eq!(got, *expected, "{challenge:?} {method:?}");
        }
    }

    #[test]
    fn verify_rfc7636_appendix_b_and_syntax() {
        let c = PkceChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap().unwrap();
        let long_ok = "a".repeat(128);
        #[rustfmt::skip]
        let table: &[(&str, bool)] = &[
            (VERIFIER, true),
            (&VERIFIER[1..], false),                                // 42 chars: too short (§4.1)
            ("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", false), // one char differs
            (&long_ok, false),                                      // valid syntax, wrong value
            ("", false),
        ];
        for (verifier, ok) in table {
            assert_eq!(c.verify(verifier), *ok, "{verifier}");
        }
        #[rustfmt::skip]
        let syntax: &[(&str, bool)] = &[
            (VERIFIER, true),
            (&long_ok, true),
            (&"a".repeat(129), false),
            (&"a".repeat(42), false),
            (&format!("{}~._-", "a".repeat(40)), true),
            (&format!("{}+", "a".repeat(42)), false),
            (&format!("{}=", "a".repeat(42)), false),
            (&format!("{} ", "a".repeat(42)), false),
        ];
        for (v, ok) in syntax {
            assert_eq!(verifier_syntax_ok(v), *ok, "{v}");
        }
    }

    #[test]
    fn serde_round_trip_validates() {
        let c = PkceChallenge::parse(Some(CHALLENGE), Some("S256")).unwrap().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, format!("\"{CHALLENGE}\""));
        assert_eq!(serde_json::from_str::<PkceChallenge>(&json).unwrap(), c);
        assert!(serde_json::from_str::<PkceChallenge>("\"short\"").is_err());
    }
}
