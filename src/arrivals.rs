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
//! Tests: `tests/arrivals.rs` (the set on its own, and through the server).

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
