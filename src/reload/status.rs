//! What hot reload is doing and last did: the reload half of `/healthz`.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// How config changes are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Not watched; only SIGHUP reloads.
    #[default]
    Off,
    /// The operating system's file events (inotify, FSEvents, …).
    Native,
    /// Periodic scans comparing file contents.
    Poll,
}

impl Backend {
    /// The name `/healthz` and the log use.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Off => "off",
            Backend::Native => "native",
            Backend::Poll => "poll",
        }
    }
}

/// What started a reload attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The watcher saw one of the config's files change.
    Watch,
    /// An explicit request (SIGHUP): rebuilds even when nothing changed.
    Signal,
}

impl Cause {
    /// The name `/healthz` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Watch => "watch",
            Cause::Signal => "sighup",
        }
    }
}

/// How a reload attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new snapshot is serving.
    Reloaded,
    /// The files hold what is already served; nothing was swapped.
    Unchanged,
    /// The new config has errors; the previous snapshot keeps serving.
    Failed,
}

impl Outcome {
    /// The name `/healthz` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Reloaded => "ok",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "error",
        }
    }
}

/// One reload attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// When it finished.
    pub at: SystemTime,
    /// What started it.
    pub cause: Cause,
    /// How it ended.
    pub outcome: Outcome,
    /// How long reading, validating and building took.
    pub took: Duration,
    /// Every error, as `file:line:col: error: message` (empty unless it failed).
    pub errors: Vec<String>,
}

/// A copy of the reload state at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// How changes are noticed.
    pub backend: Backend,
    /// Snapshots swapped in since start.
    pub reloads: u64,
    /// Attempts that failed since start.
    pub failures: u64,
    /// Times the files were re-read, including saves that changed nothing.
    pub checks: u64,
    /// The latest attempt that was not skipped.
    pub last: Option<Attempt>,
    /// Settings of the serving config that only a restart applies, described.
    pub restart_required: Vec<String>,
}

/// The reload state, shared between the reload thread and `/healthz`.
#[derive(Debug, Default)]
pub struct ReloadStatus {
    report: Mutex<Report>,
}

impl ReloadStatus {
    /// Records which backend is watching.
    pub fn set_backend(&self, backend: Backend) {
        self.lock().backend = backend;
    }

    /// Counts one re-read of the files.
    pub fn checked(&self) {
        self.lock().checks += 1;
    }

    /// Records an attempt and counts it.
    pub fn record(&self, attempt: Attempt) {
        let mut report = self.lock();
        match attempt.outcome {
            Outcome::Reloaded => report.reloads += 1,
            Outcome::Failed => report.failures += 1,
            Outcome::Unchanged => {}
        }
        report.last = Some(attempt);
    }

    /// Records what of the serving config waits for a restart.
    pub fn set_restart_required(&self, items: Vec<String>) {
        self.lock().restart_required = items;
    }

    /// The current state.
    pub fn report(&self) -> Report {
        self.lock().clone()
    }

    /// A poisoned lock only means a panic elsewhere while recording; the data is still whole.
    fn lock(&self) -> MutexGuard<'_, Report> {
        self.report.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(outcome: Outcome) -> Attempt {
        Attempt {
            at: SystemTime::now(),
            cause: Cause::Watch,
            outcome,
            took: Duration::from_millis(1),
            errors: Vec::new(),
        }
    }

    #[test]
    fn counts_reloads_and_failures_and_keeps_the_last_attempt() {
        let status = ReloadStatus::default();
        status.set_backend(Backend::Poll);
        status.record(attempt(Outcome::Reloaded));
        status.record(attempt(Outcome::Failed));
        status.record(attempt(Outcome::Unchanged));
        let report = status.report();
        assert_eq!(report.backend, Backend::Poll);
        assert_eq!((report.reloads, report.failures), (1, 1));
        assert_eq!(report.last.map(|a| a.outcome), Some(Outcome::Unchanged));
    }
}
