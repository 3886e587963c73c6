//! Request parameters as the endpoints receive them: decoded `(name, value)` pairs from
//! the query or the form body, in order, duplicates kept so that they can be refused.

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
pub fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let body = std::str::from_utf8(body).ok()?;
    body.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            Some((form_urldecode(name)?, form_urldecode(value)?))
        })
        .collect()
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
                let hex = bytes.get(i + 1..i + 3)?;
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
