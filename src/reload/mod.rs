//! Hot reload: edits to gateway.yaml and the files it references go live without a restart, and
//! a bad edit never takes the service down.
//!
//! A watcher ([`watch`], reads filtered out by [`changes`]) reports changes in the config's
//! folders; [`relevance`] drops editors' helper files and, while a config fails, also waits for
//! the files it names ([`awaited`]); a dedicated thread runs the [`reloader::Reloader`], which
//! re-reads and validates everything, builds a complete new snapshot and swaps it into the
//! store. Requests already running keep the snapshot they started with. An invalid config keeps
//! the old snapshot serving and is reported in the log and at `/healthz` ([`status`]). SIGHUP
//! ([`hangup`]) asks for the same reload.

pub mod awaited;
pub mod changes;
pub mod hangup;
pub mod relevance;
pub mod reloader;
pub mod status;
pub mod watch;

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::shared::Shared;
use crate::snapshot::Store;
use relevance::Relevance;
use reloader::Reloader;
use status::{Backend, Cause};
use watch::{Notice, Timing, WatchError, WatchMode, Watcher};

pub use hangup::on_hangup;

/// Quiet time before a change is reloaded. Editors save in a few writes and renames within a
/// millisecond or two; 100 ms of quiet is fifty times that, and leaves room for building a large
/// config within the 300 ms save-to-served target (measured by bench/reload).
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);

/// How often the poll backend scans. With the debounce, an edit is live within about 0.6 s.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// How hot reload runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How changes are noticed.
    pub watch: WatchMode,
    /// Debounce and poll interval.
    pub timing: Timing,
    /// The listen address came from `--listen`, so `server.listen` edits never apply.
    pub listen_pinned: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            watch: WatchMode::Auto,
            timing: Timing {
                debounce: DEFAULT_DEBOUNCE,
                poll_interval: DEFAULT_POLL_INTERVAL,
            },
            listen_pinned: false,
        }
    }
}

/// Hot reload could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The requested watch backend does not work here.
    #[error(transparent)]
    Watch(#[from] WatchError),
    /// The reload thread could not be spawned.
    #[error("cannot start the reload thread: {0}")]
    Thread(#[from] std::io::Error),
}

enum Message {
    Notice(Notice),
    Reload,
    Stop,
    /// Not sent: the thread's own timer for a second look.
    Recheck,
}

/// Asks the reload thread for a reload; cheap to clone.
#[derive(Clone)]
pub struct Trigger(Sender<Message>);

impl Trigger {
    /// Re-reads the config now, rebuilding even when nothing changed (what SIGHUP does). The
    /// reload runs on the reload thread; this returns at once.
    pub fn reload(&self) {
        let _ = self.0.send(Message::Reload);
    }
}

/// The running hot reload of one config; dropping it stops watching.
pub struct HotReload {
    trigger: Trigger,
    thread: Option<JoinHandle<()>>,
}

impl HotReload {
    /// Watches `path` (whose snapshot `store` serves) and reloads it into `store` on change.
    /// Logs which watch backend is active and records it for `/healthz`.
    pub fn start(
        path: &Path,
        store: Store,
        shared: Arc<Shared>,
        options: Options,
    ) -> Result<HotReload, StartError> {
        let reloader = Reloader::new(path, store, shared.clone(), options.listen_pinned);
        let relevance = reloader.relevance();
        let (tx, rx) = mpsc::channel();
        let sink_tx = tx.clone();
        let sink: watch::Sink = Arc::new(move |notice| {
            let _ = sink_tx.send(Message::Notice(notice));
        });
        let watcher = Watcher::start(options.watch, relevance.dirs(), options.timing, sink)?;
        let backend = watcher.as_ref().map_or(Backend::Off, Watcher::backend);
        shared.reload.set_backend(backend);
        announce(backend, &relevance, options.timing);
        let thread = std::thread::Builder::new()
            .name("widgetgate-reload".into())
            .spawn(move || run(reloader, watcher, &shared, options.timing.debounce, &rx))?;
        Ok(HotReload {
            trigger: Trigger(tx),
            thread: Some(thread),
        })
    }

    /// A handle that asks for reloads (for SIGHUP).
    pub fn trigger(&self) -> Trigger {
        self.trigger.clone()
    }
}

impl Drop for HotReload {
    fn drop(&mut self) {
        let _ = self.trigger.0.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn announce(backend: Backend, relevance: &Relevance, timing: Timing) {
    let dirs: Vec<String> = relevance
        .dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let dirs = dirs.join(", ");
    match backend {
        Backend::Native => tracing::info!("hot reload: watching {dirs} with native file events"),
        Backend::Poll => tracing::info!(
            "hot reload: polling {dirs} every {} ms",
            timing.poll_interval.as_millis()
        ),
        Backend::Off => tracing::info!("hot reload: not watching; send SIGHUP to reload"),
    }
}

/// The reload thread: one attempt at a time, so snapshots are swapped in the order the files
/// changed, and file I/O and building never block the server's threads.
fn run(
    mut reloader: Reloader,
    mut watcher: Option<Watcher>,
    shared: &Shared,
    debounce: Duration,
    rx: &Receiver<Message>,
) {
    let mut relevance = reloader.relevance();
    // A save between the first load and the watch starting sent no event: look once the watch
    // is up, a debounce period later like for any change.
    let mut recheck = watcher.as_ref().map(|_| Instant::now() + debounce);
    let mut last_trouble = String::new();
    loop {
        let message = match recheck {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => Message::Recheck,
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(message) => message,
                Err(_) => break,
            },
        };
        let cause = match message {
            Message::Stop => break,
            Message::Recheck => Cause::Watch,
            Message::Reload => {
                tracing::info!("reload requested");
                Cause::Signal
            }
            Message::Notice(Notice::Changed(paths)) => {
                last_trouble.clear();
                if !paths.iter().any(|p| relevance.matters(p)) {
                    continue;
                }
                Cause::Watch
            }
            // The poll backend repeats a problem (a watched folder gone) on every scan; the
            // first report is news, the repeats are not.
            Message::Notice(Notice::Trouble(why)) if why == last_trouble => continue,
            Message::Notice(Notice::Trouble(why)) => {
                tracing::warn!("file watcher: {why}; re-reading the config in case");
                last_trouble = why;
                Cause::Watch
            }
        };
        recheck = None;
        reloader.reload(cause);
        relevance = reloader.relevance();
        if let Some(watcher) = watcher.as_mut()
            && follow(watcher, &relevance, shared)
        {
            // A folder watched for the first time may have changed before its watch began (a
            // file created with the folder, an edit right after the read): look again.
            recheck = Some(Instant::now() + debounce);
        }
    }
}

/// Points the watcher at the folders `relevance` needs; returns whether one of them is watched
/// for the first time.
fn follow(watcher: &mut Watcher, relevance: &Relevance, shared: &Shared) -> bool {
    let before = watcher.backend();
    let fresh = watcher.sync(relevance.dirs()).unwrap_or_else(|e| {
        tracing::warn!("{e}");
        false
    });
    if watcher.backend() != before {
        shared.reload.set_backend(watcher.backend());
    }
    fresh
}
