//! Operations: /readyz, /metrics in Prometheus text format moving with traffic, request ids,
//! and JSON logs that parse and never contain a secret.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Gateway, root};
use serde_json::{Value, json};
use stand_in::{Canned, Upstream};

/// Parses Prometheus text exposition into (series with labels, value); fails on a bad line.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "bad comment: {line}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "bad labels: {line}");
        }
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        out.insert(series.to_string(), v);
    }
    out
}

fn value(metrics: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| {
            k.starts_with(&format!("{name}{{")) && labels.iter().all(|l| k.contains(l))
        })
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test]
async fn metrics_parse_and_move_with_traffic() {
    let gw = Gateway::start(&root().join("tests/fixtures/valid/every_source.yaml")).await;
    assert_eq!(gw.json("/readyz").await, json!({"ready": true}));
    let before = parse_prometheus(&gw.get("/metrics").await.text().await.expect("text"));
    for _ in 0..5 {
        gw.get("/params_echo").await;
    }
    gw.get("/no/such").await;
    let resp = gw.get("/metrics").await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    let after = parse_prometheus(&resp.text().await.expect("text"));
    let served = |m: &HashMap<String, f64>| {
        value(
            m,
            "widgetgate_requests_total",
            &["route=\"/params_echo\"", "status=\"200\""],
        )
    };
    assert!(
        served(&after) - served(&before) >= 5.0,
        "request counter moved"
    );
    assert!(
        value(
            &after,
            "widgetgate_requests_total",
            &["route=\"unmatched\"", "status=\"404\""]
        ) >= 1.0
    );
    assert!(
        value(
            &after,
            "widgetgate_request_duration_seconds_count",
            &["route=\"/params_echo\""]
        ) >= 5.0
    );
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("widgetgate_request_duration_seconds_bucket{"))
    );
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("widgetgate_active_connections"))
    );
}

#[tokio::test]
async fn upstream_and_cache_metrics_count() {
    let up = Upstream::start(|_| Canned::json(json!([{"a": 1}]))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, format!("providers:\n  metered:\n    base_url: {}\nwidgets:\n  t:\n    name: T\n    description: T\n    type: table\n    upstream: {{ provider: metered, path: /t }}\n    cache: 60s\n", up.base)).expect("write");
    let gw = Gateway::start(&path).await;
    gw.get("/t").await;
    gw.get("/t").await;
    let m = parse_prometheus(&gw.get("/metrics").await.text().await.expect("text"));
    assert!(
        value(
            &m,
            "widgetgate_upstream_calls_total",
            &["provider=\"metered\"", "outcome=\"ok\""]
        ) >= 1.0
    );
    assert!(
        value(
            &m,
            "widgetgate_upstream_duration_seconds_count",
            &["provider=\"metered\""]
        ) >= 1.0
    );
    assert!(value(&m, "widgetgate_cache_total", &["status=\"hit\""]) >= 1.0);
    assert!(value(&m, "widgetgate_cache_total", &["status=\"miss\""]) >= 1.0);
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let gw = Gateway::start(&root().join("tests/fixtures/valid/every_source.yaml")).await;
    let client = reqwest::Client::new();
    let resp = client
        .get(gw.url("/widgets.json"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = client
        .get(gw.url("/widgets.json"))
        .header("X-Request-Id", "bad id\twith junk")
        .send()
        .await
        .expect("get");
    let made = resp.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(!made.is_empty() && made != "bad id\twith junk");
    let other = gw.get("/widgets.json").await.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_ne!(made, other, "each request gets its own id");
}

#[tokio::test]
async fn json_logs_parse_carry_request_ids_and_no_secret() {
    const SECRET: &str = "sk-json-log-canary-55e1";
    let up = Upstream::start(|seen| {
        Canned::text(
            500,
            "text/plain",
            format!("bad key {}", seen.param("k").unwrap_or_default()),
        )
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, "providers:\n  p:\n    base_url: ${UP}\n    query: { k: \"${KEY}\" }\nwidgets:\n  t:\n    name: T\n    description: T\n    type: table\n    upstream: { provider: p, path: /t }\n").expect("write");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
        .args([
            "--config",
            path.to_str().expect("utf8"),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env("RUST_LOG", "debug")
        .env("UP", &up.base)
        .env("KEY", SECRET)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let base = format!("http://127.0.0.1:{port}");
    let resp = reqwest::Client::new()
        .get(format!("{base}/t"))
        .header("X-Request-Id", "trace-me-1")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 502);
    reqwest::get(format!("{base}/widgets.json"))
        .await
        .expect("get");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stderr = child.stderr.take().expect("stderr");
    let lines: Vec<String> = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .collect();
    let _ = child.wait();
    assert!(lines.len() >= 3, "{lines:?}");
    let mut saw_failure = false;
    for line in &lines {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("timestamp").is_some(),
            "{line}"
        );
        assert!(
            !line.contains(SECRET),
            "a log line leaked the secret: {line}"
        );
        if v["message"] == "request failed" {
            assert_eq!(v["request_id"], "trace-me-1", "{line}");
            saw_failure = true;
        }
    }
    assert!(saw_failure, "the failed request was logged: {lines:?}");
    assert!(
        up.seen()
            .iter()
            .any(|s| s.param("k").as_deref() == Some(SECRET)),
        "the secret was really used"
    );
}
