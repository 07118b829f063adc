//! widgetgate: one YAML file in, a complete OpenBB Workspace custom backend out.
//!
//! The flow: [`config`] reads gateway.yaml with locations, [`openbb::rules`] applies
//! Workspace's own rules, [`snapshot`] compiles everything a request needs into an immutable
//! [`snapshot::Snapshot`], and [`server`] answers requests from the current snapshot through
//! [`handler`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod config;
pub mod cors;
pub mod diag;
pub mod error;
pub mod handler;
pub mod openbb;
pub mod server;
pub mod snapshot;
pub mod source;
pub mod template;
pub mod yaml;

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;

pub use snapshot::{Snapshot, Store};

/// Serves `snapshot` on `listener` until `shutdown` completes. Integration tests call this with
/// a listener on 127.0.0.1:0; the binary calls it with the configured address.
pub async fn run(
    listener: TcpListener,
    snapshot: Snapshot,
    shutdown: impl Future<Output = ()>,
) -> Store {
    let store: Store = Arc::new(ArcSwap::from_pointee(snapshot));
    server::serve(listener, store.clone(), shutdown).await;
    store
}
