//! A real HTTP server on 127.0.0.1 standing in for a third-party API: it records every request
//! it receives and answers what the test tells it to.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// The raw path, as sent on the wire.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Bytes,
}

impl Seen {
    /// The decoded query parameter `name`.
    pub fn param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Canned {
    /// Status code.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body.
    pub body: Bytes,
    /// Wait before answering.
    pub delay: Duration,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Canned {
    /// 200 with a JSON body.
    pub fn json(value: serde_json::Value) -> Canned {
        Canned {
            status: 200,
            content_type: "application/json",
            body: Bytes::from(value.to_string()),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }
    /// `status` with a text body.
    pub fn text(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Canned {
        Canned {
            status,
            content_type,
            body: body.into(),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }
    /// The same answer after `delay`.
    pub fn after(mut self, delay: Duration) -> Canned {
        self.delay = delay;
        self
    }
}

type Responder = dyn Fn(&Seen) -> Canned + Send + Sync;

/// The stand-in server.
pub struct Upstream {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    responder: Arc<Mutex<Arc<Responder>>>,
    inflight: Arc<AtomicUsize>,
    max_inflight: Arc<AtomicUsize>,
}

impl Upstream {
    /// Starts a server answering with `responder`.
    pub async fn start(responder: impl Fn(&Seen) -> Canned + Send + Sync + 'static) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let responder: Arc<Mutex<Arc<Responder>>> = Arc::new(Mutex::new(Arc::new(responder)));
        let inflight = Arc::new(AtomicUsize::new(0));
        let max_inflight = Arc::new(AtomicUsize::new(0));
        let (s, r, i, m) = (
            seen.clone(),
            responder.clone(),
            inflight.clone(),
            max_inflight.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (s, r, i, m) = (s.clone(), r.clone(), i.clone(), m.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (s, r, i, m) = (s.clone(), r.clone(), i.clone(), m.clone());
                        async move {
                            let now = i.fetch_add(1, Ordering::SeqCst) + 1;
                            m.fetch_max(now, Ordering::SeqCst);
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let seen = Seen {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_string(),
                                query: parts.uri.query().map(str::to_string),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.as_str().to_string(),
                                            v.to_str().unwrap_or("").to_string(),
                                        )
                                    })
                                    .collect(),
                                body,
                            };
                            let responder = r.lock().expect("lock").clone();
                            let canned = responder(&seen);
                            s.lock().expect("lock").push(seen);
                            tokio::time::sleep(canned.delay).await;
                            i.fetch_sub(1, Ordering::SeqCst);
                            let mut resp = Response::new(Full::new(canned.body));
                            *resp.status_mut() =
                                hyper::StatusCode::from_u16(canned.status).expect("status");
                            resp.headers_mut()
                                .insert("content-type", canned.content_type.parse().expect("ct"));
                            for (k, v) in canned.headers {
                                resp.headers_mut().insert(k, v.parse().expect("header"));
                            }
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream {
            base,
            seen,
            responder,
            inflight,
            max_inflight,
        }
    }

    /// Changes what the server answers from now on.
    pub fn answer(&self, responder: impl Fn(&Seen) -> Canned + Send + Sync + 'static) {
        *self.responder.lock().expect("lock") = Arc::new(responder);
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Number of requests received so far.
    pub fn calls(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    /// The most requests it was answering at one time.
    pub fn max_inflight(&self) -> usize {
        self.max_inflight.load(Ordering::SeqCst)
    }
}

/// A loopback address nothing listens on (connection refused).
pub async fn refused_base() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}
