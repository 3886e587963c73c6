//! DPoP, sender-constrained tokens (RFC 9449): every rule a proof must meet apart from its
//! signature — the header (`typ`, `alg`, a public `jwk`), the claims (`htm`, `htu`, `iat`,
//! `jti`, `ath`), the JWK thumbprint (RFC 7638) that binds tokens to the key — and the
//! bindings of codes (`dpop_jkt`) and refresh tokens. The server checks the signature with
//! the header's key and remembers `jti`s; time is passed in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, OAuthError};
use crate::policy::{DPOP_IAT_WINDOW, DPOP_JKT_LEN, DPOP_MAX_JTI, DPOP_NONCE_SLOT};

/// RFC 9449 §4.2: the proof's `typ` header.
pub const TYP: &str = "dpop+jwt";

/// The JWS algorithms a proof may use, as discovery advertises them
/// (`dpop_signing_alg_values_supported`, RFC 9449 §5.1): asymmetric only (§4.3 check 5:
/// never `none`, never a MAC), those jsonwebtoken verifies on aws-lc-rs.
pub const ALGS: [&str; 4] = ["ES256", "PS256", "RS256", "EdDSA"];

/// The `algs` value of a `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1).
pub fn algs_challenge() -> String {
    ALGS.join(" ")
}

/// `invalid_dpop_proof` (RFC 9449 §5, §7.1) with a fixed public text; the cause goes in the
/// detail.
pub fn invalid_proof(detail: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, "invalid DPoP proof").with_detail(detail)
}

/// `use_dpop_nonce` (RFC 9449 §8): the proof lacks the server's current nonce.
pub fn use_nonce(detail: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::UseDpopNonce, "use the DPoP nonce the server provided").with_detail(detail)
}

/// A proof's protected header as sent. Members Tessera does not read are ignored, except
/// `crit` (RFC 7515 §4.1.11: an extension we do not understand must be refused).
#[derive(Debug, Clone, Deserialize)]
pub struct ProofHeader {
    #[serde(default)]
    pub typ: Option<String>,
    pub alg: String,
    #[serde(default)]
    pub jwk: Option<ProofJwk>,
    #[serde(default)]
    pub crit: Option<IgnoredAny>,
}

/// The `jwk` header member: the public members of the key types the advertised algorithms
/// use, and every private (or symmetric) member, so that their presence can be refused.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProofJwk {
    pub kty: String,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    // RFC 7518 §6.2.2 (EC), §6.3.2 (RSA), RFC 8037 §2 (OKP): private members; §6.4.1: `k`.
    #[serde(default)]
    pub d: Option<IgnoredAny>,
    #[serde(default)]
    pub p: Option<IgnoredAny>,
    #[serde(default)]
    pub q: Option<IgnoredAny>,
    #[serde(default)]
    pub dp: Option<IgnoredAny>,
    #[serde(default)]
    pub dq: Option<IgnoredAny>,
    #[serde(default)]
    pub qi: Option<IgnoredAny>,
    #[serde(default)]
    pub oth: Option<IgnoredAny>,
    #[serde(default)]
    pub k: Option<IgnoredAny>,
}

impl ProofJwk {
    /// Whether any private or symmetric key member is present.
    fn has_private_members(&self) -> bool {
        [
            &self.d, &self.p, &self.q, &self.dp, &self.dq, &self.qi, &self.oth, &self.k,
        ]
        .iter()
        .any(|m| m.is_some())
    }

    /// The RFC 7638 §3.2 required members of this key, in lexicographic order.
    fn required_members(&self) -> Result<Vec<(&'static str, &str)>, &'static str> {
        fn get<'a>(v: &'a Option<String>, what: &'static str) -> Result<&'a str, &'static str> {
            v.as_deref().ok_or(what)
        }
        match self.kty.as_str() {
            // RFC 7638 §3.2: crv, kty, x, y.
            "EC" => Ok(vec![
                ("crv", get(&self.crv, "EC key without crv")?),
                ("kty", "EC"),
                ("x", get(&self.x, "EC key without x")?),
                ("y", get(&self.y, "EC key without y")?),
            ]),
            // RFC 7638 §3.2: e, kty, n.
            "RSA" => Ok(vec![
                ("e", get(&self.e, "RSA key without e")?),
                ("kty", "RSA"),
                ("n", get(&self.n, "RSA key without n")?),
            ]),
            // RFC 8037 §2: crv, kty, x.
            "OKP" => Ok(vec![
                ("crv", get(&self.crv, "OKP key without crv")?),
                ("kty", "OKP"),
                ("x", get(&self.x, "OKP key without x")?),
            ]),
            _ => Err("unsupported kty"),
        }
    }
}

/// RFC 7638 §3: the base64url SHA-256 of the key's required members as JSON, in
/// lexicographic order, without whitespace. Values are base64url or curve names, so they
/// need no JSON escaping; anything else is refused rather than escaped differently from
/// the client.
pub fn jwk_thumbprint(jwk: &ProofJwk) -> Result<String, &'static str> {
    let members = jwk.required_members()?;
    let safe = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !members.iter().all(|(_, v)| safe(v)) {
        return Err("jwk member is not base64url");
    }
    let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    let json = format!("{{{}}}", body.join(","));
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes())))
}

/// RFC 9449 §4.3 checks 4, 5 and 7 on the header: `typ` is `dpop+jwt`, `alg` is one of
/// [`ALGS`], no `crit`, and `jwk` is a public key of the type `alg` needs (the signature
/// with it, check 6, is the server's). Returns the key's
/// thumbprint (`jkt`), which tokens are bound to.
pub fn check_header(header: &ProofHeader) -> Result<String, OAuthError> {
    // §4.3 check 4: typ. RFC 7515 §4.1.9: media types compare case-insensitively and may
    // carry the "application/" prefix.
    let typ = header.typ.as_deref().unwrap_or("");
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    if !typ.eq_ignore_ascii_case(TYP) {
        return Err(invalid_proof(format!("typ {:?}", header.typ)));
    }
    // §4.3 check 5: an asymmetric algorithm we support; never none, never HS*.
    if !ALGS.contains(&header.alg.as_str()) {
        return Err(invalid_proof(format!("alg {:?} not accepted", header.alg)));
    }
    if header.crit.is_some() {
        return Err(invalid_proof("crit header not understood"));
    }
    // §4.2: the key is in the header; §4.3 check 7: it is public.
    let jwk = header.jwk.as_ref().ok_or_else(|| invalid_proof("no jwk header"))?;
    if jwk.has_private_members() {
        return Err(invalid_proof("jwk holds a private or symmetric key"));
    }
    let fits = match header.alg.as_str() {
        "ES256" => jwk.kty == "EC" && jwk.crv.as_deref() == Some("P-256"),
        "PS256" | "RS256" => jwk.kty == "RSA",
        "EdDSA" => jwk.kty == "OKP" && jwk.crv.as_deref() == Some("Ed25519"),
        _ => false,
    };
    if !fits {
        return Err(invalid_proof(format!(
            "jwk kty {:?} does not fit alg {}",
            jwk.kty, header.alg
        )));
    }
    jwk_thumbprint(jwk).map_err(invalid_proof)
}

/// A proof's claims as sent (RFC 9449 §4.2). Missing ones are refused by [`check_claims`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProofClaims {
    #[serde(default)]
    pub jti: Option<String>,
    #[serde(default)]
    pub htm: Option<String>,
    #[serde(default)]
    pub htu: Option<String>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub ath: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
}

/// What the request a proof comes with looks like.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The endpoint's URL as this server names it (the issuer and the path; never the
    /// `Host` header, which the client chooses).
    pub url: &'a str,
    /// At a protected resource, the access token presented with the proof.
    pub access_token: Option<&'a str>,
}

/// RFC 9449 §4.2: `ath` is the base64url SHA-256 of the access token's ASCII bytes.
pub fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// RFC 9449 §4.3 check 9: `htu` is compared without its query and fragment; scheme, host,
/// port and path must match (the `url` crate normalises case, default ports and dot
/// segments on both sides).
pub fn htu_matches(htu: &str, expected: &str) -> bool {
    let (Ok(given), Ok(want)) = (url::Url::parse(htu), url::Url::parse(expected)) else {
        return false;
    };
    given.scheme() == want.scheme()
        && given.host() == want.host()
        && given.port_or_known_default() == want.port_or_known_default()
        && given.path() == want.path()
}

/// RFC 9449 §4.3 checks 3, 8, 9, 11 and 12 on the claims: `jti` present and bounded, `htm`
/// the request's method, `htu` its URL, `iat` within [`DPOP_IAT_WINDOW`] of `now` either
/// way, and at a resource `ath` the hash of the token presented. The nonce (check 10), the
/// token's key binding (check 12) and the replay check (§11.1) are the server's.
pub fn check_claims(claims: &ProofClaims, expected: &Expected<'_>, now: i64) -> Result<(), OAuthError> {
    // §4.3 check 3 / §4.2: jti is REQUIRED; bounded so that it cannot grow what remembers it.
    match claims.jti.as_deref() {
        None | Some("") => return Err(invalid_proof("no jti")),
        Some(jti) if jti.len() > DPOP_MAX_JTI => return Err(invalid_proof("jti too long")),
        Some(_) => {}
    }
    // §4.3 check 8: htm matches the method (case-sensitive, as RFC 9110 §9.1 methods are).
    if claims.htm.as_deref() != Some(expected.method) {
        return Err(invalid_proof(format!(
            "htm {:?}, expected {}",
            claims.htm, expected.method
        )));
    }
    // §4.3 check 9: htu matches the URL, ignoring query and fragment.
    match claims.htu.as_deref() {
        Some(htu) if htu_matches(htu, expected.url) => {}
        other => return Err(invalid_proof(format!("htu {other:?}, expected {}", expected.url))),
    }
    // §4.3 check 11: iat within an acceptable window.
    let iat = claims.iat.ok_or_else(|| invalid_proof("no iat"))?;
    if iat < now.saturating_sub(DPOP_IAT_WINDOW) {
        return Err(invalid_proof(format!("iat {iat} too old (now {now})")));
    }
    if iat > now.saturating_add(DPOP_IAT_WINDOW) {
        return Err(invalid_proof(format!("iat {iat} in the future (now {now})")));
    }
    // §4.3 check 12 / §7.1: at a resource, ath binds the proof to the token presented.
    if let Some(token) = expected.access_token {
        match claims.ath.as_deref() {
            None => return Err(invalid_proof("no ath")),
            Some(given) if given != ath(token) => return Err(invalid_proof("ath does not match the access token")),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Until when a proof's `jti` must be remembered (RFC 9449 §11.1): past its `iat` window it
/// is refused as stale anyway.
pub fn remember_until(iat: i64) -> i64 {
    iat.saturating_add(DPOP_IAT_WINDOW).saturating_add(1)
}

/// The server-nonce slot `now` falls in (RFC 9449 §8): a nonce made for a slot is accepted
/// in it and the slots either side.
pub fn nonce_slot(now: i64) -> i64 {
    now.div_euclid(DPOP_NONCE_SLOT)
}

/// RFC 9449 §10: the `dpop_jkt` authorization request parameter, a JWK SHA-256 thumbprint.
pub fn parse_dpop_jkt(raw: &str) -> Result<String, OAuthError> {
    let ok = raw.len() == DPOP_JKT_LEN && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|b| b.len() == 32);
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(OAuthError::invalid_request("invalid dpop_jkt").with_detail(format!("dpop_jkt of {} bytes", raw.len())))
    }
}

/// RFC 9449 §10.1, at the PAR endpoint: the key a pushed request (and so its code) is bound
/// to — the `dpop_jkt` parameter, the proof's key, or both when they agree ("the
/// authorization server MUST reject the request if the JWK Thumbprint in dpop_jkt does not
/// match the public key in the DPoP header"; no code is named: invalid_request, as
/// node-oidc-provider answers).
pub fn par_binding(dpop_jkt: Option<&str>, proof_jkt: Option<&str>) -> Result<Option<String>, OAuthError> {
    match (dpop_jkt, proof_jkt) {
        (Some(param), Some(proof)) if param != proof => Err(OAuthError::invalid_request(
            "dpop_jkt does not match the DPoP proof's key",
        )),
        (param, proof) => Ok(param.or(proof).map(str::to_owned)),
    }
}

/// RFC 9449 §10.1: a code bound with `dpop_jkt` is exchanged only with a proof of that key;
/// invalid_grant otherwise (the code's binding is part of the grant).
pub fn check_code_binding(code_jkt: Option<&str>, proof_jkt: Option<&str>) -> Result<(), OAuthError> {
    match (code_jkt, proof_jkt) {
        (None, _) => Ok(()),
        (Some(want), Some(got)) if want == got => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant("invalid authorization code")
            .with_detail("DPoP key differs from the authorization request's dpop_jkt")),
        (Some(_), None) => Err(OAuthError::invalid_grant("invalid authorization code")
            .with_detail("code bound with dpop_jkt, no DPoP proof")),
    }
}

/// RFC 9449 §5: a refresh token bound to a key (a public client's) is used only with a
/// proof of that key; invalid_grant otherwise.
pub fn check_refresh_binding(token_jkt: Option<&str>, proof_jkt: Option<&str>) -> Result<(), OAuthError> {
    match (token_jkt, proof_jkt) {
        (None, _) => Ok(()),
        (Some(want), Some(got)) if want == got => Ok(()),
        (Some(_), Some(_)) => {
            Err(OAuthError::invalid_grant("invalid refresh token")
                .with_detail("refresh token bound to another DPoP key"))
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("invalid refresh token")
            .with_detail("refresh token bound to a DPoP key, no DPoP proof")),
    }
}

/// RFC 9449 §5: the key a refresh token issued now is bound to. Public clients' refresh
/// tokens are bound to the proof's key; confidential clients authenticate instead, and
/// theirs are not bound (so the client may change keys).
pub fn refresh_token_binding(client_is_public: bool, proof_jkt: Option<&str>) -> Option<String> {
    proof_jkt.filter(|_| client_is_public).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn rsa() -> ProofJwk {
        ProofJwk {
            kty: "RSA".into(),
            n: Some(RFC7638_N.into()),
            e: Some("AQAB".into()),
            ..Default::default()
        }
    }

    fn ec() -> ProofJwk {
        ProofJwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into()),
            y: Some("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into()),
            ..Default::default()
        }
    }

    #[test]
    fn rfc7638_thumbprint_vector() {
        // RFC 7638 §3.1.
        assert_eq!(
            jwk_thumbprint(&rsa()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // Parsed from JSON with optional members (alg, kid), which do not count.
        let json = format!(r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#);
        let parsed: ProofJwk = serde_json::from_str(&json).unwrap();
        assert_eq!(
            jwk_thumbprint(&parsed).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // Missing members, unknown types, values needing escapes.
        let mut no_x = ec();
        no_x.x = None;
        assert!(jwk_thumbprint(&no_x).is_err());
        assert!(jwk_thumbprint(&ProofJwk {
            kty: "oct".into(),
            ..Default::default()
        })
        .is_err());
        let mut quoted = ec();
        quoted.x = Some("a\"b".into());
        assert!(jwk_thumbprint(&quoted).is_err());
    }

    #[test]
    fn ath_vector() {
        // RFC 9449 §7.1's example access token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn header_rules() {
        let header = |typ: Option<&str>, alg: &str, jwk: Option<ProofJwk>| ProofHeader {
            typ: typ.map(Into::into),
            alg: alg.into(),
            jwk,
            crit: None,
        };
        let mut private = ec();
        private.d = Some(IgnoredAny);
        let mut symmetric = ec();
        symmetric.k = Some(IgnoredAny);
        let ed = ProofJwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into()),
            ..Default::default()
        };
        let t = Some("dpop+jwt");
        // (name, header, ok)
        #[rustfmt::skip]
        let table: Vec<(&str, ProofHeader, bool)> = vec![
            ("ES256 with an EC key", header(t, "ES256", Some(ec())), true),
            ("RS256 with an RSA key", header(t, "RS256", Some(rsa())), true),
            ("PS256 with an RSA key", header(t, "PS256", Some(rsa())), true),
            ("EdDSA with an OKP key", header(t, "EdDSA", Some(ed.clone())), true),
            ("typ with media type prefix, any case", header(Some("application/DPoP+JWT"), "ES256", Some(ec())), true),
            ("typ JWT", header(Some("JWT"), "ES256", Some(ec())), false),
            ("typ missing", header(None, "ES256", Some(ec())), false),
            ("alg none", header(t, "none", Some(ec())), false),
            ("alg HS256", header(t, "HS256", Some(ec())), false),
            ("alg ES384 (not advertised)", header(t, "ES384", Some(ec())), false),
            ("no jwk", header(t, "ES256", None), false),
            ("private key", header(t, "ES256", Some(private)), false),
            ("symmetric key", header(t, "ES256", Some(symmetric)), false),
            ("ES256 with an RSA key", header(t, "ES256", Some(rsa())), false),
            ("RS256 with an EC key", header(t, "RS256", Some(ec())), false),
            ("EdDSA with an EC key", header(t, "EdDSA", Some(ec())), false),
        ];
        for (name, h, ok) in table {
            let got = check_header(&h);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.code, ErrorCode::InvalidDpopProof, "{name}");
            }
        }
        assert_eq!(
            check_header(&header(t, "RS256", Some(rsa()))).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let mut crit = header(t, "ES256", Some(ec()));
        crit.crit = Some(IgnoredAny);
        assert!(check_header(&crit).is_err());
        // A private member in the JSON is seen (serde would otherwise drop it).
        let json = r#"{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","d":"secret"}}"#;
        let parsed: ProofHeader = serde_json::from_str(json).unwrap();
        assert!(check_header(&parsed).is_err());
    }

    #[test]
    fn htu_normalisation() {
        let token = "https://as.example/token";
        #[rustfmt::skip]
        let table = [
            ("https://as.example/token", true),
            ("https://as.example/token?x=1", true),
            ("https://as.example/token#frag", true),
            ("HTTPS://AS.EXAMPLE/token", true),
            ("https://as.example:443/token", true),
            ("https://as.example/./token", true),
            ("http://as.example/token", false),
            ("https://as.example:8443/token", false),
            ("https://other.example/token", false),
            ("https://as.example/Token", false),
            ("https://as.example/token/", false),
            ("https://as.example/par", false),
            ("/token", false),
            ("", false),
        ];
        for (htu, ok) in table {
            assert_eq!(htu_matches(htu, token), ok, "{htu}");
        }
    }

    #[test]
    fn claim_rules() {
        let now = 1_800_000_000;
        let url = "https://as.example/api/resource";
        let token = "header.payload.sig";
        let good = || ProofClaims {
            jti: Some("j-1".into()),
            htm: Some("GET".into()),
            htu: Some(url.into()),
            iat: Some(now),
            ath: Some(ath(token)),
            nonce: None,
        };
        let with = |f: &dyn Fn(&mut ProofClaims)| {
            let mut c = good();
            f(&mut c);
            c
        };
        let at_resource = Expected {
            method: "GET",
            url,
            access_token: Some(token),
        };
        let w = DPOP_IAT_WINDOW;
        #[rustfmt::skip]
        let table: Vec<(&str, ProofClaims, bool)> = vec![
            ("valid", good(), true),
            ("no jti", with(&|c| c.jti = None), false),
            ("empty jti", with(&|c| c.jti = Some(String::new())), false),
            ("jti at the bound", with(&|c| c.jti = Some("j".repeat(DPOP_MAX_JTI))), true),
            ("jti over the bound", with(&|c| c.jti = Some("j".repeat(DPOP_MAX_JTI + 1))), false),
            ("wrong htm", with(&|c| c.htm = Some("POST".into())), false),
            ("htm lower case", with(&|c| c.htm = Some("get".into())), false),
            ("no htm", with(&|c| c.htm = None), false),
            ("wrong htu", with(&|c| c.htu = Some("https://as.example/userinfo".into())), false),
            ("htu with query", with(&|c| c.htu = Some(format!("{url}?q=1"))), true),
            ("no htu", with(&|c| c.htu = None), false),
            ("iat at the window's start", with(&|c| c.iat = Some(now - w)), true),
            ("stale iat", with(&|c| c.iat = Some(now - w - 1)), false),
            ("iat at the window's end", with(&|c| c.iat = Some(now + w)), true),
            ("future iat", with(&|c| c.iat = Some(now + w + 1)), false),
            ("no iat", with(&|c| c.iat = None), false),
            ("no ath", with(&|c| c.ath = None), false),
            ("wrong ath", with(&|c| c.ath = Some(ath("another token"))), false),
        ];
        for (name, claims, ok) in table {
            let got = check_claims(&claims, &at_resource, now);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.code, ErrorCode::InvalidDpopProof, "{name}");
            }
        }
        // Without an access token (the token endpoint) ath is not asked for.
        let at_token = Expected {
            method: "GET",
            url,
            access_token: None,
        };
        assert!(check_claims(&with(&|c| c.ath = None), &at_token, now).is_ok());
        assert_eq!(remember_until(now), now + w + 1);
    }

    #[test]
    fn bindings() {
        use ErrorCode::*;
        let code = |c, p| check_code_binding(c, p).map_err(|e| e.code);
        assert_eq!(code(None, None), Ok(()));
        assert_eq!(code(None, Some("k")), Ok(()));
        assert_eq!(code(Some("k"), Some("k")), Ok(()));
        assert_eq!(code(Some("k"), Some("other")), Err(InvalidGrant));
        assert_eq!(code(Some("k"), None), Err(InvalidGrant));
        let refresh = |c, p| check_refresh_binding(c, p).map_err(|e| e.code);
        assert_eq!(refresh(None, None), Ok(()));
        assert_eq!(refresh(None, Some("k")), Ok(()));
        assert_eq!(refresh(Some("k"), Some("k")), Ok(()));
        assert_eq!(refresh(Some("k"), Some("other")), Err(InvalidGrant));
        assert_eq!(refresh(Some("k"), None), Err(InvalidGrant));
        assert_eq!(refresh_token_binding(true, Some("k")), Some("k".into()));
        assert_eq!(refresh_token_binding(false, Some("k")), None);
        assert_eq!(refresh_token_binding(true, None), None);
        let par = |d, p| par_binding(d, p).map_err(|e| e.code);
        assert_eq!(par(None, None), Ok(None));
        assert_eq!(par(Some("k"), None), Ok(Some("k".into())));
        assert_eq!(par(None, Some("k")), Ok(Some("k".into())));
        assert_eq!(par(Some("k"), Some("k")), Ok(Some("k".into())));
        assert_eq!(par(Some("k"), Some("other")), Err(InvalidRequest));
    }

    #[test]
    fn dpop_jkt_parameter() {
        assert!(parse_dpop_jkt("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_ok());
        for bad in [
            "",
            "short",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X",
            "NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs",
        ] {
            assert_eq!(
                parse_dpop_jkt(bad).unwrap_err().code,
                ErrorCode::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn nonce_slots() {
        assert_eq!(nonce_slot(0), 0);
        assert_eq!(nonce_slot(DPOP_NONCE_SLOT - 1), 0);
        assert_eq!(nonce_slot(DPOP_NONCE_SLOT), 1);
    }
}
