//! The `server:` section: where to listen and which browser origins may call.

use std::net::SocketAddr;
use std::path::Path;

use crate::config::keys;
use crate::config::limits::{self, Limits};
use crate::config::tls::{self, TlsFiles};
use crate::diag::Diagnostics;
use crate::yaml::Node;

/// The port OpenBB's documentation uses for custom backends.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:7779";

/// The origins Workspace and its companions are served from (contract §2.5): the web app, its
/// staging twin, the Excel add-in, and the desktop/dev builds.
pub const DEFAULT_CORS_ORIGINS: &[&str] = &[
    "https://pro.openbb.co",
    "https://pro.openbb.dev",
    "https://excel.openbb.co",
    "https://excel.openbb.dev",
    "http://localhost:1420",
    "http://localhost",
    "http://localhost:5050",
];

/// Settings of `server:`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Browser origins allowed to call the gateway.
    pub cors_origins: Vec<String>,
    /// `limits:`: connection, time, size and per-address rate limits.
    pub limits: Limits,
    /// `tls:`: serve HTTPS with these files.
    pub tls: Option<TlsFiles>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN
                .parse()
                .expect("the default listen address is valid"),
            cors_origins: DEFAULT_CORS_ORIGINS.iter().map(|s| s.to_string()).collect(),
            limits: Limits::default(),
            tls: None,
        }
    }
}

/// Reads `server:`; problems go to `diags`, and defaults stand in for what is wrong.
pub fn parse(node: &Node, file: &Path, diags: &mut Diagnostics) -> ServerConfig {
    let mut server = ServerConfig::default();
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            format!("`server` must be a mapping, not {}", node.kind()),
        );
        return server;
    }
    for (key, value) in node.entries() {
        match key.name.as_str() {
            "listen" => match value.as_str().map(str::parse::<SocketAddr>) {
                Some(Ok(addr)) => server.listen = addr,
                _ => diags.error(
                    file,
                    value.mark,
                    "`server.listen` must be an address with a port, like 0.0.0.0:7779",
                ),
            },
            "cors_origins" => server.cors_origins = parse_origins(value, file, diags),
            "limits" => server.limits = limits::parse(value, file, diags),
            "tls" => server.tls = tls::parse(value, file, diags),
            other => diags.error(
                file,
                key.mark,
                format!(
                    "unknown key `{other}` in `server`{}",
                    keys::did_you_mean(other, keys::SERVER)
                ),
            ),
        }
    }
    server
}

fn parse_origins(node: &Node, file: &Path, diags: &mut Diagnostics) -> Vec<String> {
    if !node.is_seq() {
        diags.error(
            file,
            node.mark,
            "`server.cors_origins` must be a list of origins",
        );
        return Vec::new();
    }
    let mut origins = Vec::new();
    for item in node.items() {
        match item.as_str() {
            Some(origin) if is_origin(origin) => origins.push(origin.to_string()),
            Some(origin) => diags.error(
                file,
                item.mark,
                format!(
                    "`{origin}` is not an origin: write scheme://host[:port] with no path or \
                     trailing slash, e.g. https://pro.openbb.co"
                ),
            ),
            None => diags.error(file, item.mark, "each CORS origin must be a string"),
        }
    }
    origins
}

/// Whether `s` looks like a browser origin (`scheme://host[:port]`).
fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' ', '*'])
}
