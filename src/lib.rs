//! widgetgate: one YAML file in, a complete OpenBB Workspace custom backend out.
//!
//! The flow: [`config`] reads gateway.yaml with locations, [`openbb::rules`] applies
//! Workspace's own rules, [`snapshot`] compiles everything a request needs into an immutable
//! [`snapshot::Snapshot`], and [`server`] answers requests from the current snapshot through
//! [`handler`]. [`reload`] watches the files and swaps in a new snapshot when they change;
//! [`shared`] holds the state that outlives snapshots.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod arrivals;
pub mod auth;
pub mod body;
pub mod cache;
pub mod clock;
pub mod config;
pub mod cors;
pub mod diag;
pub mod encoding;
pub mod error;
pub mod etag;
pub mod front_cache;
pub mod gate;
pub mod handler;
pub mod head_timeout;
pub mod health;
pub mod idle;
pub mod inputs;
pub mod json_string;
pub mod limit;
pub mod live;
pub mod metrics;
pub mod openbb;
pub mod query;
pub mod reload;
pub mod request_id;
pub mod server;
pub mod shaping;
pub mod shared;
pub mod snapshot;
pub mod source;
pub mod ssrm;
pub mod substitution;
pub mod template;
pub mod tls;
pub mod upstream;
pub mod yaml;
#[cfg(target_os = "linux")]
pub mod zerocopy;

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;

pub use snapshot::{Snapshot, Store};

/// Wraps a first snapshot in a [`Store`] that a reload task can swap later.
pub fn store(snapshot: Snapshot) -> Store {
    Arc::new(ArcSwap::from_pointee(snapshot))
}

/// Serves the current snapshot of `store` on `listener` until `shutdown` completes. Integration
/// tests call this with a listener on 127.0.0.1:0; the binary calls it with the configured
/// address and, when its serving threads spin before sleeping, the set of sockets whose
/// arrivals end a spin early (`arrivals`).
pub async fn run(
    listener: TcpListener,
    store: Store,
    arrivals: Option<Arc<arrivals::Arrivals>>,
    shutdown: impl Future<Output = ()>,
) {
    metrics::init();
    server::serve(listener, store, arrivals, shutdown).await;
}
