//! Request dispatch: CORS, then the gateway's own paths, then widget and route endpoints.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::cache::CacheStatus;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::source::Reply;

/// Answers one request from `snap` (the snapshot current when the request arrived; a reload
/// meanwhile does not change it).
pub async fn handle<B>(req: Request<B>, snap: &Snapshot) -> Response<Full<Bytes>> {
    let headers = req.headers();
    if Cors::is_preflight(req.method(), headers) {
        return snap.cors.preflight(headers);
    }
    let mut resp = match route(&req, snap).await {
        Ok((reply, cache)) => ok(reply, cache),
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(path = req.uri().path(), status = e.status.as_u16(), detail = %e.detail, "request failed");
            }
            e.into_response()
        }
    };
    if req.method() == Method::HEAD {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    snap.cors.decorate(req.headers(), resp.headers_mut());
    resp
}

async fn route<B>(
    req: &Request<B>,
    snap: &Snapshot,
) -> Result<(Reply, Option<CacheStatus>), ApiError> {
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
    let reply = match path {
        "/widgets.json" => json(&snap.widgets_json),
        "/apps.json" => json(&snap.apps_json),
        "/" => json(&snap.info_json),
        "/healthz" => Reply {
            body: Bytes::from_static(b"{\"status\":\"ok\"}"),
            content_type: "application/json",
        },
        _ => {
            let endpoint = snap
                .endpoints
                .get(path)
                .ok_or_else(|| ApiError::not_found(path))?;
            if method != Method::GET && method != Method::HEAD {
                return Err(ApiError::method_not_allowed(method, path));
            }
            return endpoint.respond(&snap.templates, req.uri().query()).await;
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed(method, path));
    }
    Ok((reply, None))
}

fn ok(reply: Reply, cache: Option<CacheStatus>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(status) = cache {
        resp.headers_mut()
            .insert("x-cache", HeaderValue::from_static(status.as_str()));
    }
    resp
}
