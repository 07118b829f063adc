//! Request dispatch: CORS, then admission (client key, limits), then the gateway's own paths,
//! then widget and route endpoints.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::args::Input;
use crate::body;
use crate::cache::CacheStatus;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::gate::{self, Caller, Peer};
use crate::live;
use crate::metrics;
use crate::request_id;
use crate::snapshot::{RESERVED_PATHS, Snapshot};
use crate::source::{Endpoint, Reply};
use crate::{encoding, etag, health};

/// Answers one request from `snap` (the snapshot current when the request arrived; a reload
/// meanwhile does not change it) for a client at `peer`.
pub async fn handle<B>(
    req: Request<B>,
    snap: &Arc<Snapshot>,
    peer: &Peer<'_>,
) -> Response<Full<Bytes>>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let mut req = Request::from_parts(parts, ());
    let headers = req.headers();
    let id = request_id::of(headers);
    if Cors::is_preflight(req.method(), headers) {
        let mut resp = snap.cors.preflight(headers);
        request_id::set(&mut resp, id);
        return resp;
    }
    // A Uri clone shares its bytes: the path outlives the borrows of `req` below.
    let uri = req.uri().clone();
    let path = uri.path();
    let endpoint = snap.endpoints.get(path);
    let route_label = route_label(path, endpoint.is_some());
    let admitted = gate::admit(&req, snap, peer);
    if admitted.is_ok()
        && let Some(live) = snap.live.get(path)
        && live::is_upgrade(&req)
    {
        let live = live.clone();
        return live::accept(&mut req, snap.clone(), live).unwrap_or_else(ApiError::into_response);
    }
    // Only the whole catalog is kept in gzip; a client with an allow-list has its own document.
    let whole_catalog = match &admitted {
        Ok(Caller::Anyone) => true,
        Ok(Caller::Client(client)) => client.view.is_none(),
        Err(_) => false,
    };
    let catalog = whole_catalog && path == "/widgets.json";
    let gzipped = catalog && encoding::accepts_gzip(headers);
    let mut resp = match admitted {
        Err(rejection) => rejection.into_response(),
        Ok(caller) => match route(&req, body, snap, &caller, endpoint).await {
            Ok((reply, cache)) => {
                // The gzip form is another representation, so it has a tag of its own.
                let tag = match *req.method() {
                    Method::GET | Method::HEAD if gzipped => Some(snap.widgets_etag_gzip.clone()),
                    Method::GET | Method::HEAD => etag::of_reply(snap, path, &reply.body),
                    _ => None,
                };
                let mut resp = ok(reply, cache);
                if let Some(tag) = tag {
                    etag::apply(req.headers(), &tag, &mut resp);
                }
                resp
            }
            Err(e) => {
                if e.status.is_server_error() {
                    tracing::warn!(request_id = %id, route = route_label, status = e.status.as_u16(), detail = %e.detail, "request failed");
                }
                e.into_response()
            }
        },
    };
    if catalog {
        encoding::widgets_json(snap, gzipped, &mut resp);
    }
    let elapsed = started.elapsed();
    match endpoint {
        Some(endpoint) if resp.status() == StatusCode::OK => {
            endpoint.ok_metrics.request(path, elapsed)
        }
        _ => metrics::request(route_label, resp.status().as_u16(), elapsed),
    }
    tracing::debug!(request_id = %id, method = %req.method(), route = route_label, status = resp.status().as_u16(), micros = elapsed.as_micros() as u64, "answered");
    request_id::set(&mut resp, id);
    if req.method() == Method::HEAD {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    snap.cors.decorate(req.headers(), resp.headers_mut());
    resp
}

/// Answers an admitted request: the gateway's own paths, else `endpoint` (the snapshot's
/// endpoint at the request's path, looked up once by [`handle`]).
async fn route<B>(
    req: &Request<()>,
    body: B,
    snap: &Snapshot,
    caller: &Caller<'_>,
    endpoint: Option<&Endpoint>,
) -> Result<(Reply, Option<CacheStatus>), ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let path = req.uri().path();
    let method = req.method();
    if method == Method::OPTIONS {
        return Ok((
            Reply {
                body: Bytes::new(),
                content_type: "text/plain; charset=utf-8",
            },
            None,
        ));
    }
    let json = |body: &Bytes| Reply {
        body: body.clone(),
        content_type: "application/json",
    };
    let view = match caller {
        Caller::Client(client) => client.view.as_ref(),
        Caller::Anyone => None,
    };
    let reply = match path {
        "/widgets.json" => json(view.map_or(&snap.widgets_json, |v| &v.widgets_json)),
        "/apps.json" => json(view.map_or(&snap.apps_json, |v| &v.apps_json)),
        "/" => json(&snap.info_json),
        "/healthz" => health::reply(snap),
        "/readyz" => Reply {
            body: Bytes::from_static(b"{\"ready\":true}"),
            content_type: "application/json",
        },
        "/metrics" => Reply {
            body: Bytes::from(metrics::render()),
            content_type: "text/plain; version=0.0.4; charset=utf-8",
        },
        _ => {
            let endpoint = endpoint.ok_or_else(|| ApiError::not_found(path))?;
            if let (Some(auth), Caller::Client(client)) = (&snap.auth, caller)
                && let Some(widget) = auth.forbidden_widget(client, path)
            {
                tracing::info!(client = %client.name, widget, "refused: widget not in the key's allow-list");
                return Err(ApiError::forbidden(format!(
                    "this API key may not use widget `{widget}`"
                )));
            }
            let input = match *method {
                Method::GET | Method::HEAD => Input::from_query(req.uri().query()),
                // Boxed: reading a body is only for POSTs, and its future would otherwise be
                // part of every request's future.
                Method::POST if endpoint.post => Input::Body(
                    Box::pin(body::json_object(body, snap.server.limits.max_body)).await?,
                ),
                _ => return Err(ApiError::method_not_allowed(method, path, endpoint.post)),
            };
            return endpoint.respond(&snap.templates, &input).await;
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed(method, path, false));
    }
    Ok((reply, None))
}

/// The metrics label of a path: one the snapshot serves (`is_endpoint`: one of its endpoints),
/// or `unmatched` (bounded cardinality).
fn route_label(path: &str, is_endpoint: bool) -> &str {
    if is_endpoint || RESERVED_PATHS.contains(&path) {
        path
    } else {
        "unmatched"
    }
}

fn ok(reply: Reply, cache: Option<CacheStatus>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(status) = cache {
        resp.headers_mut().insert(
            HeaderName::from_static("x-cache"),
            HeaderValue::from_static(status.as_str()),
        );
    }
    resp
}
