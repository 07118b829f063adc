//! Which client sockets have had something arrive: lets a serving thread that yields before it
//! sleeps (`idle.rs`) stop yielding as soon as there is work.
//!
//! tokio's epoll set belongs to its I/O driver, which a thread only polls once it parks. So the
//! listener and every accepted connection are also added to a second, edge-triggered set: an
//! arrival (request bytes, a new connection, a hang-up) queues an event there (at most one per
//! socket until it is taken), and [`Arrivals::any`] takes the queued events without blocking.
//! The kernel reports a socket only if what arrived is still unread when the events are taken,
//! so work that another thread has already picked up does not end a spin. Upstream connections
//! are not in the set (the HTTP client owns them): an upstream answer is picked up when the
//! spin ends.
//!
//! The kernel drops a socket from the set when its last file descriptor is closed. Nothing in
//! the gateway duplicates a served socket's descriptor, and it must stay so: a duplicate would
//! keep a closed connection in the set.
//!
//! On systems without epoll the set is never created and the spin runs its full length.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::{AsFd, OwnedFd};
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(target_os = "linux")]
use rustix::event::{Timespec, epoll};

/// Events taken per check: enough that a burst is consumed by one check rather than ending the
/// next thread's spin too.
#[cfg(target_os = "linux")]
const EVENTS_PER_CHECK: usize = 32;

/// An edge-triggered epoll set of the sockets a gateway serves.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub struct Arrivals {
    epoll: OwnedFd,
    /// Whether a socket could not be added (so that is logged once).
    refused: AtomicBool,
}

/// Without epoll there is no set: [`Arrivals::new`] fails, so no value of this type exists.
#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
pub enum Arrivals {}

#[cfg(target_os = "linux")]
impl Arrivals {
    /// An empty set.
    pub fn new() -> io::Result<Self> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        Ok(Self {
            epoll,
            refused: AtomicBool::new(false),
        })
    }

    /// Adds `socket` to the set until it is closed. A socket that cannot be added is left
    /// out (logged once per set): a spin then runs its full length when only that socket has
    /// work.
    pub fn watch(&self, socket: impl AsFd) {
        // The event's data is never read: only whether there was one matters.
        let flags = epoll::EventFlags::IN | epoll::EventFlags::RDHUP | epoll::EventFlags::ET;
        if let Err(e) = epoll::add(&self.epoll, socket, epoll::EventData::new_u64(0), flags)
            && !self.refused.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "a connection could not be added to the idle spin's epoll set ({e}; at the \
                 limit fs.epoll.max_user_watches?): spins will not end early for such \
                 connections"
            );
        }
    }

    /// Whether something arrived on a watched socket since the last call and is still
    /// unread; never blocks. An error (an interrupted call) counts as nothing: the spin goes
    /// on, and the runtime's own poll sees the work when the spin ends.
    pub fn any(&self) -> bool {
        let mut events = [std::mem::MaybeUninit::<epoll::Event>::uninit(); EVENTS_PER_CHECK];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(epoll::wait(&self.epoll, &mut events[..], Some(&now)), Ok((got, _)) if !got.is_empty())
    }
}

#[cfg(not(target_os = "linux"))]
impl Arrivals {
    /// Not available without epoll.
    pub fn new() -> io::Result<Self> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Unreachable: no set exists.
    pub fn watch<S>(&self, _socket: S) {
        match *self {}
    }

    /// Unreachable: no set exists.
    pub fn any(&self) -> bool {
        match *self {}
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    use super::*;

    /// Polls `arrivals` for up to 5 s: loopback delivery is normally done when `write`
    /// returns, but the kernel may defer it.
    fn arrives(arrivals: &Arrivals) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if arrivals.any() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn reports_each_arrival_once() {
        let arrivals = Arrivals::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        arrivals.watch(&listener);
        assert!(!arrivals.any(), "nothing has arrived yet");

        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(arrives(&arrivals), "a new connection is an arrival");
        let (served, _) = listener.accept().unwrap();
        arrivals.watch(&served);
        assert!(!arrivals.any(), "the connection was reported once");

        client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        assert!(arrives(&arrivals), "request bytes are an arrival");
        assert!(!arrivals.any(), "unread bytes are not reported again");

        client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        assert!(arrives(&arrivals), "more bytes are a new arrival");

        drop(client);
        assert!(arrives(&arrivals), "a hang-up is an arrival");
    }

    #[test]
    fn a_closed_socket_leaves_the_set() {
        let arrivals = Arrivals::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (served, _) = listener.accept().unwrap();
        arrivals.watch(&served);
        client.write_all(b"x").unwrap();
        assert!(arrives(&arrivals), "the socket is in the set");
        drop(served);
        // The client may still write (the peer's RST comes later); nothing is reported.
        let _ = client.write_all(b"x");
        std::thread::sleep(Duration::from_millis(20));
        assert!(!arrivals.any());
    }
}
