//! State shared by every snapshot of one running gateway, outliving reloads.
//!
//! A reload builds a whole new [`crate::snapshot::Snapshot`] and drops the old one; anything that
//! must survive that (what reloads have happened, and in later features rate-limiter buckets,
//! upstream caches, the connection pool) lives here instead, keyed by stable names, and is handed
//! to every snapshot build.

use crate::reload::status::ReloadStatus;

/// Long-lived state, handed to [`crate::snapshot::load_with`] and reachable from every snapshot.
#[derive(Debug, Default)]
pub struct Shared {
    /// What hot reload is doing and last did, for `/healthz`.
    pub reload: ReloadStatus,
}
