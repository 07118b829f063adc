//! Cached upstream answers: bounded memory, coalesced misses, stale-if-error.
//!
//! Entries live for their lifetime plus the stale-if-error window; within the lifetime they are
//! hits, after it they only stand in when a fresh call fails. Concurrent identical misses wait
//! for one call ([`Flights`]). A fresh hit also leaves a copy of the answer with the serving
//! thread, which answers that thread's next requests for the key while it stays fresh
//! ([`front_cache`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::Expiry;
use tokio::sync::OnceCell;

use crate::error::ApiError;
use crate::front_cache;
use crate::metrics;
use crate::source::Reply;

/// One cached answer.
#[derive(Debug)]
pub struct Entry {
    /// The shaped answer.
    pub reply: Reply,
    /// Until when it is a hit.
    pub fresh_until: Instant,
    /// Until when it may stand in for a failing upstream.
    pub stale_until: Instant,
    /// Set when the shared cache drops or replaces it: a serving thread's copy of it
    /// ([`front_cache`]) then answers no more.
    pub retired: AtomicBool,
}

/// How an answer was obtained, for the `X-Cache` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Served from the cache.
    Hit,
    /// Fetched now.
    Miss,
    /// The upstream failed; an expired answer stood in.
    Stale,
}

impl CacheStatus {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Stale => "stale",
        }
    }
}

struct EntryExpiry;

impl Expiry<String, Arc<Entry>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Entry>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.stale_until.saturating_duration_since(created_at))
    }
}

/// The answer cache shared by every snapshot (it outlives reloads; keys carry a hash of the
/// widget's definition, so a changed widget never sees its old answers).
pub struct AnswerCache {
    /// moka's synchronous cache: a lookup waits on no I/O. Its upkeep (expiry, eviction) runs
    /// on the calling thread when no other thread holds it, and a burst of misses that fills
    /// its write queue makes an insert pause in 50 µs steps; both are short next to the
    /// upstream call a miss has just made.
    store: moka::sync::Cache<String, Arc<Entry>>,
    flights: Flights,
    stale_window: Duration,
    /// Unique in the process: the serving threads' copies of its answers carry it
    /// ([`front_cache`]), so a new cache (after its settings changed) serves none of them.
    id: u64,
}

/// The next [`AnswerCache::id`].
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl AnswerCache {
    /// A cache holding at most `max_bytes` of answers, serving stale answers for `stale_window`.
    pub fn new(max_bytes: u64, stale_window: Duration) -> Self {
        let store = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &String, v: &Arc<Entry>| {
                u32::try_from(k.len() + v.reply.body.len() + 64).unwrap_or(u32::MAX)
            })
            .expire_after(EntryExpiry)
            // Called as an entry is replaced (within the insert) or evicted (when moka's upkeep
            // evicts it, until which moka itself still answers with it).
            .eviction_listener(|_key, entry: Arc<Entry>, _cause| {
                entry.retired.store(true, Ordering::Release)
            })
            .build();
        AnswerCache {
            store,
            flights: Flights::default(),
            stale_window,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The answer for `key`: cached when fresh, else from the future `fetch` makes (coalesced
    /// with identical concurrent calls) and cached for `ttl`; when it fails, a stale answer if
    /// one is kept. `fetch` is called only on a miss.
    pub async fn get_or_fetch<F>(
        &self,
        key: &str,
        ttl: Duration,
        fetch: impl FnOnce() -> F,
    ) -> Result<(Reply, CacheStatus), ApiError>
    where
        F: Future<Output = Result<Reply, ApiError>>,
    {
        let now = Instant::now();
        if let Some(reply) = front_cache::get(self.id, key, now) {
            metrics::cache(CacheStatus::Hit.as_str());
            return Ok((reply, CacheStatus::Hit));
        }
        let cached = self.store.get(key);
        if let Some(e) = &cached
            && e.fresh_until > now
        {
            metrics::cache(CacheStatus::Hit.as_str());
            front_cache::put(self.id, key, e);
            return Ok((e.reply.clone(), CacheStatus::Hit));
        }
        // Boxed, so that only a miss pays for the call's future: it is kilobytes (request,
        // retries, body), and unboxed it would be part of every request's future, hits included.
        let result = Box::pin(self.flights.run(key, async {
            let reply = fetch().await?;
            let now = Instant::now();
            let entry = Arc::new(Entry {
                reply,
                fresh_until: now + ttl,
                stale_until: now + ttl + self.stale_window,
                retired: AtomicBool::new(false),
            });
            self.store.insert(key.to_string(), entry.clone());
            Ok(entry)
        }))
        .await;
        match (result, cached) {
            (Ok(entry), _) => {
                metrics::cache(CacheStatus::Miss.as_str());
                // This thread's next requests answer with the new entry, not an older copy.
                front_cache::put(self.id, key, &entry);
                Ok((entry.reply.clone(), CacheStatus::Miss))
            }
            (Err(e), Some(stale)) if stale.stale_until > Instant::now() => {
                metrics::cache(CacheStatus::Stale.as_str());
                tracing::warn!(detail = %e.detail, "upstream failed; serving a stale answer");
                Ok((stale.reply.clone(), CacheStatus::Stale))
            }
            (Err(e), _) => Err(e),
        }
    }

    /// Runs the future `fetch` makes once for concurrent identical calls, without keeping the
    /// answer.
    pub async fn coalesce<F>(&self, key: &str, fetch: impl FnOnce() -> F) -> Result<Reply, ApiError>
    where
        F: Future<Output = Result<Reply, ApiError>>,
    {
        // Boxed for the reason given in `get_or_fetch`.
        let entry = Box::pin(self.flights.run(key, async {
            let now = Instant::now();
            Ok(Arc::new(Entry {
                reply: fetch().await?,
                fresh_until: now,
                stale_until: now,
                retired: AtomicBool::new(false),
            }))
        }))
        .await?;
        Ok(entry.reply.clone())
    }

    /// Bytes of answers currently held (approximate).
    pub fn weighted_size(&self) -> u64 {
        self.store.weighted_size()
    }
}

type Flight = Arc<OnceCell<Result<Arc<Entry>, ApiError>>>;

/// Single-flight: concurrent calls with the same key share one execution.
#[derive(Default)]
pub struct Flights {
    inflight: Mutex<HashMap<String, Flight>>,
}

impl Flights {
    /// Runs `work` unless an identical call is in flight, in which case waits for its result.
    pub async fn run<F>(&self, key: &str, work: F) -> Result<Arc<Entry>, ApiError>
    where
        F: Future<Output = Result<Arc<Entry>, ApiError>>,
    {
        let cell = {
            let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.to_string()).or_default().clone()
        };
        let result = cell.get_or_init(|| work).await.clone();
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            map.remove(key);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn answer(text: &'static str) -> Result<Reply, ApiError> {
        Ok(Reply {
            body: Bytes::from_static(text.as_bytes()),
            content_type: "application/json",
        })
    }

    /// The third request is answered by this thread's copy (`front_cache`); a cache made after
    /// (as a reload that changes the cache's settings makes one) must not answer with it.
    #[tokio::test]
    async fn a_new_cache_serves_nothing_an_earlier_one_held() {
        let ttl = Duration::from_secs(60);
        let old = AnswerCache::new(1 << 20, Duration::ZERO);
        for expected in [CacheStatus::Miss, CacheStatus::Hit, CacheStatus::Hit] {
            let (reply, status) = old
                .get_or_fetch("k", ttl, || async { answer("[1]") })
                .await
                .expect("answer");
            assert_eq!((reply.body.as_ref(), status), (b"[1]".as_ref(), expected));
        }
        let new = AnswerCache::new(1 << 20, Duration::ZERO);
        let (reply, status) = new
            .get_or_fetch("k", ttl, || async { answer("[2]") })
            .await
            .expect("answer");
        assert_eq!(
            (reply.body.as_ref(), status),
            (b"[2]".as_ref(), CacheStatus::Miss)
        );
    }

    /// An entry the shared cache replaces (or evicts) is no longer answered from a thread's copy.
    #[tokio::test]
    async fn a_replaced_entry_is_not_answered_from_a_copy() {
        let ttl = Duration::from_secs(60);
        let cache = AnswerCache::new(1 << 20, Duration::ZERO);
        for _ in 0..3 {
            cache
                .get_or_fetch("k", ttl, || async { answer("[1]") })
                .await
                .expect("answer");
        }
        let now = Instant::now();
        let newer = Arc::new(Entry {
            reply: answer("[2]").expect("reply"),
            fresh_until: now + ttl,
            stale_until: now + ttl,
            retired: AtomicBool::new(false),
        });
        cache.store.insert("k".to_string(), newer);
        let (reply, status) = cache
            .get_or_fetch("k", ttl, || async { answer("[3]") })
            .await
            .expect("answer");
        assert_eq!(
            (reply.body.as_ref(), status),
            (b"[2]".as_ref(), CacheStatus::Hit)
        );
    }
}
