//! `live_grid` WebSockets: the gateway serves each live widget's `wsEndpoint`. A client sends
//! `{"params": {...}}` (on connect and whenever its params change); the gateway then evaluates
//! the widget's own source with those params every `poll` interval and pushes each row that is
//! new or changed (keyed by `data.wsRowIdColumn`) as one JSON message.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::args::Input;
use crate::error::ApiError;
use crate::snapshot::Snapshot;

/// How often a live widget's source is evaluated when `poll` is not set.
pub const DEFAULT_POLL: Duration = Duration::from_secs(1);

/// A WebSocket path and the widget it streams.
#[derive(Debug, Clone)]
pub struct LiveRoute {
    /// The widget's (HTTP) endpoint, whose source is evaluated.
    pub endpoint: String,
    /// The row field that identifies a row (`data.wsRowIdColumn`).
    pub id_column: String,
    /// How often the source is evaluated.
    pub poll: Duration,
}

/// Whether `req` asks to become a WebSocket.
pub fn is_upgrade(req: &Request<()>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "websocket")
}

/// Accepts the WebSocket handshake and streams `route` on the upgraded connection.
pub fn accept(
    req: &mut Request<()>,
    snap: Arc<Snapshot>,
    route: LiveRoute,
) -> Result<Response<Full<Bytes>>, ApiError> {
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or_else(|| ApiError::bad_request("a WebSocket upgrade needs Sec-WebSocket-Key"))?;
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| ApiError::bad_request("invalid Sec-WebSocket-Key"))?;
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                stream(ws, &snap, &route).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Ok(resp)
}

async fn stream<S>(ws: WebSocketStream<S>, snap: &Snapshot, route: &LiveRoute)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(endpoint) = snap.endpoints.get(&route.endpoint) else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let mut params: Option<Map<String, Value>> = None;
    let mut sent: HashMap<String, Value> = HashMap::new();
    let mut tick = tokio::time::interval(route.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(text))) => match client_params(&text) {
                    Some(p) => {
                        params = Some(p);
                        sent.clear();
                        tick.reset_immediately();
                    }
                    None => tracing::debug!("ignoring a live message without {{\"params\": {{...}}}}"),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = tick.tick(), if params.is_some() => {
                let input = Input::Body(params.clone().unwrap_or_default());
                let rows = match endpoint.respond(&snap.templates, &input).await {
                    Ok((reply, _)) => serde_json::from_slice::<Value>(&reply.body).ok(),
                    Err(e) => {
                        tracing::debug!(detail = %e.detail, "live source failed; will try again");
                        None
                    }
                };
                for row in rows.as_ref().and_then(Value::as_array).into_iter().flatten() {
                    let id = row.get(&route.id_column).map(Value::to_string).unwrap_or_default();
                    if sent.get(&id) == Some(row) {
                        continue;
                    }
                    if tx.send(Message::text(row.to_string())).await.is_err() {
                        return;
                    }
                    sent.insert(id, row.clone());
                }
            }
        }
    }
}

/// The `params` object of a client message (values may be comma strings or lists).
fn client_params(text: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(text).ok()?.get("params")? {
        Value::Object(map) => Some(map.clone()),
        _ => None,
    }
}
