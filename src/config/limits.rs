//! `server.limits:`: how much one client may take from the server, so that slow or greedy
//! clients cannot exhaust it.

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use crate::config::keys;
use crate::config::rate::{Period, RATE_SYNTAX, Rate};
use crate::diag::Diagnostics;
use crate::yaml::Node;

/// Open connections at most; more are closed at once. Far below a default file-descriptor
/// limit of 65536, far above what a team's browsers keep open (about six each).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How long a client may take to send a request's headers, and how long an idle keep-alive
/// connection stays open (enforced by head_timeout.rs).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may take to answer before it gets a 504.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest request body accepted (Workspace's POST bodies are small JSON documents).
pub const DEFAULT_MAX_BODY: u64 = 1024 * 1024;

/// Requests per client address for traffic without a valid key: everything when `auth` is
/// off, failed key checks when it is on (which bounds key guessing).
pub const DEFAULT_PER_IP: Rate = Rate {
    count: NonZeroU32::new(50).expect("50 is not zero"),
    per: Period::Second,
};

/// Settings of `server.limits:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Time to send request headers; also the idle keep-alive timeout.
    pub header_timeout: Duration,
    /// Time to answer one request.
    pub request_timeout: Duration,
    /// Largest request body, in bytes.
    pub max_body: u64,
    /// Rate per client address of requests without a valid key; `None` when `off`.
    pub per_ip: Option<Rate>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            per_ip: Some(DEFAULT_PER_IP),
        }
    }
}

/// Reads `server.limits:`; defaults stand in for what is absent or wrong.
pub fn parse(node: &Node, file: &Path, diags: &mut Diagnostics) -> Limits {
    let mut limits = Limits::default();
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("`server.limits` must be a mapping, not {}", node.kind()),
        );
        return limits;
    }
    for (key, value) in node.entries() {
        let mut bad = |what: &str| {
            diags.error(
                file,
                value.mark,
                format!("`server.limits.{}` must be {what}", key.name),
            );
        };
        match key.name.as_str() {
            "max_connections" => match value.as_f64() {
                Some(n) if n >= 1.0 && n.fract() == 0.0 => limits.max_connections = n as usize,
                _ => bad("a whole number of connections, at least 1"),
            },
            "header_timeout" => match duration(value) {
                Some(d) => limits.header_timeout = d,
                None => bad("a duration like 10s"),
            },
            "request_timeout" => match duration(value) {
                Some(d) => limits.request_timeout = d,
                None => bad("a duration like 30s"),
            },
            "max_body" => match size(value) {
                Some(n) => limits.max_body = n,
                None => bad("a size like 1MiB, 512KiB or a number of bytes"),
            },
            "per_ip" => match value.as_str() {
                Some("off") => limits.per_ip = None,
                Some(text) if Rate::parse(text).is_some() => limits.per_ip = Rate::parse(text),
                _ => bad(&format!("{RATE_SYNTAX}, or off")),
            },
            other => diags.error(
                file,
                key.mark,
                format!(
                    "unknown key `{other}` in `server.limits`{}",
                    keys::did_you_mean(other, keys::LIMITS)
                ),
            ),
        }
    }
    limits
}

/// A positive duration such as `10s` or `1m 30s`.
fn duration(node: &Node) -> Option<Duration> {
    humantime::parse_duration(node.as_str()?)
        .ok()
        .filter(|d| !d.is_zero())
}

/// A byte count: a number, or a number with B, KB, KiB, MB or MiB.
fn size(node: &Node) -> Option<u64> {
    if let Some(n) = node.as_f64() {
        return (n >= 1.0 && n.fract() == 0.0).then_some(n as u64);
    }
    let text = node.as_str()?.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "KiB" => 1024,
        "MB" => 1000 * 1000,
        "MiB" => 1024 * 1024,
        _ => return None,
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)?
        .checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_limit() {
        let node = crate::yaml::parse(
            "max_connections: 8\nheader_timeout: 2s\nrequest_timeout: 1m\nmax_body: 64KiB\nper_ip: off\n",
        )
        .expect("yaml");
        let mut diags = Diagnostics::default();
        let limits = parse(&node, Path::new("g.yaml"), &mut diags);
        assert!(diags.is_empty(), "{diags}");
        assert_eq!(
            limits,
            Limits {
                max_connections: 8,
                header_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(60),
                max_body: 64 * 1024,
                per_ip: None,
            }
        );
    }

    #[test]
    fn names_each_bad_value() {
        let node = crate::yaml::parse(
            "max_connections: 0\nheader_timeout: soon\nmax_body: 2GB\nper_ip: lots\nmax_conections: 3\n",
        )
        .expect("yaml");
        let mut diags = Diagnostics::default();
        parse(&node, Path::new("g.yaml"), &mut diags);
        let text = diags.to_string();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(
            text.contains("g.yaml:3:11: error: `server.limits.max_body` must be"),
            "{text}"
        );
        assert!(text.contains("did you mean `max_connections`?"), "{text}");
    }
}
