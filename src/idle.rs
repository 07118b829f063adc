//! What a serving thread does when it runs out of work: it yields the CPU for a short while
//! before it goes to sleep.
//!
//! A thread asleep in `epoll_wait` or on a futex has to be woken by the kernel when the next
//! request arrives: an interrupt to its CPU and, on a virtual machine, a halted vCPU to resume,
//! which costs tens of microseconds each time. With the client on the same CPUs (a sidecar, a
//! busy node, the benchmark's load generator) this happens many times per millisecond and leaves
//! the CPUs idle in between. Before sleeping, a thread therefore calls `sched_yield` in a loop
//! for the configured time (`--idle-spin`, [`DEFAULT_SPIN`] unless set): a process that wants
//! the CPU gets it at once, and if none does the call returns at once. An idle gateway pays the
//! loop once per sleep, not continuously.
//!
//! The price is latency: during the loop the thread neither polls the sockets nor counts as
//! asleep (so no other thread wakes it), so a request or an upstream answer that arrives
//! meanwhile waits for the loop to end, by at most the configured time. Measured, that is less
//! than the wake-up it saves.

use std::time::{Duration, Instant};

/// How long a serving thread yields before it sleeps, unless `--idle-spin` says otherwise.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(20);

/// The longest `--idle-spin` accepted: beyond this the loop only burns CPU and delays work.
pub const MAX_SPIN: Duration = Duration::from_millis(1);

/// The hook a runtime calls before a worker thread parks: yield the CPU for `spin`.
pub fn before_park(spin: Duration) -> impl Fn() + Send + Sync + 'static {
    move || {
        let started = Instant::now();
        while started.elapsed() < spin {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_returns_after_the_spin() {
        let hook = before_park(Duration::from_micros(200));
        let started = Instant::now();
        hook();
        assert!(started.elapsed() >= Duration::from_micros(200));
    }
}
