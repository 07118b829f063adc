//! State that outlives a config reload: provider clients and limiters, and the answer cache.

use std::sync::{Arc, Mutex};

use crate::cache::AnswerCache;
use crate::config::CacheSettings;
use crate::upstream::registry::Registry;

/// Long-lived state handed to every snapshot build.
#[derive(Default)]
pub struct Shared {
    /// Provider clients, rate limiters and concurrency slots.
    pub providers: Registry,
    cache: Mutex<Option<(CacheSettings, Arc<AnswerCache>)>>,
}

impl Shared {
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
