//! A notify watcher that passes on changes to files only.
//!
//! inotify also reports files being opened and closed (`EventKind::Access`). The reloader reads
//! the config's files, so each reload attempt would cause events that, once debounced, start
//! another attempt, for ever. The poll backend reports a folder's new mtime whenever anything
//! in it is created or removed, editors' helper files included, although the entries themselves
//! are reported too. notify-debouncer-mini forgets event kinds, so the filter sits in front of
//! it, as the watcher it drives.

use std::path::Path;

use notify::event::ModifyKind;
use notify::{Config, Event, EventHandler, EventKind, RecursiveMode, Watcher, WatcherKind};

/// Wraps watcher `W`, dropping reads and folder metadata before they reach the handler.
#[derive(Debug)]
pub struct ChangesOnly<W>(W);

impl<W: Watcher> Watcher for ChangesOnly<W> {
    fn new<F: EventHandler>(mut handler: F, config: Config) -> notify::Result<Self> {
        let changes = move |event: notify::Result<Event>| {
            if !matches!(&event, Ok(e) if is_noise(e)) {
                handler.handle_event(event);
            }
        };
        W::new(changes, config).map(ChangesOnly)
    }

    fn watch(&mut self, path: &Path, recursive_mode: RecursiveMode) -> notify::Result<()> {
        self.0.watch(path, recursive_mode)
    }

    fn unwatch(&mut self, path: &Path) -> notify::Result<()> {
        self.0.unwatch(path)
    }

    fn configure(&mut self, option: Config) -> notify::Result<bool> {
        self.0.configure(option)
    }

    fn kind() -> WatcherKind {
        W::kind()
    }
}

fn is_noise(event: &Event) -> bool {
    match event.kind {
        EventKind::Access(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => event.paths.iter().all(|p| p.is_dir()),
        _ => false,
    }
}
