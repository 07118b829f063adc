//! The parts of providers that outlive a reload: HTTP clients (their connection pools), rate
//! limiters and concurrency slots, keyed by what configures them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::DefaultDirectRateLimiter;
use tokio::sync::Semaphore;

use crate::config::provider::ProviderDef;
use crate::config::rate::Rate;
use crate::upstream::provider::{Kept, Provider};

/// Most redirects followed within one origin.
const MAX_REDIRECTS: usize = 5;
/// Idle pooled connections kept per upstream host.
const POOL_IDLE_PER_HOST: usize = 32;

/// Long-lived provider parts.
#[derive(Default)]
pub struct Registry {
    clients: Mutex<HashMap<Duration, reqwest::Client>>,
    limiters: Mutex<HashMap<(String, Rate), Arc<DefaultDirectRateLimiter>>>,
    slots: Mutex<HashMap<(String, usize), Arc<Semaphore>>>,
}

impl Registry {
    /// A provider for `def`, reusing the client, limiter and slots of an earlier load when the
    /// settings behind them did not change.
    pub fn provider(&self, def: &ProviderDef) -> Result<Provider, String> {
        let client = {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            match clients.get(&def.connect_timeout) {
                Some(c) => c.clone(),
                None => {
                    let c = build_client(def.connect_timeout)?;
                    clients.insert(def.connect_timeout, c.clone());
                    c
                }
            }
        };
        let limiter = match def.rate_limit {
            None => None,
            Some(rate) => {
                let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
                match limiters.get(&(def.name.clone(), rate)) {
                    Some(l) => Some(l.clone()),
                    None => {
                        let l = Arc::new(DefaultDirectRateLimiter::direct(rate.quota()));
                        limiters.insert((def.name.clone(), rate), l.clone());
                        Some(l)
                    }
                }
            }
        };
        let slots = def.max_concurrency.map(|n| {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry((def.name.clone(), n))
                .or_insert_with(|| Arc::new(Semaphore::new(n)))
                .clone()
        });
        Ok(Provider::new(
            def,
            Kept {
                client,
                limiter,
                slots,
            },
        ))
    }
}

/// A client that follows redirects only within one origin (a provider key in a header or the
/// query must never reach another host), ignores proxy environment variables, and pools.
fn build_client(connect_timeout: Duration) -> Result<reqwest::Client, String> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(policy)
        .no_proxy()
        .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
        .user_agent(concat!("widgetgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
