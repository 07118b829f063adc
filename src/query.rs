//! Query strings read as `application/x-www-form-urlencoded` pairs: `&`-separated, split at the
//! first `=`, `+` for a space, `%XX` escapes, invalid UTF-8 replaced by U+FFFD. A part without
//! `+` or `%` (nearly all of what Workspace sends) is handed out as a slice of the query
//! itself, so reading a query allocates nothing but its list of pairs.

use std::borrow::Cow;

use percent_encoding::percent_decode;

/// The decoded pairs of `query`, in order; empty parts (`a=1&&b=2`) are skipped, and a part
/// without `=` is a name with an empty value.
pub fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (decode(name), decode(value))
        })
}

/// One name or value, decoded.
fn decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'+' || b == b'%') {
        return Cow::Borrowed(text);
    }
    let spaced = text.replace('+', " ");
    Cow::Owned(
        String::from_utf8_lossy(&percent_decode(spaced.as_bytes()).collect::<Vec<u8>>())
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference reading of the same bytes (the crate the parser replaced).
    fn reference(query: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn ours(query: &str) -> Vec<(String, String)> {
        pairs(query)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn reads_queries_as_the_form_encoding_does() {
        let queries = [
            "",
            "symbol=MSFT&days=7",
            "a=1&&b=2&",
            "&&&",
            "flag",
            "flag&x=",
            "=v",
            "a=b=c",
            "s=A+B%2CC&the%6De=light&%72aw=tru%65",
            "q=%E2%82%AC+%e2%82%ac",
            "bad=%FF%FE&half=%E2%82",
            "pct=%&pct2=%4&pct3=%zz&pct4=100%25",
            "plus=+++&x=a+b+",
            "utf=€&ключ=значение",
            "k%3Dv=1&amp%26=2",
        ];
        for q in queries {
            assert_eq!(ours(q), reference(q), "query `{q}`");
        }
    }

    #[test]
    fn every_short_query_of_the_meaningful_characters_reads_the_same() {
        const CHARS: [&str; 8] = ["a", "=", "&", "+", "%", "2", "F", "€"];
        let mut queries = vec![String::new()];
        let mut of_length = vec![String::new()];
        for _ in 0..4 {
            of_length = of_length
                .iter()
                .flat_map(|q| CHARS.iter().map(move |c| format!("{q}{c}")))
                .collect();
            queries.extend(of_length.iter().cloned());
        }
        assert_eq!(queries.len(), 1 + 8 + 64 + 512 + 4096);
        for q in &queries {
            assert_eq!(ours(q), reference(q), "query `{q}`");
        }
    }

    #[test]
    fn plain_parts_are_borrowed() {
        let query = String::from("symbol=MSFT&days=7&s=A+B");
        let got: Vec<_> = pairs(&query).collect();
        assert!(matches!(
            got[0],
            (Cow::Borrowed("symbol"), Cow::Borrowed("MSFT"))
        ));
        assert!(matches!(
            got[1],
            (Cow::Borrowed("days"), Cow::Borrowed("7"))
        ));
        assert!(matches!(&got[2].1, Cow::Owned(v) if v == "A B"));
    }
}
