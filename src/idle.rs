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
//! During the loop the thread neither polls its sockets nor counts as asleep (so no other thread
//! wakes it). So after each yield it asks the [`Arrivals`] set whether a client has sent
//! something that no thread has read yet (a request, a new connection, a hang-up) and, if so,
//! stops yielding and parks, which polls the sockets at once. An upstream answer is not in that
//! set: one that arrives during the loop waits for the loop to end, by at most the configured
//! time. Measured, that is less than the wake-up it saves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::arrivals::Arrivals;

/// How long a serving thread yields before it sleeps, unless `--idle-spin` says otherwise.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(20);

/// The longest `--idle-spin` accepted: beyond this the loop only burns CPU and delays work.
pub const MAX_SPIN: Duration = Duration::from_millis(1);

/// The hook a runtime calls before a worker thread parks: yield the CPU for `spin`, or until
/// something arrives on a socket in `arrivals`.
pub fn before_park(
    spin: Duration,
    arrivals: Option<Arc<Arrivals>>,
) -> impl Fn() + Send + Sync + 'static {
    move || {
        let started = Instant::now();
        while started.elapsed() < spin {
            std::thread::yield_now();
            if arrivals.as_ref().is_some_and(|a| a.any()) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hook_returns_after_the_spin() {
        let hook = before_park(Duration::from_micros(200), None);
        let started = Instant::now();
        hook();
        assert!(started.elapsed() >= Duration::from_micros(200));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_hook_returns_when_a_request_arrives() {
        use std::io::Write;
        use std::net::{TcpListener, TcpStream};

        let arrivals = Arc::new(Arrivals::new().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (served, _) = listener.accept().unwrap();
        arrivals.watch(&served);

        let spin = Duration::from_secs(3);
        let hook = before_park(spin, Some(arrivals.clone()));
        let quiet = before_park(Duration::from_millis(50), Some(arrivals));
        let started = Instant::now();
        quiet();
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "nothing arrived: full spin"
        );

        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
            client
        });
        let started = Instant::now();
        hook();
        let took = started.elapsed();
        drop(writer.join());
        assert!(
            took < spin / 2,
            "the spin ended {took:?} after it began, not at the request"
        );
    }
}
