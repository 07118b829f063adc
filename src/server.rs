//! The HTTP server: hyper's HTTP/1 + HTTP/2 connection builder on a tokio listener, optionally
//! behind TLS, with connection, header, body and time limits and a bounded graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
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

use crate::arrivals::Arrivals;
use crate::error::ApiError;
use crate::gate::Peer;
use crate::handler;
use crate::head_timeout::{Check, HeadTimeout, Watched};
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
/// The listener and every accepted connection are added to `arrivals`, when given.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    arrivals: Option<Arc<Arrivals>>,
    shutdown: impl Future<Output = ()>,
) {
    let limits = store.load().server.limits.clone();
    if let Some(arrivals) = &arrivals {
        arrivals.watch(&listener);
    }
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The header timeout is kept by `head_timeout` (one timer per connection); hyper's own
    // would make a timer per request, and with a timer set it would default to 30 s.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true)
        // A request whose client hangs up is finished rather than cancelled (bounded by
        // `request_timeout`; an upstream answer it fetched still fills the cache). Watching
        // for the hang-up made hyper try a read, and allocate a new 8 KiB read buffer, on
        // every request.
        .half_close(true)
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
                if let Some(arrivals) = &arrivals {
                    arrivals.watch(&stream);
                }
                let conn = Conn {
                    store: store.clone(),
                    limiters: limiters.clone(),
                    builder: builder.clone(),
                    watcher: graceful.watcher(),
                    peer: peer.ip(),
                    heads: Arc::new(HeadTimeout::new(Instant::now(), limits.header_timeout)),
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
    /// The header timeout: the first request's head must arrive within it (TLS handshake
    /// and protocol detection included), and every later one within it of the last answer
    /// having been sent (see `head_timeout.rs`).
    heads: Arc<HeadTimeout>,
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
        let handshake_by = self.heads.first_deadline();
        match tokio::time::timeout_at(handshake_by, acceptor.accept(stream)).await {
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
        let heads = self.heads.clone();
        let svc = service_fn(move |req| {
            let busy = heads.begin(req.version());
            let snap = store.load_full();
            let limiters = limiters.clone();
            async move {
                let _busy = busy;
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
        let conn = self.builder.serve_connection_with_upgrades(
            TokioIo::new(Watched::new(io, self.heads.clone())),
            svc,
        );
        let conn = self.watcher.watch(conn.into_owned());
        tokio::pin!(conn);
        let timer = tokio::time::sleep_until(self.heads.first_deadline());
        tokio::pin!(timer);
        loop {
            tokio::select! {
                // The connection first: a head that arrived as the timer fired is served.
                biased;
                _ = &mut conn => return,
                () = &mut timer => match self.heads.check(Instant::now()) {
                    Check::Until(at) => timer.as_mut().reset(at),
                    Check::Unwatched => break,
                    Check::Close => {
                        let what = if self.heads.never_asked() { "no request" } else { "idle" };
                        tracing::debug!(peer = %self.peer, "{what} for the header timeout; closing");
                        return;
                    }
                },
            }
        }
        let _ = conn.await;
    }
}
