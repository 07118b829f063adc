//! The top-level `cache:` section: how much memory cached upstream answers may use, and how
//! long a stale answer may stand in for a failing upstream.

use std::path::Path;
use std::time::Duration;

use crate::config::{keys, units};
use crate::diag::Diagnostics;
use crate::yaml::Node;

/// Memory for cached answers when `cache.max_size` is not set (64 MiB).
pub const DEFAULT_MAX_SIZE: u64 = 64 << 20;
/// How long past its lifetime an answer may be served when the upstream fails.
pub const DEFAULT_STALE_IF_ERROR: Duration = Duration::from_secs(600);

const CACHE_KEYS: &[&str] = &["max_size", "stale_if_error"];

/// Settings of `cache:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Bytes of answers kept at most.
    pub max_size: u64,
    /// Stale-if-error window.
    pub stale_if_error: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            max_size: DEFAULT_MAX_SIZE,
            stale_if_error: DEFAULT_STALE_IF_ERROR,
        }
    }
}

/// Reads `cache:`.
pub fn parse(node: &Node, file: &Path, diags: &mut Diagnostics) -> CacheSettings {
    let mut out = CacheSettings::default();
    if !node.is_map() {
        diags.error(
            file,
            node.mark,
            "`cache` must be a mapping with `max_size` and/or `stale_if_error`",
        );
        return out;
    }
    for (k, v) in node.entries() {
        let text = v.as_str().unwrap_or_default();
        match k.name.as_str() {
            "max_size" => match units::size(text) {
                Ok(s) => out.max_size = s,
                Err(e) => diags.error(file, v.mark, format!("`cache.max_size`: {e}")),
            },
            "stale_if_error" => match units::duration(text) {
                Ok(d) => out.stale_if_error = d,
                Err(e) => diags.error(file, v.mark, format!("`cache.stale_if_error`: {e}")),
            },
            other => diags.error(
                file,
                k.mark,
                format!(
                    "unknown key `cache.{other}`{}",
                    keys::did_you_mean(other, CACHE_KEYS)
                ),
            ),
        }
    }
    out
}
