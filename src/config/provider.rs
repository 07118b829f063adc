//! `providers:`: third-party APIs with the secrets the gateway injects into every request.

use std::path::Path;
use std::time::Duration;

use url::Url;

use crate::config::env::{self, Env};
use crate::config::keys;
use crate::config::rate::{RATE_SYNTAX, Rate};
use crate::config::units;
use crate::diag::Diagnostics;
use crate::yaml::{Mark, Node};

/// Total time an upstream call may take when `timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time to establish a connection when `timeout.connect` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a request waits for the provider's rate limit before answering 503.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(2);
/// Largest upstream body read (10 MB): a bigger answer is a 502, never an out-of-memory.
pub const DEFAULT_MAX_BODY: u64 = 10_000_000;

/// One provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDef {
    /// Its name (the key under `providers:`).
    pub name: String,
    /// Where it is declared.
    pub mark: Mark,
    /// Whether all its secrets resolved.
    pub status: ProviderStatus,
    /// Total time per call.
    pub timeout: Duration,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// Requests allowed per period, across the whole gateway.
    pub rate_limit: Option<Rate>,
    /// How long a request may wait for the rate limit.
    pub rate_limit_wait: Duration,
    /// Calls in flight at once.
    pub max_concurrency: Option<usize>,
    /// Retries of GETs on connect errors and 502/503/504 (0: off).
    pub retries: u32,
    /// Default cache lifetime for its widgets.
    pub cache: Option<Duration>,
    /// Largest body read.
    pub max_body: u64,
}

/// The resolved request parts of a provider, or the variable that is missing.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderStatus {
    /// Every `${VAR}` resolved.
    Ready(Box<ProviderParts>),
    /// A variable is unset: the provider's widgets answer 503 naming it.
    Unconfigured {
        /// The unset variable.
        missing: String,
    },
}

/// The base URL, headers and query of a ready provider. Header and query values may be secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderParts {
    /// Base URL, without a trailing slash.
    pub base_url: Url,
    /// Headers added to every call.
    pub headers: Vec<(String, String)>,
    /// Query parameters added to every call.
    pub query: Vec<(String, String)>,
}

const PROVIDER_KEYS: &[&str] = &[
    "base_url",
    "headers",
    "query",
    "timeout",
    "rate_limit",
    "rate_limit_wait",
    "max_concurrency",
    "retries",
    "cache",
    "max_body",
];

/// Reads `providers:`.
pub fn parse_all(node: &Node, file: &Path, env: &Env, diags: &mut Diagnostics) -> Vec<ProviderDef> {
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            "`providers` must be a mapping of provider name to settings",
        );
        return Vec::new();
    }
    node.entries()
        .iter()
        .filter_map(|(k, v)| parse_one(&k.name, k.mark, v, file, env, diags))
        .collect()
}

fn parse_one(
    name: &str,
    mark: Mark,
    node: &Node,
    file: &Path,
    env: &Env,
    diags: &mut Diagnostics,
) -> Option<ProviderDef> {
    let at = format!("provider `{name}`");
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("{at} must be a mapping with `base_url`"),
        );
        return None;
    }
    for (k, _) in node.entries() {
        if !PROVIDER_KEYS.contains(&k.name.as_str()) {
            diags.error(
                file,
                k.mark,
                format!(
                    "{at}: unknown key `{}`{}",
                    k.name,
                    keys::did_you_mean(&k.name, PROVIDER_KEYS)
                ),
            );
        }
    }
    let mut def = ProviderDef {
        name: name.to_string(),
        mark,
        status: ProviderStatus::Unconfigured {
            missing: String::new(),
        },
        timeout: DEFAULT_TIMEOUT,
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        rate_limit: None,
        rate_limit_wait: DEFAULT_RATE_LIMIT_WAIT,
        max_concurrency: None,
        retries: 0,
        cache: None,
        max_body: DEFAULT_MAX_BODY,
    };
    let text = |k: &str| {
        node.get(k).map(|n| {
            (
                n.as_str()
                    .map(str::to_string)
                    .or_else(|| n.as_f64().map(|f| f.to_string())),
                n.mark,
            )
        })
    };
    let mut bad = |m: Mark, msg: String| diags.error(file, m, format!("{at}: {msg}"));
    if let Some(t) = node.get("timeout") {
        if t.is_map() {
            for (k, v) in t.entries() {
                let d = v.as_str().map(units::duration);
                match (k.name.as_str(), d) {
                    ("connect", Some(Ok(d))) => def.connect_timeout = d,
                    ("total", Some(Ok(d))) => def.timeout = d,
                    ("connect" | "total", Some(Err(e))) => bad(v.mark, e),
                    ("connect" | "total", None) => {
                        bad(v.mark, "a timeout must be a duration like 10s".into())
                    }
                    (other, _) => bad(
                        k.mark,
                        format!("unknown timeout `{other}`; use `connect` and `total`"),
                    ),
                }
            }
        } else {
            match t.as_str().map(units::duration) {
                Some(Ok(d)) => {
                    def.timeout = d;
                    def.connect_timeout = def.connect_timeout.min(d);
                }
                Some(Err(e)) => bad(t.mark, e),
                None => bad(
                    t.mark,
                    "`timeout` must be a duration like 10s, or {connect, total}".into(),
                ),
            }
        }
    }
    for (key, slot) in [("rate_limit_wait", &mut def.rate_limit_wait)] {
        if let Some((v, m)) = text(key) {
            match v.as_deref().map(units::duration) {
                Some(Ok(d)) => *slot = d,
                Some(Err(e)) => bad(m, e),
                None => bad(m, format!("`{key}` must be a duration")),
            }
        }
    }
    if let Some((v, m)) = text("cache") {
        match v.as_deref().map(units::duration) {
            Some(Ok(d)) => def.cache = Some(d),
            Some(Err(e)) => bad(m, e),
            None => bad(m, "`cache` must be a duration like 60s".into()),
        }
    }
    if let Some((v, m)) = text("rate_limit") {
        match v.as_deref().and_then(Rate::parse) {
            Some(r) => def.rate_limit = Some(r),
            None => bad(m, format!("`rate_limit` must be {RATE_SYNTAX}")),
        }
    }
    if let Some((v, m)) = text("max_body") {
        match v.as_deref().map(units::size) {
            Some(Ok(s)) => def.max_body = s,
            Some(Err(e)) => bad(m, e),
            None => bad(m, "`max_body` must be a size like 10MB".into()),
        }
    }
    if let Some(n) = node.get("max_concurrency") {
        match n.as_f64() {
            Some(c) if c >= 1.0 && c.fract() == 0.0 => def.max_concurrency = Some(c as usize),
            _ => bad(
                n.mark,
                "`max_concurrency` must be a whole number >= 1".into(),
            ),
        }
    }
    if let Some(n) = node.get("retries") {
        match n.as_f64() {
            Some(c) if (0.0..=10.0).contains(&c) && c.fract() == 0.0 => def.retries = c as u32,
            _ => bad(
                n.mark,
                "`retries` must be a whole number from 0 to 10".into(),
            ),
        }
    }
    def.status = resolve(node, &at, file, env, diags)?;
    if let ProviderStatus::Unconfigured { missing } = &def.status {
        diags.warn(
            file,
            mark,
            format!(
                "{at} is not configured: {missing} is not set; its widgets answer 503 until it is"
            ),
        );
    }
    Some(def)
}

/// Resolves the base URL, headers and query; `None` when they are malformed.
fn resolve(
    node: &Node,
    at: &str,
    file: &Path,
    env: &Env,
    diags: &mut Diagnostics,
) -> Option<ProviderStatus> {
    let Some(base) = node.get("base_url") else {
        diags.error(file, node.mark, format!("{at} needs a `base_url`"));
        return None;
    };
    let Some(base_text) = base.as_str() else {
        diags.error(
            file,
            base.mark,
            format!("{at}: `base_url` must be a string"),
        );
        return None;
    };
    let mut missing = None;
    let mut invalid = None;
    let lookup = |name: &str| env.get(name);
    let mut take = |text: &str| match env::resolve(text, &lookup) {
        Ok(r) => {
            if let Some(name) = r.empty.into_iter().next() {
                missing.get_or_insert(name);
            }
            r.value
        }
        Err(why) => {
            invalid.get_or_insert(why);
            String::new()
        }
    };
    let base_value = take(base_text);
    let pairs = |key: &str,
                 diags: &mut Diagnostics,
                 take: &mut dyn FnMut(&str) -> String|
     -> Vec<(String, String)> {
        let Some(map) = node.get(key) else {
            return Vec::new();
        };
        if !map.is_map() {
            diags.error(
                file,
                map.mark,
                format!("{at}: `{key}` must be a mapping of name to value"),
            );
            return Vec::new();
        }
        map.entries()
            .iter()
            .filter_map(|(k, v)| match v.as_str() {
                Some(s) => Some((k.name.clone(), take(s))),
                None => {
                    diags.error(
                        file,
                        v.mark,
                        format!("{at}: `{key}.{}` must be a string", k.name),
                    );
                    None
                }
            })
            .collect()
    };
    let headers = pairs("headers", diags, &mut take);
    let query = pairs("query", diags, &mut take);
    for (name, _) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            diags.error(
                file,
                node.mark,
                format!("{at}: `{name}` is not a valid header name"),
            );
        }
    }
    if let Some(why) = invalid {
        diags.error(file, node.mark, format!("{at}: {why}"));
        return None;
    }
    if let Some(name) = missing {
        return Some(ProviderStatus::Unconfigured { missing: name });
    }
    let base_url = match parse_base(&base_value) {
        Ok(u) => u,
        Err(why) => {
            // Never echo the resolved value: it may come from a secret.
            diags.error(file, base.mark, format!("{at}: `base_url` {why}"));
            return None;
        }
    };
    Some(ProviderStatus::Ready(Box::new(ProviderParts {
        base_url,
        headers,
        query,
    })))
}

fn parse_base(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err("must not carry a query, fragment or credentials; put keys under `query:` or `headers:`".into());
    }
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}
