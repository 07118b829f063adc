//! Request dispatch: CORS, then admission (client key, limits), then the gateway's own paths,
//! then widget and route endpoints.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::cors::Cors;
use crate::error::ApiError;
use crate::gate::{self, Caller, Peer};
use crate::snapshot::Snapshot;
use crate::source::Reply;

/// Answers one request from `snap` for a client at `peer`.
pub fn handle<B>(req: &Request<B>, snap: &Snapshot, peer: &Peer<'_>) -> Response<Full<Bytes>> {
    let headers = req.headers();
    if Cors::is_preflight(req.method(), headers) {
        return snap.cors.preflight(headers);
    }
    let mut resp = match gate::admit(req, snap, peer).map(|caller| route(req, snap, &caller)) {
        Err(rejection) => rejection.into_response(),
        Ok(Ok(reply)) => ok(reply),
        Ok(Err(e)) => {
            if e.status.is_server_error() {
                tracing::warn!(path = req.uri().path(), status = e.status.as_u16(), detail = %e.detail, "request failed");
            }
            e.into_response()
        }
    };
    if req.method() == Method::HEAD {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    snap.cors.decorate(headers, resp.headers_mut());
    resp
}

fn route<B>(req: &Request<B>, snap: &Snapshot, caller: &Caller<'_>) -> Result<Reply, ApiError> {
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
    let view = match caller {
        Caller::Client(client) => client.view.as_ref(),
        Caller::Anyone => None,
    };
    let reply = match path {
        "/widgets.json" => json(view.map_or(&snap.widgets_json, |v| &v.widgets_json)),
        "/apps.json" => json(view.map_or(&snap.apps_json, |v| &v.apps_json)),
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
            if let (Some(auth), Caller::Client(client)) = (&snap.auth, caller)
                && let Some(widget) = auth.forbidden_widget(client, path)
            {
                tracing::info!(client = %client.name, widget, "refused: widget not in the key's allow-list");
                return Err(ApiError::forbidden(format!(
                    "this API key may not use widget `{widget}`"
                )));
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
