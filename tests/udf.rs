//! `advanced_charting` widgets over TradingView's UDF protocol, over real HTTP.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use common::{Gateway, root};
use serde_json::{Value, json};
use stand_in::{Canned, Upstream};

async fn gateway() -> Gateway {
    Gateway::start(&root().join("tests/fixtures/valid/udf.yaml")).await
}

#[tokio::test]
async fn config_symbols_and_search() {
    let gw = gateway().await;
    let config = gw.json("/udf/config").await;
    assert_eq!(
        config["supported_resolutions"],
        json!(["1", "5", "15", "30", "60", "D", "W", "M"])
    );
    assert_eq!(config["supports_search"], true);
    assert_eq!(config["exchanges"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        gw.json("/udf").await,
        config,
        "the widget's endpoint itself answers the config"
    );

    let info = gw.json("/udf/symbols?symbol=NASDAQ:AAPL").await;
    assert_eq!(
        (
            info["name"].as_str(),
            info["exchange"].as_str(),
            info["pricescale"].as_u64()
        ),
        (Some("AAPL"), Some("NASDAQ"), Some(100))
    );
    assert_eq!(info["session-regular"], "0930-1600");
    assert_eq!(gw.get("/udf/symbols?symbol=NOPE").await.status(), 404);

    let found = gw.json("/udf/search?query=bit&limit=5").await;
    assert_eq!(
        found,
        json!([{"symbol": "BTCUSD", "full_name": "CRYPTO:BTCUSD", "description": "Bitcoin / US Dollar", "exchange": "CRYPTO", "ticker": "BTCUSD", "type": "crypto"}])
    );
    assert_eq!(
        gw.json("/udf/search?query=&limit=1")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn history_is_filtered_by_time_and_time_is_now() {
    let gw = gateway().await;
    let from = 1_764_000_000 + 2 * 86_400;
    let to = 1_764_000_000 + 4 * 86_400;
    let h = gw
        .json(&format!(
            "/udf/history?symbol=AAPL&resolution=D&from={from}&to={to}"
        ))
        .await;
    assert_eq!(h["s"], "ok");
    assert_eq!(h["t"], json!([from, from + 86_400, to]));
    for k in ["o", "h", "l", "c", "v"] {
        assert_eq!(h[k].as_array().map(Vec::len), Some(3), "{k}");
    }
    assert_eq!(
        gw.json("/udf/history?symbol=AAPL&resolution=D&from=0&to=10")
            .await,
        json!({"s": "no_data"})
    );
    assert_eq!(
        gw.json("/udf/history?symbol=XYZ&resolution=D&from=0&to=10")
            .await["s"],
        "error"
    );
    let now = chrono::Utc::now().timestamp();
    let t = gw.json("/udf/time").await.as_i64().expect("unix seconds");
    assert!((t - now).abs() < 5);
}

#[tokio::test]
async fn history_can_come_from_an_upstream_shaped_into_bars() {
    let up = Upstream::start(|seen| {
        let from: i64 = seen.param("start").and_then(|v| v.parse().ok()).unwrap_or(0);
        let candles: Vec<Value> = (0..3)
            .map(|i| json!({"ts": from + i * 60, "o": 10 + i, "h": 12 + i, "l": 9 + i, "c": 11 + i, "vol": 100 * (i + 1)}))
            .collect();
        Canned::json(json!({"pair": seen.param("pair"), "candles": candles}))
    })
    .await;
    let gw = Gateway::from_yaml(
        &format!(
            "providers:\n  exchange:\n    base_url: {}\nwidgets:\n  /tv:\n    name: Chart\n    description: Candles from an API\n    type: advanced_charting\n    udf:\n      symbols: [{{ symbol: BTCUSD, exchange: KRAKEN, type: crypto }}]\n      history:\n        upstream:\n          provider: exchange\n          path: /ohlc\n          query: {{ pair: '{{{{ symbol }}}}', interval: '{{{{ resolution }}}}', start: '{{{{ from }}}}', end: '{{{{ to }}}}' }}\n          select: $.candles\n          fields: {{ time: ts, open: o, high: h, low: l, close: c, volume: vol }}\n",
            up.base
        ),
        &[],
    )
    .await;
    let h = gw
        .json("/tv/history?symbol=KRAKEN:BTCUSD&resolution=1&from=600&to=720")
        .await;
    assert_eq!(
        h,
        json!({"s": "ok", "t": [600, 660, 720], "o": [10.0, 11.0, 12.0], "h": [12.0, 13.0, 14.0], "l": [9.0, 10.0, 11.0], "c": [11.0, 12.0, 13.0], "v": [100.0, 200.0, 300.0]})
    );
    let call = up.seen().pop().expect("the provider was called");
    assert_eq!(
        (
            call.param("pair").as_deref(),
            call.param("interval").as_deref(),
            call.param("end").as_deref()
        ),
        (Some("BTCUSD"), Some("1"), Some("720"))
    );
    assert_eq!(
        gw.json("/tv/history?symbol=NOPE&resolution=1&from=0&to=1")
            .await["s"],
        "error"
    );
}
