//! `live_grid` widgets: the initial GET, and the WebSocket at `wsEndpoint` pushing new and
//! changed rows of the widget's own (polled) source for the params the client sends.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::Gateway;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stand_in::{Canned, Upstream};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn the_websocket_pushes_changed_rows_for_the_clients_params() {
    // Every third call moves AAPL's price; MSFT never changes.
    let calls = Arc::new(AtomicU64::new(0));
    let counter = calls.clone();
    let up = Upstream::start(move |seen| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let wanted = seen.param("symbols").unwrap_or_default();
        let rows: Vec<Value> = wanted
            .split(',')
            .map(|s| match s {
                "AAPL" => json!({"symbol": "AAPL", "price": 190 + (n / 3), "volume": 10}),
                other => json!({"symbol": other, "price": 410, "volume": 20}),
            })
            .collect();
        Canned::json(Value::Array(rows))
    })
    .await;
    let gw = Gateway::from_yaml(
        &format!(
            "providers:\n  quotes:\n    base_url: {}\nwidgets:\n  live_prices:\n    name: Live prices\n    description: Prices pushed as they change\n    type: live_grid\n    wsEndpoint: live_prices_ws\n    data: {{ wsRowIdColumn: symbol }}\n    params: [{{ paramName: symbol, value: AAPL, type: text, multiSelect: true }}]\n    upstream: {{ provider: quotes, path: /quotes, query: {{ symbols: '{{{{ symbol }}}}' }} }}\n    poll: 100ms\n",
            up.base
        ),
        &[],
    )
    .await;
    assert_eq!(
        gw.json("/live_prices").await,
        json!([{"symbol": "AAPL", "price": 190, "volume": 10}]),
        "the initial GET"
    );

    let url = gw.url("/live_prices_ws").replacen("http://", "ws://", 1);
    let (mut ws, resp) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("WebSocket handshake");
    assert_eq!(resp.status(), 101);
    ws.send(Message::text(
        json!({"params": {"symbol": ["AAPL", "MSFT"]}}).to_string(),
    ))
    .await
    .expect("send params");
    let mut seen: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.iter().filter(|r| r["symbol"] == "AAPL").count() < 3 {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("rows keep coming")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = msg {
            seen.push(serde_json::from_str(&text).expect("a JSON row"));
        }
    }
    let msft: Vec<&Value> = seen.iter().filter(|r| r["symbol"] == "MSFT").collect();
    assert_eq!(msft.len(), 1, "an unchanged row is pushed once: {seen:?}");
    let aapl: Vec<i64> = seen
        .iter()
        .filter(|r| r["symbol"] == "AAPL")
        .map(|r| r["price"].as_i64().expect("price"))
        .collect();
    assert!(
        aapl.windows(2).all(|w| w[0] != w[1]),
        "each AAPL push is a change: {aapl:?}"
    );
    assert!(
        up.seen()
            .iter()
            .any(|s| s.param("symbols").as_deref() == Some("AAPL,MSFT")),
        "the client's params reached the source"
    );

    // New params replace the selection; everything for it is pushed again.
    ws.send(Message::text(
        json!({"params": {"symbol": "MSFT"}}).to_string(),
    ))
    .await
    .expect("send");
    // Frames sent before the change may still be queued; MSFT was pushed only once before, so
    // the next MSFT row comes from the new selection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("MSFT is pushed again")
            .expect("open")
            .expect("frame");
        let row: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
        if row["symbol"] == "MSFT" {
            break;
        }
    }
    ws.close(None).await.expect("close");
}
