//! Upstream widgets against a real HTTP server on 127.0.0.1 that asserts the injected key and
//! counts calls.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::Gateway;
use serde_json::{Value, json};
use stand_in::{Canned, Upstream, refused_base};
use widgetgate::config::Env;

const SECRET: &str = "sk-test-7f3a9c1e5b";

/// One test setup: top-level YAML, extra provider settings, and the widgets.
struct Setup<'a> {
    top: &'a str,
    provider: &'a str,
    widgets: &'a str,
}

impl Setup<'_> {
    fn yaml(&self) -> String {
        format!(
            "{}providers:\n  api:\n    base_url: ${{UP}}/v1\n    headers: {{ X-Api-Token: \"${{SECRET}}\" }}\n    query: {{ apikey: \"${{SECRET}}\" }}\n{}widgets:\n{}",
            self.top, self.provider, self.widgets
        )
    }

    async fn start(&self, base: &str) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gateway.yaml");
        std::fs::write(&path, self.yaml()).expect("write config");
        Gateway::start_with_env(&path, env(base)).await
    }
}

fn env(base: &str) -> Env {
    Env::Map(
        [("UP", base), ("SECRET", SECRET)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

async fn widgets(base: &str, widgets: &str) -> Gateway {
    Setup {
        top: "",
        provider: "",
        widgets,
    }
    .start(base)
    .await
}

const TABLE: &str = "  rows:
    name: Rows
    description: Rows from the API
    type: table
    params: [{ paramName: symbol, value: AAPL, type: text }]
    upstream: { provider: api, path: /quote, query: { symbol: '{{ symbol }}' } }
";

fn rows() -> Canned {
    Canned::json(json!([{"symbol": "AAPL", "price": 190.5}]))
}

async fn join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

async fn detail(resp: reqwest::Response) -> String {
    let body: Value = resp.json().await.expect("json error body");
    body["detail"].as_str().expect("detail").to_string()
}

#[tokio::test]
async fn injects_the_key_in_header_and_query_and_forwards_no_client_credentials() {
    let up = Upstream::start(|_| rows()).await;
    let gw = widgets(&up.base, TABLE).await;
    let resp = reqwest::Client::new()
        .get(gw.url("/rows?symbol=MSFT"))
        .header("X-API-KEY", "client-key")
        .header("Authorization", "Bearer client-token")
        .header("Cookie", "session=abc")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!([{"symbol": "AAPL", "price": 190.5}])
    );
    let seen = up.seen();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.path, "/v1/quote");
    assert_eq!(r.param("symbol").as_deref(), Some("MSFT"));
    assert_eq!(r.param("apikey").as_deref(), Some(SECRET));
    assert_eq!(
        r.headers.get("x-api-token").map(String::as_str),
        Some(SECRET)
    );
    for h in ["x-api-key", "authorization", "cookie"] {
        assert!(
            !r.headers.contains_key(h),
            "client header {h} was forwarded"
        );
    }
    assert_eq!(
        r.headers.get("host").map(String::as_str),
        Some(up.base.trim_start_matches("http://"))
    );
}

#[tokio::test]
async fn empty_params_are_left_out_of_the_query() {
    let up = Upstream::start(|_| rows()).await;
    let gw = widgets(&up.base, TABLE).await;
    assert_eq!(gw.get("/rows?symbol=").await.status(), 200);
    assert_eq!(up.seen()[0].param("symbol"), None);
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_make_one_upstream_call() {
    let up = Upstream::start(|_| rows().after(Duration::from_millis(300))).await;
    let w = format!(
        "{TABLE}    cache: 60s\n  uncached:\n    name: U\n    description: U\n    type: table\n    upstream: {{ provider: api, path: /u }}\n"
    );
    let gw = widgets(&up.base, &w).await;
    let client = reqwest::Client::new();
    let answers = join_all((0..50).map(|_| client.get(gw.url("/rows?symbol=TSLA")).send())).await;
    assert!(
        answers
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
    );
    assert_eq!(up.calls(), 1, "50 identical misses coalesce into one call");
    join_all((0..20).map(|_| client.get(gw.url("/uncached")).send())).await;
    assert_eq!(
        up.calls(),
        2,
        "identical uncached requests in flight coalesce too"
    );
}

#[tokio::test]
async fn cache_hits_until_expiry_then_misses() {
    let up = Upstream::start(|_| rows()).await;
    let gw = widgets(&up.base, &format!("{TABLE}    cache: 1s\n")).await;
    assert_eq!(gw.get("/rows").await.headers()["x-cache"], "miss");
    assert_eq!(gw.get("/rows").await.headers()["x-cache"], "hit");
    assert_eq!(up.calls(), 1);
    assert_eq!(
        gw.get("/rows?symbol=NVDA").await.headers()["x-cache"],
        "miss",
        "params are part of the key"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(gw.get("/rows").await.headers()["x-cache"], "miss");
    assert_eq!(up.calls(), 3);
}

/// Two serving threads each keep copies of the answers they hit (src/front_cache.rs): none of
/// them may answer with its copy once the entry's lifetime has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_serving_thread_keeps_answering_an_expired_entry() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let up = Upstream::start(move |_| {
        let call = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Canned::json(json!([{"symbol": "AAPL", "call": call}]))
    })
    .await;
    let gw = Setup {
        top: "server: { limits: { per_ip: off } }\n",
        provider: "",
        widgets: &format!("{TABLE}    cache: 1s\n"),
    }
    .start(&up.base)
    .await;
    let client = reqwest::Client::new();
    for call in [1, 2, 3] {
        // Concurrent requests spread over connections and both threads, then one connection's
        // run of them (past the requests a copy leaves to the shared cache).
        let mut answers = join_all((0..40).map(|_| client.get(gw.url("/rows")).send())).await;
        for _ in 0..40 {
            answers.push(client.get(gw.url("/rows")).send().await);
        }
        for resp in answers {
            let resp = resp.expect("answer");
            assert_eq!(resp.status(), 200);
            let body: Value = resp.json().await.expect("json");
            assert_eq!(
                body,
                json!([{"symbol": "AAPL", "call": call}]),
                "lifetime {call}"
            );
        }
        assert_eq!(up.calls(), call, "one upstream call per lifetime");
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
}

#[tokio::test]
async fn a_client_that_hangs_up_still_fills_the_cache() {
    let up = Upstream::start(|_| rows().after(Duration::from_millis(500))).await;
    let gw = widgets(&up.base, &format!("{TABLE}    cache: 60s\n")).await;
    let mut quitter = tokio::net::TcpStream::connect(gw.addr())
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(
        &mut quitter,
        b"GET /rows?symbol=AAPL HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(quitter);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let resp = gw.get("/rows?symbol=AAPL").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-cache"],
        "hit",
        "the abandoned call was not finished"
    );
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn provider_cache_default_applies_to_its_widgets() {
    let up = Upstream::start(|_| rows()).await;
    let gw = Setup {
        top: "",
        provider: "    cache: 60s\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    gw.get("/rows").await;
    assert_eq!(gw.get("/rows").await.headers()["x-cache"], "hit");
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn stale_if_error_serves_the_last_good_answer_for_a_bounded_time() {
    let up = Upstream::start(|_| rows()).await;
    let gw = Setup {
        top: "cache: { stale_if_error: 2s }\n",
        provider: "",
        widgets: &format!("{TABLE}    cache: 500ms\n"),
    }
    .start(&up.base)
    .await;
    assert_eq!(gw.get("/rows").await.status(), 200);
    up.answer(|_| Canned::text(500, "text/plain", "boom"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let stale = gw.get("/rows").await;
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.headers()["x-cache"], "stale");
    assert_eq!(
        stale.json::<Value>().await.expect("json")[0]["price"],
        190.5
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        gw.get("/rows").await.status(),
        502,
        "past the stale window the error shows"
    );
}

#[tokio::test]
async fn rate_limit_waits_up_to_its_bound_then_answers_503_with_retry_after() {
    let up = Upstream::start(|_| rows()).await;
    let gw = Setup {
        top: "",
        provider: "    rate_limit: 1/s\n    rate_limit_wait: 100ms\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    assert_eq!(gw.get("/rows?symbol=A").await.status(), 200);
    let limited = gw.get("/rows?symbol=B").await;
    assert_eq!(limited.status(), 503);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1)
    );
    assert!(detail(limited).await.contains("rate limit"));
    assert_eq!(up.calls(), 1);

    let patient = Setup {
        top: "",
        provider: "    rate_limit: 1/s\n    rate_limit_wait: 3s\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    assert_eq!(patient.get("/rows?symbol=C").await.status(), 200);
    let started = Instant::now();
    assert_eq!(
        patient.get("/rows?symbol=D").await.status(),
        200,
        "within the bound the request waits"
    );
    assert!(started.elapsed() >= Duration::from_millis(700));
}

#[tokio::test]
async fn max_concurrency_caps_calls_in_flight() {
    let up = Upstream::start(|_| rows().after(Duration::from_millis(200))).await;
    let gw = Setup {
        top: "",
        provider: "    max_concurrency: 2\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    let client = reqwest::Client::new();
    let answers =
        join_all((0..6).map(|i| client.get(gw.url(&format!("/rows?symbol=S{i}"))).send())).await;
    assert!(
        answers
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
    );
    assert_eq!(up.calls(), 6);
    assert!(
        up.max_inflight() <= 2,
        "{} calls were in flight",
        up.max_inflight()
    );
}

#[tokio::test]
async fn a_slow_upstream_times_out_with_504() {
    let up = Upstream::start(|_| rows().after(Duration::from_secs(3))).await;
    let gw = Setup {
        top: "",
        provider: "    timeout: 300ms\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    let started = Instant::now();
    let resp = gw.get("/rows").await;
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(detail(resp).await.contains("did not answer within"));
}

#[tokio::test]
async fn connection_refused_is_a_502() {
    let gw = widgets(&refused_base().await, TABLE).await;
    let resp = gw.get("/rows").await;
    assert_eq!(resp.status(), 502);
    assert!(
        detail(resp)
            .await
            .starts_with("provider api is unreachable")
    );
}

#[tokio::test]
async fn upstream_errors_are_502_with_the_start_of_their_body_and_no_secret() {
    let up = Upstream::start(|seen| {
        let echoed = seen.param("apikey").unwrap_or_default();
        Canned::text(
            404,
            "application/json",
            format!("{{\"error\": \"unknown symbol for key {echoed}\"}}"),
        )
    })
    .await;
    let gw = widgets(&up.base, TABLE).await;
    let resp = gw.get("/rows").await;
    assert_eq!(resp.status(), 502);
    let d = detail(resp).await;
    assert!(
        d.starts_with(
            "provider api answered 404: {\"error\": \"unknown symbol for key [redacted]\"}"
        ),
        "{d}"
    );
    assert!(!d.contains(SECRET));
}

#[tokio::test]
async fn oversized_and_invalid_bodies_are_502() {
    let up = Upstream::start(|seen| match seen.path.as_str() {
        "/v1/big" => Canned::text(
            200,
            "application/json",
            format!("[\"{}\"]", "x".repeat(5000)),
        ),
        _ => Canned::text(200, "application/json", "{not json"),
    })
    .await;
    let w = "  big:\n    name: B\n    description: B\n    type: table\n    upstream: { provider: api, path: /big }\n  broken:\n    name: J\n    description: J\n    type: table\n    upstream: { provider: api, path: /broken }\n";
    let gw = Setup {
        top: "",
        provider: "    max_body: 1KB\n",
        widgets: w,
    }
    .start(&up.base)
    .await;
    let resp = gw.get("/big").await;
    assert_eq!(resp.status(), 502);
    assert!(detail(resp).await.contains("more than 1000 bytes"));
    let resp = gw.get("/broken").await;
    assert_eq!(resp.status(), 502);
    assert!(detail(resp).await.contains("invalid JSON"));
}

#[tokio::test]
async fn csv_answers_become_typed_records() {
    let up = Upstream::start(|_| {
        Canned::text(
            200,
            "text/csv",
            "date,close\n2026-11-24,190.5\n2026-11-25,191\n",
        )
    })
    .await;
    let w = "  prices:\n    name: P\n    description: P\n    type: table\n    upstream: { provider: api, path: /prices.csv }\n";
    let gw = widgets(&up.base, w).await;
    assert_eq!(
        gw.json("/prices").await,
        json!([{"date": "2026-11-24", "close": 190.5}, {"date": "2026-11-25", "close": 191}])
    );
}

#[tokio::test]
async fn select_and_fields_pick_rename_and_flatten() {
    let up = Upstream::start(|_| {
        Canned::json(json!({"status": "ok", "data": {"quotes": [
            {"ticker": "AAPL", "quote": {"last": 190.5, "chg": 1.2}, "meta": {"name": "Apple"}},
            {"ticker": "MSFT", "quote": {"last": 410.0, "chg": -0.4}, "meta": {"name": "Microsoft"}}
        ]}}))
    })
    .await;
    let w = "  quotes:
    name: Q
    description: Q
    type: table
    upstream:
      provider: api
      path: /quotes
      select: $.data.quotes
      fields:
        symbol: ticker
        price: quote.last
        name: $.meta.name
        move: \"{{ 'up' if row.quote.chg > 0 else 'down' }}\"
";
    let gw = widgets(&up.base, w).await;
    assert_eq!(
        gw.json("/quotes").await,
        json!([
            {"symbol": "AAPL", "price": 190.5, "name": "Apple", "move": "up"},
            {"symbol": "MSFT", "price": 410.0, "name": "Microsoft", "move": "down"}
        ])
    );
}

#[tokio::test]
async fn typed_output_builds_metrics_and_charts() {
    let up = Upstream::start(|_| {
        Canned::json(json!([{"name": "Ethereum", "tvl": 60.5}, {"name": "Solana", "tvl": 9.25}]))
    })
    .await;
    let w = "  tvl_metric:
    name: M
    description: M
    type: metric
    upstream:
      provider: api
      path: /chains
      output:
        - label: Chains
          value: '{{ data | length }}'
        - label: Top chain
          value: '{{ data[0].name }}'
          delta: '{{ data[0].tvl }}'
  tvl_chart:
    name: C
    description: C
    type: chart
    upstream:
      provider: api
      path: /chains
      output:
        data:
          - type: bar
            x: '{{ data | map(attribute=\"name\") | list }}'
            y: '{{ data | map(attribute=\"tvl\") | list }}'
        layout: { title: 'TVL of {{ data | length }} chains' }
";
    let gw = widgets(&up.base, w).await;
    assert_eq!(
        gw.json("/tvl_metric").await,
        json!([{"label": "Chains", "value": 2}, {"label": "Top chain", "value": "Ethereum", "delta": 60.5}])
    );
    assert_eq!(
        gw.json("/tvl_chart").await,
        json!({"data": [{"type": "bar", "x": ["Ethereum", "Solana"], "y": [60.5, 9.25]}], "layout": {"title": "TVL of 2 chains"}})
    );
}

#[tokio::test]
async fn a_wrong_shape_is_a_502_naming_the_widget() {
    let up = Upstream::start(|_| Canned::json(json!({"not": "a list"}))).await;
    let gw = widgets(&up.base, TABLE).await;
    let resp = gw.get("/rows").await;
    assert_eq!(resp.status(), 502);
    let d = detail(resp).await;
    assert!(
        d.starts_with("widget `rows`:") && d.contains("list of records"),
        "{d}"
    );
}

#[tokio::test]
async fn text_widgets_render_the_answer_with_a_template() {
    let up = Upstream::start(|_| Canned::json(json!({"name": "Apple", "pe": 31.2}))).await;
    let w = "  profile:
    name: P
    description: P
    type: markdown
    params: [{ paramName: symbol, value: AAPL, type: text }]
    upstream:
      provider: api
      path: /profile/{{ symbol }}
      template: |
        # {{ data.name }} ({{ symbol }})
        P/E {{ data.pe }}
";
    let gw = widgets(&up.base, w).await;
    assert_eq!(gw.json("/profile").await, json!("# Apple (AAPL)\nP/E 31.2"));
    assert_eq!(up.seen()[0].path, "/v1/profile/AAPL");
}

#[tokio::test]
async fn post_bodies_are_templated_json() {
    let up = Upstream::start(|_| rows()).await;
    let w = "  search:
    name: S
    description: S
    type: table
    params: [{ paramName: limit, value: 5, type: number }, { paramName: tickers, value: 'AAPL,MSFT', type: text, multiple: true }]
    upstream:
      provider: api
      method: POST
      path: /search
      body: { limit: '{{ limit }}', tickers: '{{ tickers }}', source: widgetgate }
";
    let gw = widgets(&up.base, w).await;
    assert_eq!(gw.get("/search?limit=7").await.status(), 200);
    let seen = &up.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&seen.body).expect("json body");
    assert_eq!(
        body,
        json!({"limit": 7, "tickers": ["AAPL", "MSFT"], "source": "widgetgate"})
    );
}

#[tokio::test]
async fn path_injection_attempts_stay_on_the_providers_host_and_path() {
    let up = Upstream::start(|_| rows()).await;
    let w = "  item:
    name: I
    description: I
    type: table
    params: [{ paramName: id, value: x, type: text }]
    upstream: { provider: api, path: '/items/{{ id }}/detail' }
";
    let gw = widgets(&up.base, w).await;
    let attempts = [
        ("..%2F..%2Fadmin", "/v1/items/..%2F..%2Fadmin/detail"),
        (
            "a%3Fapikey%3Dstolen",
            "/v1/items/a%3Fapikey%3Dstolen/detail",
        ),
        ("a%23frag", "/v1/items/a%23frag/detail"),
        ("a%252Fb", "/v1/items/a%252Fb/detail"),
        ("%40evil.example", "/v1/items/%40evil.example/detail"),
        (
            "x%2F..%2F..%2F..%2Fetc",
            "/v1/items/x%2F..%2F..%2F..%2Fetc/detail",
        ),
    ];
    for (raw, expected_path) in attempts {
        let resp = gw.get(&format!("/item?id={raw}")).await;
        assert_eq!(resp.status(), 200, "{raw}");
        let seen = up.seen().pop().expect("a call");
        assert_eq!(seen.path, expected_path, "{raw}");
        assert_eq!(
            seen.param("apikey").as_deref(),
            Some(SECRET),
            "{raw}: the query is the provider's own"
        );
        assert_eq!(
            seen.query.as_deref().map(|q| q.matches('=').count()),
            Some(1),
            "{raw}: no injected query"
        );
    }
    for dots in ["..", "."] {
        let resp = gw.get(&format!("/item?id={dots}")).await;
        assert_eq!(resp.status(), 400, "`{dots}` as a whole segment is refused");
    }
}

#[tokio::test]
async fn an_unset_secret_answers_503_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.yaml");
    let yaml = "providers:\n  fmp:\n    base_url: https://financialmodelingprep.com/stable\n    query: { apikey: \"${FMP_API_KEY}\" }\nwidgets:\n  quote:\n    name: Q\n    description: Q\n    type: table\n    upstream: { provider: fmp, path: /quote }\n";
    std::fs::write(&path, yaml).expect("write");
    let shared = std::sync::Arc::new(widgetgate::shared::Shared::with_env(Env::Map(
        HashMap::new(),
    )));
    let (_, warnings) = widgetgate::snapshot::load_with(&path, &shared).expect("loads");
    assert!(
        warnings
            .to_string()
            .contains("provider `fmp` is not configured: FMP_API_KEY is not set"),
        "{warnings}"
    );
    let gw = Gateway::start_with_env(&path, Env::Map(HashMap::new())).await;
    let resp = gw.get("/quote").await;
    assert_eq!(resp.status(), 503);
    assert_eq!(
        detail(resp).await,
        "provider fmp is not configured: FMP_API_KEY is not set"
    );
}

#[tokio::test]
async fn retries_are_off_by_default_and_retry_gets_when_enabled() {
    let up = Upstream::start(|_| Canned::text(503, "text/plain", "busy")).await;
    let gw = widgets(&up.base, TABLE).await;
    assert_eq!(gw.get("/rows").await.status(), 502);
    assert_eq!(up.calls(), 1);
    let up = Upstream::start(|_| rows()).await;
    let flaky = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let f = flaky.clone();
    up.answer(move |_| {
        if f.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            Canned::text(503, "text/plain", "busy")
        } else {
            rows()
        }
    });
    let gw = Setup {
        top: "",
        provider: "    retries: 2\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    assert_eq!(gw.get("/rows").await.status(), 200);
    assert_eq!(up.calls(), 3);
}

#[tokio::test]
async fn redirects_to_another_host_are_not_followed() {
    let elsewhere = Upstream::start(|_| rows()).await;
    let target = elsewhere.base.replace("127.0.0.1", "localhost");
    let up = Upstream::start(move |seen| {
        if seen.path == "/v1/moved" {
            let mut c = Canned::text(302, "text/plain", "");
            c.headers.push(("location", format!("{target}/steal")));
            c
        } else if seen.path == "/v1/here" {
            let mut c = Canned::text(302, "text/plain", "");
            c.headers.push(("location", "/v1/there".into()));
            c
        } else {
            rows()
        }
    })
    .await;
    let w = "  moved:\n    name: M\n    description: M\n    type: table\n    upstream: { provider: api, path: /moved }\n  here:\n    name: H\n    description: H\n    type: table\n    upstream: { provider: api, path: /here }\n";
    let gw = widgets(&up.base, w).await;
    let resp = gw.get("/moved").await;
    assert_eq!(resp.status(), 502);
    assert!(detail(resp).await.contains("redirect"));
    assert_eq!(elsewhere.calls(), 0, "the key never reached the other host");
    assert_eq!(
        gw.get("/here").await.status(),
        200,
        "a redirect within the provider's origin is followed"
    );
}

#[tokio::test]
async fn the_request_timeout_answers_504_with_cors_before_a_slow_provider_does() {
    let up = Upstream::start(|_| rows().after(Duration::from_secs(3))).await;
    let gw = Setup {
        top: "server: { limits: { request_timeout: 300ms } }\n",
        provider: "    timeout: 10s\n",
        widgets: TABLE,
    }
    .start(&up.base)
    .await;
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .get(gw.url("/rows"))
        .header("Origin", "https://pro.openbb.co")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://pro.openbb.co"
    );
    assert!(detail(resp).await.contains("took longer than 0.3 s"));
}

#[tokio::test]
async fn a_form_submit_route_posts_its_inputs_upstream() {
    let up = Upstream::start(|seen| {
        if seen.method == "POST" {
            Canned::json(json!({"id": 7, "created": true}))
        } else {
            rows()
        }
    })
    .await;
    let w = format!(
        "{TABLE}routes:\n  client_submit:\n    method: POST\n    params: [{{ paramName: first_name, value: '' }}, {{ paramName: kinds, value: '', type: text, multiple: true }}]\n    upstream:\n      provider: api\n      method: POST\n      path: /clients\n      body: {{ name: '{{{{ first_name }}}}', kinds: '{{{{ kinds }}}}' }}\n"
    );
    let gw = widgets(&up.base, &w).await;
    let resp = reqwest::Client::new()
        .post(gw.url("/client_submit"))
        .json(&json!({"first_name": "Grace", "kinds": ["stocks", "bonds"], "add_record": true}))
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status(), 200, "200 makes Workspace refresh the widget");
    assert_eq!(
        resp.json::<Value>().await.expect("json"),
        json!({"id": 7, "created": true})
    );
    let call = up
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .expect("the submit reached the provider");
    assert_eq!(call.path, "/v1/clients");
    assert_eq!(call.param("apikey").as_deref(), Some(SECRET));
    let body: Value = serde_json::from_slice(&call.body).expect("json body");
    assert_eq!(body, json!({"name": "Grace", "kinds": ["stocks", "bonds"]}));
}

#[tokio::test]
async fn workspaces_theme_and_raw_reach_upstream_templates_without_a_param() {
    let up = Upstream::start(|_| rows()).await;
    let gw = widgets(
        &up.base,
        "  rows:
    name: Rows
    description: Rows from the API
    type: table
    upstream: { provider: api, path: /quote, query: { colors: '{{ theme }}', full: '{{ raw }}' } }
",
    )
    .await;
    assert_eq!(gw.get("/rows?theme=light&raw=true").await.status(), 200);
    assert_eq!(gw.get("/rows").await.status(), 200);
    let seen = up.seen();
    assert_eq!(seen[0].param("colors").as_deref(), Some("light"));
    assert_eq!(seen[0].param("full").as_deref(), Some("true"));
    assert_eq!(
        seen[1].param("colors").as_deref(),
        Some("dark"),
        "Workspace's default"
    );
    assert_eq!(seen[1].param("full").as_deref(), Some("false"));
}

#[tokio::test]
async fn theme_splits_the_cache_only_for_widgets_that_read_it() {
    let up = Upstream::start(|_| rows()).await;
    let themed = "  themed:
    name: Themed
    description: Colours follow the theme
    type: table
    upstream: { provider: api, path: /quote, query: { colors: '{{ theme }}' } }
    cache: 60s
";
    let gw = widgets(&up.base, &format!("{TABLE}    cache: 60s\n{themed}")).await;
    for (theme, expected) in [("dark", "miss"), ("light", "hit")] {
        let resp = gw.get(&format!("/rows?theme={theme}")).await;
        assert_eq!(resp.headers()["x-cache"], expected, "/rows, {theme}");
    }
    assert_eq!(
        up.calls(),
        1,
        "a widget that ignores the theme shares one answer"
    );
    for (theme, expected) in [("dark", "miss"), ("light", "miss"), ("light", "hit")] {
        let resp = gw.get(&format!("/themed?theme={theme}")).await;
        assert_eq!(resp.headers()["x-cache"], expected, "/themed, {theme}");
    }
    assert_eq!(up.calls(), 3);
}
