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
