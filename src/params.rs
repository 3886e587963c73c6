//! Request parameters as the endpoints receive them: decoded `(name, value)` pairs from
//! the query or the form body, in order, duplicates kept so that they can be refused.

/// What one request may carry at most, whoever sends it (anonymous callers included);
/// the server also refuses larger bodies before reading them. Values in [`crate::policy`].
pub use crate::policy::{MAX_FORM_BYTES, MAX_PARAMS};

/// Why a query or form body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// Longer than [`MAX_FORM_BYTES`].
    TooLarge,
    /// More than [`MAX_PARAMS`] parameters.
    TooManyParams,
    /// A stray `%`, or bytes that are not UTF-8.
    Malformed,
}

impl FormError {
    /// The `error_description` a client sees (with `invalid_request`).
    pub fn description(self) -> &'static str {
        match self {
            FormError::TooLarge => "request too large",
            FormError::TooManyParams => "too many parameters",
            FormError::Malformed => "malformed form body",
        }
    }
}

/// Checks the bounds before anything is decoded or allocated per parameter.
pub fn check_bounds(raw: &[u8]) -> Result<(), FormError> {
    if raw.len() > MAX_FORM_BYTES {
        return Err(FormError::TooLarge);
    }
    // Every `&` may start a parameter: counted on the raw bytes, before splitting.
    if raw.iter().filter(|&&b| b == b'&').count() >= MAX_PARAMS {
        return Err(FormError::TooManyParams);
    }
    Ok(())
}

/// RFC 6749 §3.1 and §3.2: parameters MUST NOT be included more than once. Returns the
/// first of `names` that occurs more than once (counting empty occurrences too).
pub fn duplicated<'n>(pairs: &[(String, String)], names: &[&'n str]) -> Option<&'n str> {
    names
        .iter()
        .copied()
        .find(|name| pairs.iter().filter(|(k, _)| k == name).count() > 1)
}

/// The value of `name`. RFC 6749 §3.1 and §3.2: a parameter sent without a value MUST be
/// treated as omitted, so an empty value reads as `None`. Duplicates are the caller's
/// concern (see [`duplicated`]); this returns the first occurrence.
pub fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `application/x-www-form-urlencoded` parsing (WHATWG URL §5.1) that refuses, instead of
/// replacing, what does not decode. RFC 6749 §3.2 bodies and §2.3.1 Basic credentials.
/// Bounded by [`check_bounds`].
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    check_bounds(body)?;
    let body = std::str::from_utf8(body).map_err(|_| FormError::Malformed)?;
    body.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            Some((form_urldecode(name)?, form_urldecode(value)?))
        })
        .collect::<Option<_>>()
        .ok_or(FormError::Malformed)
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a
/// byte. A stray `%` or invalid UTF-8 is refused rather than guessed at.
pub fn form_urldecode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                // Exactly two hex digits (RFC 3986 §2.1): `from_str_radix` alone would also
                // take a sign, decoding `%+F` as 0x0F where every other decoder reads "% F".
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
pub(crate) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_before_decoding() {
        let table: &[(Vec<u8>, Result<usize, FormError>)] = &[
            (b"a=1&b=2".to_vec(), Ok(2)),
            (b"a=%zz".to_vec(), Err(FormError::Malformed)),
            (b"a=\xff".to_vec(), Err(FormError::Malformed)),
            ("a&".repeat(MAX_PARAMS - 1).into_bytes(), Ok(MAX_PARAMS - 1)),
            ("a&".repeat(MAX_PARAMS).into_bytes(), Err(FormError::TooManyParams)),
            (vec![b'a'; MAX_FORM_BYTES], Ok(1)),
            (vec![b'a'; MAX_FORM_BYTES + 1], Err(FormError::TooLarge)),
            // A million empty pairs: refused on the byte count, never split.
            ("&".repeat(1_000_000).into_bytes(), Err(FormError::TooLarge)),
        ];
        for (raw, expected) in table {
            assert_eq!(parse_form(raw).map(|p| p.len()), *expected, "{} bytes", raw.len());
        }
    }

    #[test]
    fn duplicates_and_empty_values() {
        let p = pairs(&[("a", "1"), ("b", ""), ("b", "2"), ("c", "")]);
        assert_eq!(duplicated(&p, &["a", "b"]), Some("b"));
        assert_eq!(duplicated(&p, &["a", "c", "z"]), None);
        let table: &[(&str, Option<&str>)] = &[("a", Some("1")), ("c", None), ("z", None)];
        for (name, expected) in table {
            assert_eq!(get(&p, name), *expected, "{name}");
        }
    }
}
