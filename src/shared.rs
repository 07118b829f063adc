//! State shared by every snapshot of one running gateway, outliving reloads.
//!
//! A reload builds a whole new [`crate::snapshot::Snapshot`] and drops the old one; anything that
//! must survive that lives here instead, keyed by stable names, and is handed to every snapshot
//! build: where `${VAR}`s come from, what reloads have happened, provider clients (their
//! connection pools), provider rate limiters and concurrency slots, and the answer cache.

use std::sync::{Arc, Mutex};

use crate::cache::AnswerCache;
use crate::config::{CacheSettings, Env};
use crate::reload::status::ReloadStatus;
use crate::upstream::registry::Registry;

/// Long-lived state, handed to [`crate::snapshot::load_with`] and reachable from every snapshot.
#[derive(Default)]
pub struct Shared {
    /// Where `${VAR}` references are resolved from.
    pub env: Env,
    /// What hot reload is doing and last did, for `/healthz`.
    pub reload: ReloadStatus,
    /// Provider clients, rate limiters and concurrency slots.
    pub providers: Registry,
    cache: Mutex<Option<(CacheSettings, Arc<AnswerCache>)>>,
}

impl Shared {
    /// Shared state resolving `${VAR}`s from `env`.
    pub fn with_env(env: Env) -> Self {
        Shared {
            env,
            ..Shared::default()
        }
    }

    /// The answer cache for `settings`: the existing one when they did not change, else a new
    /// (empty) one.
    pub fn cache(&self, settings: CacheSettings) -> Arc<AnswerCache> {
        let mut slot = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some((s, c)) if *s == settings => c.clone(),
            _ => {
                let c = Arc::new(AnswerCache::new(settings.max_size, settings.stale_if_error));
                *slot = Some((settings, c.clone()));
                c
            }
        }
    }
}
