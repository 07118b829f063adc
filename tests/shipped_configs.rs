//! Every config the repository ships loads, and every widget in it answers like Workspace
//! expects: documentation cannot rot.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::{Gateway, check_answer, root, shipped_configs};
use serde_json::Value;
use stand_in::{Canned, Upstream};
use widgetgate::config::Env;

const FMP_TEST_KEY: &str = "fmp-test-key";

/// The gateway keys of a widget, written out independently of the code under test.
const GATEWAY_KEYS: [&str; 9] = [
    "files",
    "static",
    "file",
    "template",
    "template_file",
    "upstream",
    "cache",
    "udf",
    "poll",
];

/// A stand-in for the APIs the shipped configs call (DeFi Llama, Financial Modeling Prep),
/// answering with recorded sample data, so no test reaches the internet.
async fn stand_in_apis() -> Upstream {
    let fixture = |name: &str| {
        std::fs::read_to_string(root().join("tests/fixtures/upstream").join(name)).expect("fixture")
    };
    let (chains, quote) = (fixture("llama_chains.json"), fixture("fmp_quote.json"));
    Upstream::start(move |seen| match seen.path.as_str() {
        "/llama/v2/chains" => Canned::text(200, "application/json", chains.clone()),
        "/fmp/quote" if seen.param("apikey").as_deref() == Some(FMP_TEST_KEY) => {
            Canned::text(200, "application/json", quote.clone())
        }
        _ => Canned::text(404, "text/plain", "not found"),
    })
    .await
}

async fn serve(config: &Path, apis: &Upstream) -> Gateway {
    let vars = [
        ("LLAMA_BASE_URL", format!("{}/llama", apis.base)),
        ("FMP_BASE_URL", format!("{}/fmp", apis.base)),
        ("FMP_API_KEY", FMP_TEST_KEY.to_string()),
    ];
    let env: HashMap<String, String> = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    // This test asks for every widget of a config back to back, above the per-address budget
    // (50/s) in a release build; the limit is not what it checks.
    Gateway::start_adjusted(config, Env::Map(env), |snap| {
        snap.server.limits.per_ip = None;
    })
    .await
}

#[tokio::test]
async fn every_widget_of_every_shipped_config_answers_with_its_shape() {
    let configs = shipped_configs();
    assert!(
        configs.len() >= 2,
        "expected gateway.yaml and more, found {configs:?}"
    );
    let apis = stand_in_apis().await;
    for config in configs {
        let gw = serve(&config, &apis).await;
        let widgets = gw.json("/widgets.json").await;
        let widgets = widgets
            .as_object()
            .unwrap_or_else(|| panic!("{}: widgets.json is not an object", config.display()));
        assert!(!widgets.is_empty(), "{}: no widgets", config.display());
        for (id, w) in widgets {
            let wtype = w.get("type").and_then(Value::as_str).unwrap_or("table");
            if wtype == "iframe" {
                continue;
            }
            let endpoint = w["endpoint"].as_str().expect("endpoint is a string");
            let path = format!("/{}", endpoint.trim_start_matches('/'));
            let resp = gw.get(&path).await;
            assert_eq!(
                resp.status(),
                200,
                "{}: widget {id} at {path}",
                config.display()
            );
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = resp.bytes().await.expect("body");
            let data_key = w
                .pointer("/data/dataKey")
                .and_then(Value::as_str)
                .unwrap_or("");
            if let Err(why) = check_answer(wtype, data_key, &ct, &body) {
                panic!("{}: widget {id} ({wtype}): {why}", config.display());
            }
        }
    }
}

#[tokio::test]
async fn widgets_json_mirrors_the_yaml_without_gateway_keys() {
    let apis = stand_in_apis().await;
    for config in shipped_configs() {
        let text = std::fs::read_to_string(&config).expect("read config");
        let yaml = widgetgate::yaml::parse(&text).expect("valid YAML");
        let gw = serve(&config, &apis).await;
        let widgets = gw.json("/widgets.json").await;
        let declared = yaml.get("widgets").expect("widgets section");
        let ids: Vec<&str> = declared
            .entries()
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        let served: Vec<&str> = widgets
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(ids, served, "{}: widget ids and order", config.display());
        for (key, node) in declared.entries() {
            let served = &widgets[&key.name];
            for gateway_key in GATEWAY_KEYS {
                assert!(
                    served.get(gateway_key).is_none(),
                    "{}: {gateway_key} leaked into widgets.json",
                    key.name
                );
            }
            for (field, value) in node.entries() {
                if GATEWAY_KEYS.contains(&field.name.as_str()) {
                    continue;
                }
                assert_eq!(
                    served[&field.name],
                    value.to_json(),
                    "{}: field {}",
                    key.name,
                    field.name
                );
            }
            let endpoint = node
                .get("endpoint")
                .and_then(|n| n.as_str())
                .unwrap_or(&key.name);
            assert_eq!(served["endpoint"], endpoint, "{}: endpoint", key.name);
        }
    }
}

#[tokio::test]
async fn apps_json_is_an_array_whose_layouts_name_served_widgets() {
    let apis = stand_in_apis().await;
    for config in shipped_configs() {
        let gw = serve(&config, &apis).await;
        let widgets = gw.json("/widgets.json").await;
        let ids: HashSet<&str> = widgets
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let apps = gw.json("/apps.json").await;
        for app in apps
            .as_array()
            .unwrap_or_else(|| panic!("{}: apps.json is not an array", config.display()))
        {
            for tab in app["tabs"].as_object().expect("tabs").values() {
                for item in tab["layout"].as_array().expect("layout") {
                    let i = item["i"].as_str().expect("i");
                    assert!(
                        ids.contains(i),
                        "{}: layout names unknown widget {i}",
                        config.display()
                    );
                    let x = item["x"].as_f64().expect("x");
                    let w = item["w"].as_f64().expect("w");
                    assert!(
                        x + w <= 40.0,
                        "{}: {i} overflows the grid",
                        config.display()
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_default_config_wraps_defi_llama_and_a_keyed_provider() {
    let apis = stand_in_apis().await;
    let gw = serve(&root().join("gateway.yaml"), &apis).await;
    let chains = gw.json("/defi_chains").await;
    assert_eq!(
        chains.as_array().map(Vec::len),
        Some(4),
        "the zero-TVL chain is filtered out: {chains}"
    );
    assert_eq!(
        chains[0],
        serde_json::json!({"chain": "Ethereum", "token": "ETH", "tvl": 61234567890.12})
    );
    let chart = gw.json("/defi_chains_chart?top=2").await;
    assert_eq!(
        chart["userOptions"]["xAxis"]["categories"],
        serde_json::json!(["Ethereum", "Solana"])
    );
    assert_eq!(
        chart["userOptions"]["series"][0]["data"],
        serde_json::json!([61234567890.0, 9876543210.0])
    );
    let quote = gw.json("/fmp_quote").await;
    assert_eq!(
        quote[0],
        serde_json::json!({"label": "AAPL price", "value": 190.51, "delta": 0.63})
    );
    let fmp_call = apis
        .seen()
        .into_iter()
        .find(|s| s.path == "/fmp/quote")
        .expect("fmp called");
    assert_eq!(fmp_call.param("apikey").as_deref(), Some(FMP_TEST_KEY));
    assert_eq!(fmp_call.param("symbol").as_deref(), Some("AAPL"));
}
