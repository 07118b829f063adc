//! The HTTP server: hyper's HTTP/1 + HTTP/2 connection builder on a tokio listener, optionally
//! behind TLS, with connection, header, body and time limits and a bounded graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::HeaderMap;
use http::header::ORIGIN;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::gate::Peer;
use crate::handler;
use crate::limit::{Limiters, MAX_TRACKED_ADDRESSES, SWEEP_PERIOD};
use crate::metrics;
use crate::snapshot::Store;

/// The largest request head (request line and headers) accepted: HTTP/1 answers 431 beyond it,
/// HTTP/2 refuses the stream. Workspace sends a handful of short headers.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Concurrent HTTP/2 streams per connection.
const MAX_STREAMS: u32 = 256;

/// How long shutdown waits for in-flight requests before closing anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

type Builder = auto::Builder<TokioExecutor>;

/// Serves `store` on `listener` until `shutdown` completes, then drains connections.
///
/// `server.limits` and whether TLS is on are read from the first snapshot; the TLS certificate
/// is taken from the current snapshot for every new connection, so a reload can rotate it.
pub async fn serve(listener: TcpListener, store: Store, shutdown: impl Future<Output = ()>) {
    let limits = store.load().server.limits.clone();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Without a timer, hyper's header timeout silently does nothing (slowloris).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    let builder = Arc::new(builder);
    let limiters = Arc::new(Limiters::new(MAX_TRACKED_ADDRESSES));
    let sweeper = tokio::spawn(limiters.clone().sweep_every(SWEEP_PERIOD));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                // At the cap a new connection is closed at once: queueing it would let slow
                // clients hold every slot while others wait.
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::debug!(peer = %peer, "connection limit reached; closing a new connection");
                    drop(stream);
                    continue;
                };
                let conn = Conn {
                    store: store.clone(),
                    limiters: limiters.clone(),
                    builder: builder.clone(),
                    watcher: graceful.watcher(),
                    peer: peer.ip(),
                    first_request_by: Instant::now() + limits.header_timeout,
                };
                metrics::connections(1.0);
                tokio::spawn(async move {
                    conn.run(stream).await;
                    metrics::connections(-1.0);
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    sweeper.abort();
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("shutdown grace period over; closing remaining connections"),
    }
}

/// One accepted connection and what serving it needs.
struct Conn {
    store: Store,
    limiters: Arc<Limiters>,
    builder: Arc<Builder>,
    watcher: Watcher,
    peer: IpAddr,
    /// When the first request's headers must have arrived (TLS handshake included). hyper's
    /// header timeout covers every later request and idle keep-alive time, but not the
    /// protocol detection before the first request, where a silent client would hold its
    /// connection slot for ever.
    first_request_by: Instant,
}

impl Conn {
    /// Serves the connection to its end, after a TLS handshake when the snapshot has TLS.
    async fn run(self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let Some(acceptor) = self.store.load().tls.clone() else {
            #[cfg(target_os = "linux")]
            let stream = crate::zerocopy::SendfileStream::new(stream);
            self.serve(stream).await;
            return;
        };
        match tokio::time::timeout_at(self.first_request_by, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => self.serve(tls).await,
            Ok(Err(e)) => tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (store, limiters, peer) = (self.store, self.limiters, self.peer);
        let started = Arc::new(AtomicBool::new(false));
        let first = started.clone();
        let svc = service_fn(move |req| {
            first.store(true, Ordering::Relaxed);
            let snap = store.load_full();
            let limiters = limiters.clone();
            async move {
                let origin = req.headers().get(ORIGIN).cloned();
                // Kept for the timeout's log line; a Uri clone shares its bytes.
                let uri = req.uri().clone();
                let limit = snap.server.limits.request_timeout;
                // Boxed: the handler's future is several KB, and hyper keeps the service
                // future inline in every connection and moves it per request.
                let answer = Box::pin(async {
                    let peer = Peer {
                        ip: peer,
                        limiters: &limiters,
                    };
                    handler::handle(req, &snap, &peer).await
                });
                let resp = match tokio::time::timeout(limit, answer).await {
                    Ok(resp) => resp,
                    Err(_) => {
                        tracing::warn!(path = uri.path(), "request timed out");
                        let mut resp = ApiError::request_timeout(limit).into_response();
                        let mut request = HeaderMap::new();
                        if let Some(origin) = origin {
                            request.insert(ORIGIN, origin);
                        }
                        snap.cors.decorate(&request, resp.headers_mut());
                        resp
                    }
                };
                Ok::<_, Infallible>(resp)
            }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), svc);
        let conn = self.watcher.watch(conn.into_owned());
        tokio::pin!(conn);
        tokio::select! {
            _ = &mut conn => return,
            () = tokio::time::sleep_until(self.first_request_by) => {}
        }
        if !started.load(Ordering::Relaxed) {
            tracing::debug!(peer = %self.peer, "no request before the header timeout; closing");
            return;
        }
        let _ = conn.await;
    }
}
