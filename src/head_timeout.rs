//! The header timeout of a connection, kept with one timer per connection instead of one per
//! request.
//!
//! A connection must complete a request head within `header_timeout` of being opened and of
//! each answer having been sent, so that silent, trickling and idle clients cannot hold their
//! slots. hyper can enforce this itself, but then it makes, registers and drops a timer for
//! every request (about 1,100 of the ~25,000 instructions of a cheap answer). Here the service
//! records when a request begins and when its answer is ready (relaxed atomics and a clock
//! read), [`Watched`] records when a write that had to wait for the client went through, and
//! the connection's one timer reads that record only when it fires: it closes an HTTP/1
//! connection that has had no request in flight and no write progress for the whole timeout,
//! and otherwise sleeps until that could be the case. So an idle connection is closed when
//! hyper's own timer would have closed it, a large answer to a slow reader is sent whole (the
//! kernel reports a socket writable again once about a third of its send buffer has drained,
//! so the reader must take that much per timeout), and a client that stops reading an answer
//! altogether is closed after the timeout too (hyper kept such a connection open for ever).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Version;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// What one connection's requests have done, as the timer needs it.
#[derive(Debug)]
pub struct HeadTimeout {
    opened: Instant,
    limit: Duration,
    /// Requests whose head has arrived and whose answer is not ready yet.
    in_flight: AtomicU32,
    /// When the last answer was ready or the last waiting write went through, in
    /// microseconds since `opened` (0: neither yet).
    idle_since_us: AtomicU64,
    /// Set by an HTTP/2 request. Such a connection is left alone after its first request, as
    /// browsers keep one open and multiplex on it.
    multiplexed: AtomicBool,
}

/// What the timer should do when it fires.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// Idle (still waiting for a complete head, or for the client to read) for the whole
    /// timeout: close.
    Close,
    /// Look again at this time.
    Until(Instant),
    /// An HTTP/2 connection: no longer watched.
    Unwatched,
}

/// A request in flight; dropping it (when the answer is ready, or the request is abandoned)
/// starts the connection's idle time, which waiting writes of the answer then push back.
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

    /// Records activity at `at`: an answer ready, or a write that had waited going through.
    fn active_at(&self, at: Instant) {
        // At least 1 µs, so that "nothing yet" (0) stays distinct.
        let us = at.saturating_duration_since(self.opened).as_micros().max(1);
        self.idle_since_us
            .store(u64::try_from(us).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.active_at(Instant::now());
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection's I/O that tells its [`HeadTimeout`] when a write that had to wait for the
/// client (its buffers full) goes through, so that sending a large answer to a slow reader
/// counts as activity. Writes that go through at once cost a flag test.
pub struct Watched<I> {
    io: I,
    heads: Arc<HeadTimeout>,
    waiting: bool,
}

impl<I> Watched<I> {
    /// Wraps `io`, reporting to `heads`.
    pub fn new(io: I, heads: Arc<HeadTimeout>) -> Self {
        Watched {
            io,
            heads,
            waiting: false,
        }
    }

    fn note<T>(&mut self, result: Poll<T>) -> Poll<T> {
        if result.is_pending() {
            self.waiting = true;
        } else if self.waiting {
            self.waiting = false;
            // Before any request (HTTP/2's own frames), writes do not push the first deadline.
            if !self.heads.never_asked() {
                self.heads.active_at(Instant::now());
            }
        }
        result
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Reads are not activity: a client trickling its head must still be cut off.
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.note(result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.note(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_flush(cx);
        self.note(result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
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
        // Opened a while ago: an answer within a microsecond of the opening would be recorded
        // as 1 µs after it.
        let opened = Instant::now() - Duration::from_secs(1);
        let t = Arc::new(HeadTimeout::new(opened, LIMIT));
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

    /// A write side that answers each poll with the next of `script` (then Ready).
    struct Scripted(Vec<Poll<usize>>);

    impl AsyncRead for Scripted {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Scripted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.0.is_empty() {
                return Poll::Ready(Ok(buf.len()));
            }
            self.0.remove(0).map(Ok)
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn idle_since(t: &HeadTimeout) -> u64 {
        t.idle_since_us.load(Ordering::Relaxed)
    }

    #[test]
    fn only_a_write_that_waited_counts_as_activity() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let t = Arc::new(HeadTimeout::new(
            Instant::now() - Duration::from_secs(1),
            LIMIT,
        ));
        // Before any request, nothing counts.
        let mut io = Watched::new(Scripted(vec![Poll::Pending, Poll::Ready(3)]), t.clone());
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"abc").is_pending());
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"abc").is_ready());
        assert_eq!(idle_since(&t), 0);
        drop(t.begin(Version::HTTP_11));
        let answered = idle_since(&t);
        assert!(answered > 0);
        // A write that goes through at once records nothing.
        std::thread::sleep(Duration::from_millis(2));
        let mut io = Watched::new(Scripted(vec![Poll::Ready(3)]), t.clone());
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"abc").is_ready());
        assert_eq!(idle_since(&t), answered);
        // One that waited does, when it goes through.
        io.io.0 = vec![Poll::Pending, Poll::Pending, Poll::Ready(3)];
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"abc").is_pending());
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"abc").is_pending());
        assert_eq!(idle_since(&t), answered);
        assert!(Pin::new(&mut io).poll_write(&mut cx, b"abc").is_ready());
        assert!(idle_since(&t) > answered);
    }

    #[test]
    fn http2_connections_are_left_alone_after_their_first_request() {
        let t = Arc::new(HeadTimeout::new(Instant::now(), LIMIT));
        drop(t.begin(Version::HTTP_2));
        assert_eq!(t.check(Instant::now() + 5 * LIMIT), Check::Unwatched);
    }
}
