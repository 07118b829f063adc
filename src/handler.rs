//! Request dispatch: CORS, then the gateway's own paths, then widget and route endpoints.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::cors::Cors;
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::source::Reply;
use crate::{etag, health};

/// Answers one request from `snap`.
pub fn handle<B>(req: &Request<B>, snap: &Snapshot) -> Response<Full<Bytes>> {
    let headers = req.headers();
    if Cors::is_preflight(req.method(), headers) {
        return snap.cors.preflight(headers);
    }
    let mut resp = match route(req, snap) {
        Ok(reply) => ok(reply),
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(path = req.uri().path(), status = e.status.as_u16(), detail = %e.detail, "request failed");
            }
            e.into_response()
        }
    };
    if resp.status() == StatusCode::OK
        && matches!(*req.method(), Method::GET | Method::HEAD)
        && let Some(tag) = etag::of_path(snap, req.uri().path())
    {
        etag::apply(headers, tag, &mut resp);
    }
    if req.method() == Method::HEAD {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    snap.cors.decorate(headers, resp.headers_mut());
    resp
}

fn route<B>(req: &Request<B>, snap: &Snapshot) -> Result<Reply, ApiError> {
    let path = req.uri().path();
    let method = req.method();
    if method == Method::OPTIONS {
        return Ok(Reply {
            body: Bytes::new(),
            content_type: "text/plain; charset=utf-8",
        });
    }
    let json = |body: &Bytes| Reply {
        body: body.clone(),
        content_type: "application/json",
    };
    let reply = match path {
        "/widgets.json" => json(&snap.widgets_json),
        "/apps.json" => json(&snap.apps_json),
        "/" => json(&snap.info_json),
        "/healthz" => health::reply(snap),
        _ => {
            let endpoint = snap
                .endpoints
                .get(path)
                .ok_or_else(|| ApiError::not_found(path))?;
            if method != Method::GET && method != Method::HEAD {
                return Err(ApiError::method_not_allowed(method, path));
            }
            return endpoint.respond(&snap.templates, req.uri().query());
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed(method, path));
    }
    Ok(reply)
}

fn ok(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    resp
}
