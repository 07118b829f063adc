//! `server.tls:`: the certificate and private key to serve HTTPS with.

use std::path::{Path, PathBuf};

use crate::config::keys;
use crate::diag::Diagnostics;
use crate::yaml::{Mark, Node};

/// The PEM files of `server.tls`, resolved against the config file's folder.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
    /// Where `tls:` is written.
    pub mark: Mark,
}

/// Reads `server.tls: {cert, key}`.
pub fn parse(node: &Node, file: &Path, diags: &mut Diagnostics) -> Option<TlsFiles> {
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            "`server.tls` must be a mapping: {cert: cert.pem, key: key.pem}",
        );
        return None;
    }
    for (key, _) in node.entries() {
        if !keys::TLS.contains(&key.name.as_str()) {
            diags.error(
                file,
                key.mark,
                format!(
                    "unknown key `{}` in `server.tls`{}",
                    key.name,
                    keys::did_you_mean(&key.name, keys::TLS)
                ),
            );
        }
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let mut path = |name: &str| match node.get(name).map(|n| (n, n.as_str())) {
        Some((_, Some(p))) if !p.is_empty() => Some(base.join(p)),
        Some((n, _)) => {
            diags.error(
                file,
                n.mark,
                format!("`server.tls.{name}` must be the path of a PEM file"),
            );
            None
        }
        None => {
            diags.error(
                file,
                node.mark,
                format!("`server.tls` needs `{name}`, the path of a PEM file (`widgetgate cert` writes one)"),
            );
            None
        }
    };
    let cert = path("cert");
    let key = path("key");
    Some(TlsFiles {
        cert: cert?,
        key: key?,
        mark: node.mark,
    })
}
