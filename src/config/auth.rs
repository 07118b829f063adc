//! The `auth:` section: the client keys that may call the gateway, where clients send them, how
//! fast each may call and which widgets each may see.
//!
//! Keys are hashed while parsing: the config holds only SHA-256 digests, never a key. A section
//! whose keys all resolve to nothing is an error, so a missing secret can never open the gateway.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;

use http::HeaderName;

use crate::auth::digest::KeyDigest;
use crate::config::env::{self, Lookup};
use crate::config::keys;
use crate::config::rate::{Period, RATE_SYNTAX, Rate};
use crate::diag::Diagnostics;
use crate::yaml::{Mark, Node};

/// The header Workspace's documentation suggests for a backend key.
pub const DEFAULT_HEADER: &str = "X-API-KEY";

/// Requests per client key unless `auth.rate_limit` or the key says otherwise. Enough for a
/// dashboard of twenty widgets to load at once and refresh every second.
pub const DEFAULT_RATE: Rate = Rate {
    count: NonZeroU32::new(20).expect("20 is not zero"),
    per: Period::Second,
};

/// A parsed `auth:` section.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// The header carrying the key.
    pub header: HeaderName,
    /// The header name as written, for messages.
    pub header_label: String,
    /// The query parameter that may carry the key instead.
    pub query_param: Option<String>,
    /// The rate of keys without their own.
    pub rate_limit: Rate,
    /// The clients, in config order.
    pub clients: Vec<ClientDef>,
}

/// One client: a name for logs and limits, its keys, and what it may do.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientDef {
    /// The name logs and rate limits use (`key-N` for keys written without one).
    pub name: String,
    /// Where the client is written.
    pub mark: Mark,
    /// Digests of its keys (several while a key is rotated).
    pub keys: Vec<KeyDigest>,
    /// Its own rate, when given.
    pub rate_limit: Option<Rate>,
    /// Widget ids or globs it may use; `None` means every widget.
    pub widgets: Option<Vec<Pattern>>,
}

/// A widget id or glob (`*` any run of characters, `?` one character) of a `widgets:` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// The pattern as written.
    pub glob: String,
    /// Where it is written.
    pub mark: Mark,
}

/// Reads `auth:`, resolving `${VAR}` references through `env`.
pub fn parse(
    node: &Node,
    file: &Path,
    env: Lookup<'_>,
    diags: &mut Diagnostics,
) -> Option<AuthConfig> {
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("`auth` must be a mapping with `keys:`, not {}", node.kind()),
        );
        return None;
    }
    let mut auth = AuthConfig {
        header: HeaderName::from_static("x-api-key"),
        header_label: DEFAULT_HEADER.to_string(),
        query_param: None,
        rate_limit: DEFAULT_RATE,
        clients: Vec::new(),
    };
    let mut parser = Parser {
        file,
        env,
        diags,
        unnamed: 0,
    };
    for (key, value) in node.entries() {
        match key.name.as_str() {
            "header" => match value
                .as_str()
                .map(|s| (s, HeaderName::from_bytes(s.as_bytes())))
            {
                Some((label, Ok(name))) => {
                    auth.header = name;
                    auth.header_label = label.to_string();
                }
                _ => parser.diags.error(
                    file,
                    value.mark,
                    "`auth.header` must be an HTTP header name, like X-API-KEY",
                ),
            },
            "query_param" => match value.as_str() {
                Some(p) if is_query_name(p) => auth.query_param = Some(p.to_string()),
                _ => parser.diags.error(
                    file,
                    value.mark,
                    "`auth.query_param` must be a query parameter name (letters, digits, -, _, .)",
                ),
            },
            "rate_limit" => {
                if let Some(rate) = parser.rate(value, "`auth.rate_limit`") {
                    auth.rate_limit = rate;
                }
            }
            "keys" => auth.clients = parser.clients(value),
            other => parser.diags.error(
                file,
                key.mark,
                format!(
                    "unknown key `{other}` in `auth`{}",
                    keys::did_you_mean(other, keys::AUTH)
                ),
            ),
        }
    }
    match node.get("keys") {
        None => parser.diags.error(
            file,
            node.mark,
            "`auth` needs `keys:`, the client keys that may call this gateway",
        ),
        Some(keys_node) if auth.clients.iter().all(|c| c.keys.is_empty()) => parser.diags.error(
            file,
            keys_node.mark,
            "`auth.keys` resolved to no key, so every request would be refused; set the \
             variables it names (or their _FILE twins), or remove `auth:` to serve without keys",
        ),
        Some(_) => check_unique(&auth.clients, file, parser.diags),
    }
    Some(auth)
}

struct Parser<'a, 'e> {
    file: &'a Path,
    env: Lookup<'e>,
    diags: &'a mut Diagnostics,
    unnamed: usize,
}

impl Parser<'_, '_> {
    fn clients(&mut self, node: &Node) -> Vec<ClientDef> {
        if !node.is_seq() {
            self.diags.error(
                self.file,
                node.mark,
                "`auth.keys` must be a list of keys (strings, `sha256:<hex>`, or {name, key})",
            );
            return Vec::new();
        }
        let mut clients = Vec::new();
        for item in node.items() {
            if item.is_map() {
                clients.extend(self.named(item));
            } else {
                for digest in self.keys(item, "each entry of `auth.keys`") {
                    self.unnamed += 1;
                    clients.push(ClientDef {
                        name: format!("key-{}", self.unnamed),
                        mark: item.mark,
                        keys: vec![digest],
                        rate_limit: None,
                        widgets: None,
                    });
                }
            }
        }
        clients
    }

    /// A `{name, key, rate_limit, widgets}` entry.
    fn named(&mut self, node: &Node) -> Option<ClientDef> {
        for (key, _) in node.entries() {
            if !keys::AUTH_KEY.contains(&key.name.as_str()) {
                self.diags.error(
                    self.file,
                    key.mark,
                    format!(
                        "unknown key `{}` in an entry of `auth.keys`{}",
                        key.name,
                        keys::did_you_mean(&key.name, keys::AUTH_KEY)
                    ),
                );
            }
        }
        let name = match node.get("name").map(|n| (n, n.as_str())) {
            Some((_, Some(name))) if is_client_name(name) => name.to_string(),
            Some((n, _)) => {
                self.diags.error(
                    self.file,
                    n.mark,
                    "a key's `name` must be letters, digits, `-`, `_`, `.` or `@` (it appears in logs)",
                );
                return None;
            }
            None => {
                self.diags.error(
                    self.file,
                    node.mark,
                    "an entry of `auth.keys` written as a mapping needs a `name` and a `key`",
                );
                return None;
            }
        };
        let owner = format!("key `{name}`");
        let keys = match node.get("key") {
            Some(k) => self.keys(k, &format!("the `key` of {owner}")),
            None => {
                self.diags
                    .error(self.file, node.mark, format!("{owner} needs a `key`"));
                Vec::new()
            }
        };
        let rate_limit = node
            .get("rate_limit")
            .and_then(|r| self.rate(r, &format!("the `rate_limit` of {owner}")));
        let widgets = node.get("widgets").map(|w| self.patterns(w, &owner));
        Some(ClientDef {
            name,
            mark: node.mark,
            keys,
            rate_limit,
            widgets,
        })
    }

    /// The digests of one key string: `${VAR}` resolved, comma lists split, `sha256:` read.
    fn keys(&mut self, node: &Node, what: &str) -> Vec<KeyDigest> {
        let (file, mark) = (self.file, node.mark);
        let Some(text) = node.as_str() else {
            self.diags.error(
                file,
                mark,
                format!("{what} must be a string: a key, `${{ENV_VAR}}` or `sha256:<hex>`"),
            );
            return Vec::new();
        };
        let resolved = match env::resolve(text, self.env) {
            Ok(r) => r,
            Err(why) => {
                self.diags.error(file, mark, why);
                return Vec::new();
            }
        };
        for name in &resolved.empty {
            self.diags.warn(
                file,
                mark,
                format!("${{{name}}} is unset or empty and {name}_FILE is not set: it adds no key"),
            );
        }
        let mut digests = Vec::new();
        let mut literal = false;
        for part in resolved
            .value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.strip_prefix("sha256:") {
                Some(hex) => match KeyDigest::from_hex(hex) {
                    Some(d) => digests.push(d),
                    None => self.diags.error(
                        file,
                        mark,
                        "`sha256:` must be followed by the key's SHA-256 digest in 64 hex digits \
                         (printf %s \"$KEY\" | sha256sum)",
                    ),
                },
                None => {
                    literal |= !resolved.referenced;
                    digests.push(KeyDigest::of(part.as_bytes()));
                }
            }
        }
        if literal {
            self.diags.warn(
                file,
                mark,
                "a key written in gateway.yaml can be read by anyone who can read the file; \
                 write `${ENV_VAR}` or its digest `sha256:<hex>` instead",
            );
        }
        digests
    }

    fn rate(&mut self, node: &Node, what: &str) -> Option<Rate> {
        let rate = node.as_str().and_then(Rate::parse);
        if rate.is_none() {
            self.diags.error(
                self.file,
                node.mark,
                format!("{what} must be {RATE_SYNTAX}"),
            );
        }
        rate
    }

    fn patterns(&mut self, node: &Node, owner: &str) -> Vec<Pattern> {
        if !node.is_seq() {
            self.diags.error(
                self.file,
                node.mark,
                format!(
                    "the `widgets` of {owner} must be a list of widget ids or globs like equity_*"
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        for item in node.items() {
            match item.as_str() {
                Some(glob) if !glob.is_empty() => out.push(Pattern {
                    glob: glob.to_string(),
                    mark: item.mark,
                }),
                _ => self.diags.error(
                    self.file,
                    item.mark,
                    "each entry of `widgets` must be a widget id or a glob like equity_*",
                ),
            }
        }
        out
    }
}

/// Names and keys each belong to one client.
fn check_unique(clients: &[ClientDef], file: &Path, diags: &mut Diagnostics) {
    let mut names: HashMap<&str, Mark> = HashMap::new();
    let mut owners: Vec<(KeyDigest, &str)> = Vec::new();
    for c in clients {
        if let Some(first) = names.insert(&c.name, c.mark) {
            diags.error(
                file,
                c.mark,
                format!(
                    "key name `{}` is already used at line {}; names must be unique",
                    c.name, first.line
                ),
            );
        }
        for digest in &c.keys {
            match owners.iter().find(|(d, _)| d == digest) {
                Some((_, other)) => diags.error(
                    file,
                    c.mark,
                    format!(
                        "`{}` has the same key as `{other}`; give each client its own key",
                        c.name
                    ),
                ),
                None => owners.push((*digest, &c.name)),
            }
        }
    }
}

fn is_query_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_client_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(yaml: &str, vars: &[(&str, &str)]) -> (Option<AuthConfig>, Diagnostics) {
        let node = crate::yaml::parse(yaml).expect("yaml");
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.get(name).cloned();
        let mut diags = Diagnostics::default();
        let auth = parse(&node, Path::new("g.yaml"), &env, &mut diags);
        (auth, diags)
    }

    #[test]
    fn env_lists_split_into_named_clients() {
        let (auth, diags) = parse_with(
            "keys: [\"${VALID_API_KEYS}\", \"sha256:8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8\"]\nquery_param: apikey\nrate_limit: 5/m\n",
            &[("VALID_API_KEYS", "one, two,")],
        );
        assert!(diags.is_empty(), "{diags}");
        let auth = auth.expect("auth");
        let names: Vec<_> = auth.clients.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["key-1", "key-2", "key-3"]);
        assert_eq!(auth.clients[1].keys, [KeyDigest::of(b"two")]);
        assert_eq!(auth.clients[2].keys, [KeyDigest::of(b"alpha")]);
        assert_eq!(auth.query_param.as_deref(), Some("apikey"));
        assert_eq!(auth.rate_limit.to_string(), "5/m");
        assert_eq!(auth.header_label, "X-API-KEY");
    }

    #[test]
    fn keys_that_resolve_to_nothing_are_an_error() {
        let (_, diags) = parse_with("keys: [\"${NOPE}\", \"${EMPTY}\"]\n", &[("EMPTY", "")]);
        let text = diags.to_string();
        assert!(diags.has_errors(), "{text}");
        assert!(
            text.contains("g.yaml:1:7: error: `auth.keys` resolved to no key"),
            "{text}"
        );
        assert!(text.contains("${NOPE} is unset"), "{text}");
    }

    #[test]
    fn debug_output_holds_no_key() {
        let (auth, _) = parse_with(
            "keys: [{name: alice, key: \"${K}\", widgets: [\"equity_*\"]}]\n",
            &[("K", "super-secret-value")],
        );
        let shown = format!("{auth:?}");
        assert!(
            shown.contains("alice") && !shown.contains("super-secret-value"),
            "{shown}"
        );
    }
}
