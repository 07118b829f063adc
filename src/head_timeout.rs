//! The header timeout of a connection, kept with one timer per connection instead of one per
//! request.
//!
//! A connection must complete a request head within `header_timeout` of being opened and of
//! each answer, so that silent, trickling and idle clients cannot hold their slots. hyper can
//! enforce this itself, but then it makes, registers and drops a timer for every request
//! (about 1,300 of the ~26,000 instructions of a cheap answer). Here the service records when
//! a request begins and when its answer is ready (relaxed atomics and a clock read), and the
//! connection's one timer reads that record only when it fires: it closes an HTTP/1 connection
//! that has been idle for the whole timeout, and otherwise sleeps until the idle time could
//! reach it. So a connection is closed exactly when hyper's own timer would have closed it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use http::Version;
use tokio::time::Instant;

/// What one connection's requests have done, as the timer needs it.
#[derive(Debug)]
pub struct HeadTimeout {
    opened: Instant,
    limit: Duration,
    /// Requests whose head has arrived and whose answer is not ready yet.
    in_flight: AtomicU32,
    /// When the last answer was ready, in microseconds since `opened` (0: none yet).
    idle_since_us: AtomicU64,
    /// Set by an HTTP/2 request. Such a connection is left alone after its first request, as
    /// browsers keep one open and multiplex on it.
    multiplexed: AtomicBool,
}

/// What the timer should do when it fires.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// Idle (or still waiting for a complete head) for the whole timeout: close.
    Close,
    /// Look again at this time.
    Until(Instant),
    /// An HTTP/2 connection: no longer watched.
    Unwatched,
}

/// A request in flight; dropping it (when the answer is ready, or the request is abandoned)
/// starts the connection's idle time.
#[derive(Debug)]
pub struct Busy(Arc<HeadTimeout>);

impl HeadTimeout {
    /// A connection opened at `opened` (TLS handshake included in its first timeout).
    pub fn new(opened: Instant, limit: Duration) -> Self {
        HeadTimeout {
            opened,
            limit,
            in_flight: AtomicU32::new(0),
            idle_since_us: AtomicU64::new(0),
            multiplexed: AtomicBool::new(false),
        }
    }

    /// When the first request's head must have arrived.
    pub fn first_deadline(&self) -> Instant {
        self.opened + self.limit
    }

    /// Records that a request's head has arrived.
    pub fn begin(self: &Arc<Self>, version: Version) -> Busy {
        if version == Version::HTTP_2 {
            self.multiplexed.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Whether the connection was never asked anything (for the log line when it is closed).
    pub fn never_asked(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
            && self.idle_since_us.load(Ordering::Relaxed) == 0
    }

    /// What the timer should do at `now`.
    pub fn check(&self, now: Instant) -> Check {
        if self.multiplexed.load(Ordering::Relaxed) {
            return Check::Unwatched;
        }
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // The answer's own limit is `request_timeout`; idle time starts after it.
            return Check::Until(now + self.limit);
        }
        let idle_since =
            self.opened + Duration::from_micros(self.idle_since_us.load(Ordering::Relaxed));
        let deadline = idle_since + self.limit;
        if deadline <= now {
            Check::Close
        } else {
            Check::Until(deadline)
        }
    }

    fn finished_at(&self, at: Instant) {
        // At least 1 µs, so that "no answer yet" (0) stays distinct.
        let us = at.saturating_duration_since(self.opened).as_micros().max(1);
        self.idle_since_us
            .store(u64::try_from(us).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.finished_at(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn a_silent_connection_is_closed_at_its_first_deadline() {
        let opened = Instant::now();
        let t = HeadTimeout::new(opened, LIMIT);
        assert_eq!(t.first_deadline(), opened + LIMIT);
        assert_eq!(
            t.check(opened + Duration::from_secs(3)),
            Check::Until(opened + LIMIT)
        );
        assert_eq!(t.check(opened + LIMIT), Check::Close);
        assert!(t.never_asked());
    }

    #[test]
    fn idle_time_counts_from_the_last_answer() {
        let t = Arc::new(HeadTimeout::new(Instant::now(), LIMIT));
        let busy = t.begin(Version::HTTP_11);
        assert!(!t.never_asked());
        let now = Instant::now() + LIMIT;
        assert_eq!(
            t.check(now),
            Check::Until(now + LIMIT),
            "an answer in flight"
        );
        drop(busy);
        let answered = Instant::now();
        match t.check(answered) {
            Check::Until(at) => {
                assert!(at > answered && at <= answered + LIMIT, "{at:?}");
                assert_eq!(t.check(at), Check::Close);
                assert!(matches!(
                    t.check(at - Duration::from_millis(1)),
                    Check::Until(_)
                ));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http2_connections_are_left_alone_after_their_first_request() {
        let t = Arc::new(HeadTimeout::new(Instant::now(), LIMIT));
        drop(t.begin(Version::HTTP_2));
        assert_eq!(t.check(Instant::now() + 5 * LIMIT), Check::Unwatched);
    }
}
