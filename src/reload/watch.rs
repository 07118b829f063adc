//! Watching the config's folders with notify, debounced, natively or by polling.
//!
//! Folders are watched, not files: an editor's atomic save replaces the file's inode and a watch
//! on the file itself goes quiet after the first save (notes/crates.md §4). Native events are
//! preferred; polling with content comparison is the fallback for file systems that deliver no
//! events (Docker Desktop bind mounts, NFS/SMB, some sandboxes) and for exhausted inotify limits.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{PollWatcher, RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer_opt};

use crate::reload::changes::ChangesOnly;
use crate::reload::status::Backend;

/// How config changes are noticed (`--watch`, env `WIDGETGATE_WATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum WatchMode {
    /// Native file events, falling back to polling when they are unavailable.
    #[default]
    Auto,
    /// Native file events only; failing to set them up is an error.
    Native,
    /// Scan the watched folders periodically and compare contents.
    Poll,
    /// Do not watch; reload on SIGHUP only.
    Off,
}

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Entries that changed, after debouncing.
    Changed(Vec<PathBuf>),
    /// The backend reported a problem (e.g. an event queue overflow); changes may have been
    /// missed.
    Trouble(String),
}

/// Where notices go. Called on notify's own thread.
pub type Sink = Arc<dyn Fn(Notice) + Send + Sync>;

/// Timing of the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Quiet time after the last event of a path before it is reported, so a save made of
    /// several writes is reported once, whole.
    pub debounce: Duration,
    /// How often the poll backend scans.
    pub poll_interval: Duration,
}

/// Watching could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {dir}: {source}")]
pub struct WatchError {
    /// The folder that could not be watched.
    pub dir: PathBuf,
    /// notify's reason.
    pub source: notify::Error,
}

enum Inner {
    Native(Debouncer<ChangesOnly<RecommendedWatcher>>),
    Poll(Debouncer<ChangesOnly<PollWatcher>>),
}

/// A running watch over a set of folders. Dropping it stops the watch.
pub struct Watcher {
    inner: Inner,
    mode: WatchMode,
    timing: Timing,
    sink: Sink,
    watched: BTreeSet<PathBuf>,
}

impl Watcher {
    /// Starts watching `dirs` as `mode` asks; `Ok(None)` for [`WatchMode::Off`]. In `auto`, a
    /// native backend that cannot start or cannot watch a folder gives way to polling.
    pub fn start(
        mode: WatchMode,
        dirs: &BTreeSet<PathBuf>,
        timing: Timing,
        sink: Sink,
    ) -> Result<Option<Watcher>, WatchError> {
        let anchor = dirs.first().cloned().unwrap_or_else(|| PathBuf::from("."));
        let inner = match mode {
            WatchMode::Off => return Ok(None),
            WatchMode::Poll => poll(timing, &sink),
            WatchMode::Native | WatchMode::Auto => match native(timing, &sink) {
                Ok(inner) => Ok(inner),
                Err(source) if mode == WatchMode::Auto => {
                    tracing::warn!(
                        "native file events are unavailable ({source}); falling back to polling"
                    );
                    poll(timing, &sink)
                }
                Err(source) => Err(source),
            },
        }
        .map_err(|source| WatchError {
            dir: anchor,
            source,
        })?;
        let mut watcher = Watcher {
            inner,
            mode,
            timing,
            sink,
            watched: BTreeSet::new(),
        };
        watcher.sync(dirs)?;
        Ok(Some(watcher))
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Native(_) => Backend::Native,
            Inner::Poll(_) => Backend::Poll,
        }
    }

    /// Watches the folders in `wanted` from now on. A folder that does not exist (yet) is
    /// watched through its nearest existing ancestor, which sees it being created; the next call
    /// after that watches the folder itself. Native watches are renewed on every call: a folder
    /// that was deleted and re-created, or a symlinked folder whose target was swapped, is a new
    /// inode the old watch does not see. Polling rescans by path, so its watch on a folder that
    /// disappears is kept and reports the folder's files when it comes back (a quick delete and
    /// re-create leaves the parent's listing, and mtime second, unchanged).
    ///
    /// Returns whether a folder is watched now that was not before: changes made in it before
    /// this call went unseen. Fails only in `native` mode, when a folder that exists cannot be
    /// watched; `auto` switches to polling instead.
    pub fn sync(&mut self, wanted: &BTreeSet<PathBuf>) -> Result<bool, WatchError> {
        let native = matches!(self.inner, Inner::Native(_));
        let dirs: BTreeSet<PathBuf> = wanted
            .iter()
            .filter_map(|dir| dir.ancestors().find(|a| a.is_dir()))
            .map(Path::to_path_buf)
            .collect();
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|w| !dirs.contains(*w) && (native || !wanted.contains(*w)))
            .cloned()
            .collect();
        for dir in gone {
            // A deleted folder has already taken its native watch with it.
            let _ = self.watcher().unwatch(&dir);
            self.watched.remove(&dir);
        }
        let mut fresh = false;
        for dir in &dirs {
            if !native && self.watched.contains(dir) {
                continue;
            }
            match self.watcher().watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    fresh |= self.watched.insert(dir.clone());
                }
                Err(e) if is_not_found(&e) => {
                    self.watched.remove(dir);
                }
                Err(e) if native && self.mode == WatchMode::Auto => {
                    match poll(self.timing, &self.sink) {
                        Ok(inner) => {
                            tracing::warn!(
                                "cannot watch {} with native file events ({e}); falling back to polling",
                                dir.display()
                            );
                            self.inner = inner;
                            self.watched.clear();
                            return self.sync(wanted).map(|_| true);
                        }
                        Err(poll_error) => {
                            return Err(WatchError {
                                dir: dir.clone(),
                                source: poll_error,
                            });
                        }
                    }
                }
                Err(source) => {
                    self.watched.remove(dir);
                    return Err(WatchError {
                        dir: dir.clone(),
                        source,
                    });
                }
            }
        }
        Ok(fresh)
    }

    fn watcher(&mut self) -> &mut dyn notify::Watcher {
        match &mut self.inner {
            Inner::Native(d) => d.watcher(),
            Inner::Poll(d) => d.watcher(),
        }
    }
}

fn is_not_found(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::PathNotFound => true,
        notify::ErrorKind::Io(io) => io.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

/// Native events (inotify, FSEvents, …), reads filtered out.
fn native(timing: Timing, sink: &Sink) -> notify::Result<Inner> {
    let config = notify_debouncer_mini::Config::default()
        .with_timeout(timing.debounce)
        .with_notify_config(notify::Config::default());
    new_debouncer_opt::<_, ChangesOnly<RecommendedWatcher>>(config, handler(sink.clone()))
        .map(Inner::Native)
}

/// Polling with content comparison, folder metadata filtered out: file systems without events
/// often keep mtimes too coarse (whole seconds) to see a quick second save.
fn poll(timing: Timing, sink: &Sink) -> notify::Result<Inner> {
    let config = notify_debouncer_mini::Config::default()
        .with_timeout(timing.debounce)
        .with_notify_config(
            notify::Config::default()
                .with_poll_interval(timing.poll_interval)
                .with_compare_contents(true),
        );
    new_debouncer_opt::<_, ChangesOnly<PollWatcher>>(config, handler(sink.clone())).map(Inner::Poll)
}

fn handler(sink: Sink) -> impl FnMut(DebounceEventResult) + Send + 'static {
    move |result: DebounceEventResult| match result {
        Ok(events) => sink(Notice::Changed(
            events.into_iter().map(|event| event.path).collect(),
        )),
        Err(e) => sink(Notice::Trouble(e.to_string())),
    }
}
