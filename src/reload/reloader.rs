//! One reload attempt: re-read, re-validate, build a complete new snapshot, swap it in, or keep
//! the old one and say why.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::config::{self, ServerConfig};
use crate::diag::{Diagnostics, Severity};
use crate::inputs::Inputs;
use crate::reload::awaited;
use crate::reload::relevance::Relevance;
use crate::reload::status::{Attempt, Cause, Outcome};
use crate::shared::Shared;
use crate::snapshot::{self, Store};

/// Re-reads one config file into the store it serves from.
pub struct Reloader {
    path: PathBuf,
    store: Store,
    shared: Arc<Shared>,
    /// `server.listen` of the config the listener was bound from; `None` when `--listen` pins
    /// the address, so the config's value never applies.
    bound: Option<SocketAddr>,
    /// The inputs of the last attempt that got as far as parsing.
    attempted: Option<Inputs>,
    /// The errors of the last attempt, when it failed.
    failure: Option<Vec<String>>,
    /// Files the failing config names, existing or not: creating one may fix it.
    awaited: Vec<PathBuf>,
}

impl Reloader {
    /// Reloads `path` into `store`, whose current snapshot is the one being served.
    /// `listen_pinned` says the listen address came from the command line.
    pub fn new(path: &Path, store: Store, shared: Arc<Shared>, listen_pinned: bool) -> Self {
        let bound = (!listen_pinned).then(|| store.load().server.listen);
        Reloader {
            path: path.to_path_buf(),
            store,
            shared,
            bound,
            attempted: None,
            failure: None,
            awaited: Vec::new(),
        }
    }

    /// Re-reads the config and swaps in a new snapshot when it is valid and differs from the
    /// served one. [`Cause::Signal`] rebuilds even an unchanged config.
    pub fn reload(&mut self, cause: Cause) -> Outcome {
        let started = Instant::now();
        self.shared.reload.checked();
        let (config, diags) = config::load(&self.path, &self.shared.env);
        let Some(config) = config else {
            return self.fail(cause, started, &diags);
        };
        let inputs = Inputs::read(&config);
        let unchanged = inputs.fingerprint == self.store.load().inputs.fingerprint;
        self.attempted = Some(inputs);
        if unchanged && cause == Cause::Watch {
            return self.unchanged(cause, started);
        }
        let text = config.text.clone();
        match snapshot::from_parsed(config, diags, &self.shared) {
            Ok((snap, warnings)) => self.swap(cause, started, snap, &warnings),
            Err(diags) => {
                self.awaited = awaited::named_files(&self.path, &text);
                self.fail(cause, started, &diags)
            }
        }
    }

    /// The files and folders to watch now: those of the served snapshot, of the latest
    /// attempt and, while the config is failing, the files it names and waits for (loosely
    /// filtered then).
    pub fn relevance(&self) -> Relevance {
        let active = self.store.load();
        let attempted = self.attempted.iter().flat_map(Inputs::files);
        let failing = self.failure.is_some();
        let awaited = self
            .awaited
            .iter()
            .filter(|_| failing)
            .map(PathBuf::as_path);
        Relevance::new(
            active.inputs.files().chain(attempted).chain(awaited),
            failing,
        )
    }

    fn unchanged(&mut self, cause: Cause, started: Instant) -> Outcome {
        if self.failure.take().is_some() {
            tracing::info!(
                "{}: back to the config being served; nothing to reload",
                self.path.display()
            );
            self.record(cause, started, Outcome::Unchanged, Vec::new());
        } else {
            tracing::debug!("{}: unchanged; not reloading", self.path.display());
        }
        Outcome::Unchanged
    }

    fn swap(
        &mut self,
        cause: Cause,
        started: Instant,
        snap: snapshot::Snapshot,
        warnings: &Diagnostics,
    ) -> Outcome {
        for d in warnings.sorted() {
            tracing::warn!("{d}");
        }
        self.check_restart(&snap.server);
        let widgets = snap.widget_count;
        // Recorded first: a client that sees the new version already finds it in /healthz.
        self.record(cause, started, Outcome::Reloaded, Vec::new());
        self.store.store(Arc::new(snap));
        self.failure = None;
        tracing::info!(
            widgets,
            took_ms = started.elapsed().as_millis() as u64,
            "reloaded {}",
            self.path.display()
        );
        Outcome::Reloaded
    }

    fn fail(&mut self, cause: Cause, started: Instant, diags: &Diagnostics) -> Outcome {
        let all = diags.sorted();
        let errors: Vec<String> = all
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(ToString::to_string)
            .collect();
        // Unrelated files appearing while the config is broken retry it; the same errors again
        // are not news.
        if cause == Cause::Watch && self.failure.as_ref() == Some(&errors) {
            tracing::debug!("{}: still the same errors", self.path.display());
            return Outcome::Failed;
        }
        for d in &all {
            match d.severity {
                Severity::Error => tracing::error!("{d}"),
                Severity::Warning => tracing::warn!("{d}"),
            }
        }
        tracing::error!(
            "{}: {} error(s); still serving the config loaded at {}",
            self.path.display(),
            errors.len(),
            crate::health::timestamp(self.store.load().loaded_at)
        );
        self.failure = Some(errors.clone());
        self.record(cause, started, Outcome::Failed, errors);
        Outcome::Failed
    }

    /// Notes settings that cannot change under a running listener.
    fn check_restart(&self, new: &ServerConfig) {
        let mut pending = Vec::new();
        if let Some(bound) = self.bound
            && new.listen != bound
        {
            pending.push(format!(
                "server.listen is {} but the server listens on {bound}; restart to apply it",
                new.listen
            ));
        }
        let before = self.shared.reload.report().restart_required;
        if pending != before {
            for item in &pending {
                tracing::warn!(
                    "{}: restart required: {item}; the rest of the config is live",
                    self.path.display()
                );
            }
            self.shared.reload.set_restart_required(pending);
        }
    }

    fn record(&self, cause: Cause, started: Instant, outcome: Outcome, errors: Vec<String>) {
        crate::metrics::reload(match outcome {
            Outcome::Reloaded => "ok",
            Outcome::Failed => "error",
            Outcome::Unchanged => "unchanged",
        });
        self.shared.reload.record(Attempt {
            at: SystemTime::now(),
            cause,
            outcome,
            took: started.elapsed(),
            errors,
        });
    }
}
