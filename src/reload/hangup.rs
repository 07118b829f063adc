//! SIGHUP reloads the config, the Unix convention for daemons (and the way to reload when the
//! watcher is off or cannot see the files change).

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};

use crate::reload::Trigger;

/// Starts listening for SIGHUP now (inside a tokio runtime) and returns the loop that asks
/// `trigger` for a reload on each one. Once this returns, SIGHUP no longer ends the process.
pub fn on_hangup(trigger: Trigger) -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP received");
            trigger.reload();
        }
    })
}
