//! No provider secret ever appears in a response or a log line: this runs every upstream
//! outcome (success, error statuses echoing the key, timeout, refused connection, oversized and
//! invalid bodies, a cross-host redirect, the rate limit, a stale answer) with all logs
//! captured at the most verbose level, and searches everything for the secret.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Gateway;
use serde_json::json;
use stand_in::{Canned, Upstream, refused_base};
use widgetgate::config::Env;

const SECRET: &str = "sk-leak-canary-93b1d7";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn config(base: &str) -> String {
    format!(
        "cache: {{ stale_if_error: 10s }}
providers:
  api:
    base_url: {base}/v1
    headers: {{ Authorization: \"Bearer ${{SECRET}}\" }}
    query: {{ apikey: \"${{SECRET}}\" }}
    timeout: 300ms
    rate_limit: 1/s
    rate_limit_wait: 0s
    max_body: 1KB
widgets:
  w:
    name: W
    description: W
    type: table
    params: [{{ paramName: case, value: ok, type: text }}]
    upstream: {{ provider: api, path: '/{{{{ case }}}}' }}
    cache: 200ms
  gone:
    name: G
    description: G
    type: table
    upstream: {{ provider: api, path: /x }}
"
    )
}

#[tokio::test]
async fn the_secret_appears_in_no_response_and_no_log_line() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let elsewhere = Upstream::start(|_| Canned::json(json!([]))).await;
    let target = elsewhere.base.replace("127.0.0.1", "localhost");
    let up = Upstream::start(move |seen| {
        let echo = format!(
            "bad key {} / {}",
            seen.param("apikey").unwrap_or_default(),
            seen.headers
                .get("authorization")
                .cloned()
                .unwrap_or_default()
        );
        match seen.path.as_str() {
            "/v1/ok" => Canned::json(json!([{"a": 1}])),
            "/v1/notfound" => Canned::text(404, "text/plain", echo),
            "/v1/servererror" => {
                Canned::text(500, "application/json", format!("{{\"msg\": \"{echo}\"}}"))
            }
            "/v1/slow" => Canned::json(json!([])).after(Duration::from_secs(2)),
            "/v1/big" => Canned::text(
                200,
                "application/json",
                format!("[\"{echo}{}\"]", "x".repeat(4000)),
            ),
            "/v1/invalid" => Canned::text(200, "application/json", format!("{{{echo}")),
            "/v1/redirect" => {
                let mut c = Canned::text(302, "text/plain", echo);
                c.headers.push((
                    "location",
                    format!("{target}/?k={}", seen.param("apikey").unwrap_or_default()),
                ));
                c
            }
            _ => Canned::text(
                200,
                "application/json",
                format!("{{\"not\": \"a table {echo}\"}}"),
            ),
        }
    })
    .await;

    let mut seen_text = String::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.yaml");
    std::fs::write(&path, config(&up.base)).expect("write");
    let gw = Gateway::start_with_env(&path, env()).await;
    for case in [
        "ok",
        "notfound",
        "servererror",
        "slow",
        "big",
        "invalid",
        "redirect",
        "shape",
        "ok",
        "ok",
    ] {
        tokio::time::sleep(Duration::from_millis(1100)).await; // past the rate limit and cache
        record(&mut seen_text, gw.get(&format!("/w?case={case}")).await).await;
    }
    // Rate limit and stale answers.
    record(&mut seen_text, gw.get("/w?case=ok").await).await;
    record(&mut seen_text, gw.get("/w?case=notfound").await).await;
    up.answer(|seen| {
        Canned::text(
            500,
            "text/plain",
            format!("down {}", seen.param("apikey").unwrap_or_default()),
        )
    });
    tokio::time::sleep(Duration::from_millis(1100)).await;
    record(&mut seen_text, gw.get("/w?case=ok").await).await;

    let refused = refused_base().await;
    std::fs::write(&path, config(&refused)).expect("write");
    let gw = Gateway::start_with_env(&path, env()).await;
    record(&mut seen_text, gw.get("/gone").await).await;

    let logs = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf8 logs");
    assert!(
        seen_text.contains("provider api answered 404"),
        "the scenarios ran:\n{seen_text}"
    );
    assert!(
        seen_text.contains("stale"),
        "a stale answer was served:\n{seen_text}"
    );
    assert!(logs.contains("request failed"), "logs were captured");
    assert!(
        up.seen()
            .iter()
            .any(|s| s.param("apikey").as_deref() == Some(SECRET)),
        "the secret was really sent upstream"
    );
    assert!(
        !seen_text.contains(SECRET),
        "a response leaked the secret:\n{seen_text}"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    for (i, line) in logs.lines().enumerate() {
        assert!(
            !line.contains(SECRET) && !line.contains(&encoded),
            "log line {i} leaked the secret: {line}"
        );
    }
}

fn env() -> Env {
    Env::Map(HashMap::from([("SECRET".to_string(), SECRET.to_string())]))
}

async fn record(out: &mut String, resp: reqwest::Response) {
    out.push_str(&format!("{} {:?}\n", resp.status(), resp.headers()));
    out.push_str(&resp.text().await.unwrap_or_default());
    out.push('\n');
}
