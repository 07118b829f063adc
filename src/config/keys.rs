//! The keys each part of gateway.yaml accepts, and "did you mean" suggestions for the rest.

/// Keys of the top level of gateway.yaml.
pub const TOP_LEVEL: &[&str] = &[
    "server",
    "auth",
    "providers",
    "cache",
    "widgets",
    "routes",
    "apps",
    "apps_file",
];

/// Keys of `server:`.
pub const SERVER: &[&str] = &["listen", "cors_origins", "limits", "tls"];

/// Keys of `server.limits:`.
pub const LIMITS: &[&str] = &[
    "max_connections",
    "header_timeout",
    "request_timeout",
    "max_body",
    "per_ip",
];

/// Keys of `server.tls:`.
pub const TLS: &[&str] = &["cert", "key"];

/// Keys of `auth:`.
pub const AUTH: &[&str] = &["header", "query_param", "keys", "rate_limit"];

/// Keys of an entry of `auth.keys` written as a mapping.
pub const AUTH_KEY: &[&str] = &["name", "key", "rate_limit", "widgets"];

/// Gateway keys of a widget besides its source's ([`crate::config::source::SOURCE_KEYS`]).
pub const WIDGET_OPTIONS: &[&str] = &["cache", "poll"];

/// Gateway keys of a widget: they choose where the answer comes from and how it is kept, and
/// never reach widgets.json.
pub fn widget_gateway() -> impl Iterator<Item = &'static str> {
    crate::config::source::SOURCE_KEYS
        .iter()
        .chain(WIDGET_OPTIONS)
        .copied()
}

/// Whether `name` is a gateway key of a widget ([`widget_gateway`]).
pub fn is_widget_gateway(name: &str) -> bool {
    widget_gateway().any(|k| k == name)
}

/// Keys of an entry of `routes:`.
pub const ROUTE: &[&str] = &[
    "method",
    "params",
    "static",
    "file",
    "template",
    "template_file",
    "upstream",
];

/// The widget fields Workspace documents or is known to read (contract §3.2). Other keys are
/// passed through with a warning, because Workspace reports them as "Unrecognized parameters".
pub const WIDGET_WORKSPACE: &[&str] = &[
    "name",
    "description",
    "endpoint",
    "type",
    "category",
    "subCategory",
    "subcategory",
    "wsEndpoint",
    "imgUrl",
    "gridData",
    "source",
    "params",
    "data",
    "refetchInterval",
    "staleTime",
    "dataUpdateDisplay",
    "runButton",
    "raw",
    "exportable",
    "storage",
    "mcp_tool",
    "widgetId",
    "searchCategory",
    "defaultViz",
    "columnsDefs",
];

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| {
            *d <= if c.len() <= 3 {
                1
            } else {
                (c.len() / 3).clamp(2, 3)
            }
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A "; did you mean `x`?" suffix, or nothing.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    suggest(word, candidates)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let gateway: Vec<&str> = widget_gateway().collect();
        assert_eq!(suggest("tempalte", &gateway), Some("template"));
        assert_eq!(suggest("cahce", &gateway), Some("cache"));
        assert_eq!(suggest("gridDta", WIDGET_WORKSPACE), Some("gridData"));
        assert_eq!(suggest("colour", &gateway), None);
    }
}
