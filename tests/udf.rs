//! `advanced_charting` widgets over TradingView's UDF protocol, over real HTTP.

mod common;

use common::{Gateway, root};
use serde_json::json;

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
