//! Rate limits: per client key, and per client address for traffic without a valid key.
//!
//! The limiters live as long as the server, not a snapshot: they are keyed by the client's
//! name (or address) and by the rate, so a config reload keeps every client's budget unless its
//! rate changed. A snapshot's client finds its bucket on its first request and keeps it
//! ([`ClientBucket`]), so later requests take no lock and no lookup. Memory is bounded: there is
//! one client bucket per client name and rate the configs have had, one sweep task drops
//! address buckets that have refilled, and past [`MAX_TRACKED_ADDRESSES`] new addresses share
//! one bucket instead of growing the map.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, NotUntil, RateLimiter};

use crate::config::rate::Rate;

/// Client addresses tracked at most (each costs well under 100 bytes). Past it, requests from
/// addresses without a valid key share one bucket per rate until the next sweep frees space.
pub const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// How often the sweep drops refilled buckets.
pub const SWEEP_PERIOD: Duration = Duration::from_secs(60);

type Keyed<K> = DefaultKeyedRateLimiter<K>;

/// Limiters by rate. foldhash, not SipHash: the rates come from the config, and every request
/// looks one up.
type ByRate<V> = HashMap<Rate, Arc<V>, foldhash::fast::RandomState>;

/// Client buckets by client name and rate. foldhash: the names and rates come from the config.
type ByClient =
    HashMap<(Arc<str>, Rate), Arc<DefaultDirectRateLimiter>, foldhash::fast::RandomState>;

/// A snapshot's client's bucket, found in [`Limiters`] on the client's first request.
#[derive(Default)]
pub struct ClientBucket(OnceLock<Arc<DefaultDirectRateLimiter>>);

impl std::fmt::Debug for ClientBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientBucket")
    }
}

/// Every rate limiter of the server.
pub struct Limiters {
    clients: RwLock<ByClient>,
    addresses: RwLock<ByRate<Keyed<IpAddr>>>,
    overflow: RwLock<ByRate<DefaultDirectRateLimiter>>,
    max_addresses: usize,
    clock: DefaultClock,
}

/// A request over its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// Whole seconds until the next request is allowed, at least 1 (the `Retry-After` value).
    pub retry_after: u64,
}

impl Limiters {
    /// Limiters tracking at most `max_addresses` client addresses.
    pub fn new(max_addresses: usize) -> Self {
        Limiters {
            clients: RwLock::default(),
            addresses: RwLock::default(),
            overflow: RwLock::default(),
            max_addresses,
            clock: DefaultClock::default(),
        }
    }

    /// Charges one request to the client called `name` at `rate`, whose bucket `bucket` keeps
    /// once found (every snapshot's client with that name and rate finds the same one).
    pub fn check_client(
        &self,
        name: &Arc<str>,
        rate: Rate,
        bucket: &ClientBucket,
    ) -> Result<(), Exceeded> {
        let limiter = bucket.0.get_or_init(|| {
            if let Some(found) = read(&self.clients).get(&(name.clone(), rate)) {
                return found.clone();
            }
            self.clients
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry((name.clone(), rate))
                .or_insert_with(|| Arc::new(RateLimiter::direct(rate.quota())))
                .clone()
        });
        limiter.check().map_err(|e| self.exceeded(&e))
    }

    /// Charges one request to the client address `ip` (IPv6 by its /64 network, which one
    /// subscriber usually owns whole).
    pub fn check_address(&self, ip: IpAddr, rate: Rate) -> Result<(), Exceeded> {
        let limiter = get_or_insert(&self.addresses, rate, || RateLimiter::keyed(rate.quota()));
        if limiter.len() >= self.max_addresses {
            let shared = get_or_insert(&self.overflow, rate, || RateLimiter::direct(rate.quota()));
            return shared.check().map_err(|e| self.exceeded(&e));
        }
        limiter
            .check_key(&address_key(ip))
            .map_err(|e| self.exceeded(&e))
    }

    /// Drops address buckets that have refilled (those addresses are as if never seen) and
    /// limiters left empty. Client buckets are kept (one per client name and rate).
    pub fn sweep(&self) {
        sweep_map(&self.addresses);
    }

    /// Client addresses currently tracked.
    pub fn tracked_addresses(&self) -> usize {
        read(&self.addresses).values().map(|l| l.len()).sum()
    }

    /// Sweeps every [`SWEEP_PERIOD`], for ever; the server runs one of these.
    pub async fn sweep_every(self: Arc<Self>, period: Duration) {
        let mut tick = tokio::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.sweep();
        }
    }

    fn exceeded(&self, not_until: &NotUntil<<DefaultClock as Clock>::Instant>) -> Exceeded {
        let wait = not_until.wait_time_from(self.clock.now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Exceeded {
            retry_after: secs.max(1),
        }
    }
}

/// The bucket key of a client address.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn get_or_insert<V>(map: &RwLock<ByRate<V>>, rate: Rate, make: impl FnOnce() -> V) -> Arc<V> {
    if let Some(found) = read(map).get(&rate) {
        return found.clone();
    }
    map.write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(rate)
        .or_insert_with(|| Arc::new(make()))
        .clone()
}

fn sweep_map<K: Hash + Eq + Clone>(map: &RwLock<ByRate<Keyed<K>>>) {
    let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
    for limiter in map.values() {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
    map.retain(|_, limiter| !limiter.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn rate(text: &str) -> Rate {
        Rate::parse(text).expect("rate")
    }

    #[test]
    fn clients_have_their_own_buckets_and_retry_after() {
        let limiters = Limiters::new(10);
        let (alice, bob): (Arc<str>, Arc<str>) = (Arc::from("alice"), Arc::from("bob"));
        let (at_alice, at_bob) = (ClientBucket::default(), ClientBucket::default());
        let two = rate("2/m");
        assert_eq!(limiters.check_client(&alice, two, &at_alice), Ok(()));
        assert_eq!(limiters.check_client(&alice, two, &at_alice), Ok(()));
        let over = limiters
            .check_client(&alice, two, &at_alice)
            .expect_err("third is over");
        assert!((29..=30).contains(&over.retry_after), "{over:?}");
        assert_eq!(limiters.check_client(&bob, two, &at_bob), Ok(()));
        // A reloaded snapshot's client with the same name and rate has the same budget...
        let reloaded = ClientBucket::default();
        assert!(limiters.check_client(&alice, two, &reloaded).is_err());
        // ...and a changed rate is a fresh bucket.
        let changed = ClientBucket::default();
        assert_eq!(limiters.check_client(&alice, rate("3/m"), &changed), Ok(()));
    }

    #[test]
    fn addresses_are_capped_and_swept() {
        let limiters = Limiters::new(2);
        let slow = rate("1/h");
        for last in [1u8, 2] {
            assert_eq!(
                limiters.check_address([10, 0, 0, last].into(), slow),
                Ok(())
            );
        }
        assert_eq!(limiters.tracked_addresses(), 2);
        // Past the cap, new addresses share one bucket and the map does not grow.
        assert_eq!(limiters.check_address([10, 0, 0, 3].into(), slow), Ok(()));
        assert!(limiters.check_address([10, 0, 0, 4].into(), slow).is_err());
        assert_eq!(limiters.tracked_addresses(), 2);

        let fast = rate("1000/s");
        let limiters = Limiters::new(10);
        assert_eq!(limiters.check_address([10, 0, 0, 1].into(), fast), Ok(()));
        std::thread::sleep(Duration::from_millis(20));
        limiters.sweep();
        assert_eq!(limiters.tracked_addresses(), 0);
    }

    #[test]
    fn ipv6_counts_by_network() {
        let a: Ipv6Addr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: Ipv6Addr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(address_key(a.into()), address_key(b.into()));
        let mapped: Ipv6Addr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(address_key(mapped.into()), IpAddr::from([192, 0, 2, 7]));
    }
}
