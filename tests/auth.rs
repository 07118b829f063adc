//! Client keys over real TCP: 401/403 with their details and CORS headers, every way a key can
//! be sent or written (header, query parameter, sha256 digest, `${ENV}`, `_FILE`), allow-lists,
//! rate limits with Retry-After, the fail-closed start, and that no key ever reaches a log line
//! or a response.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Gateway, free_port};
use serde_json::{Value, json};

const ORIGIN: &str = "https://pro.openbb.co";
const ALPHA: &str = "alpha-key-0123456789";
/// Configured below only as its digest: sha256("digest-key-0123456789").
const DIGEST_KEY: &str = "digest-key-0123456789";
const EQUITY: &str = "equity-key-0123456789";
const SLOW: &str = "slow-key-0123456789";

const WIDGETS: &str = r##"
widgets:
  equity_quote:
    name: Equity quote
    description: A quote
    type: markdown
    params: [{ paramName: symbol, value: AAPL, label: Symbol, type: text }]
    template: "# {{ symbol }}"
  equity_news:
    name: Equity news
    description: News
    type: newsfeed
    static: [{ title: Up, date: "2026-01-01", author: A, excerpt: e, body: b }]
  crypto_prices:
    name: Crypto prices
    description: Prices
    type: table
    static: [{ coin: BTC, price: 1 }]
apps:
  - name: Desk
    allowCustomization: true
    tabs:
      "": { id: "", name: "", layout: [{ i: equity_quote, x: 0, y: 0, w: 20, h: 10 }, { i: crypto_prices, x: 20, y: 0, w: 20, h: 10 }] }
    groups: []
    prompts: []
  - name: Crypto
    allowCustomization: true
    tabs:
      "": { id: "", name: "", layout: [{ i: crypto_prices, x: 0, y: 0, w: 20, h: 10 }] }
    groups: []
    prompts: []
"##;

fn config(auth: &str) -> String {
    format!("{auth}\n{WIDGETS}")
}

async fn gateway() -> Gateway {
    let auth = format!(
        r#"
auth:
  query_param: apikey
  keys:
    - {ALPHA}
    - sha256:e383623a3e1854bf338cf0af944ac72b4bd286fa4b7c240aa287951007fefd2d
    - {{ name: equity-desk, key: {EQUITY}, widgets: ["equity_*"] }}
    - {{ name: slow, key: {SLOW}, rate_limit: 2/m }}
"#
    );
    Gateway::from_yaml(&config(&auth), &[]).await
}

/// What a test looks at in an answer.
struct Answer {
    status: u16,
    body: Value,
    allow_origin: Option<String>,
    retry_after: Option<String>,
}

/// The `Retry-After` header in whole seconds.
fn retry_after(a: &Answer) -> u64 {
    a.retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After in seconds")
}

async fn get(gw: &Gateway, path: &str, key: Option<&str>) -> Answer {
    get_with(gw, path, key.map(|k| ("X-API-KEY", k))).await
}

async fn get_with(gw: &Gateway, path: &str, header: Option<(&str, &str)>) -> Answer {
    let mut req = reqwest::Client::new()
        .get(gw.url(path))
        .header("Origin", ORIGIN);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    let resp = req.send().await.expect("the gateway answers");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let allow_origin = header("access-control-allow-origin");
    let retry_after = header("retry-after");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        body,
        allow_origin,
        retry_after,
    }
}

#[tokio::test]
async fn a_missing_key_is_a_401_naming_the_header_and_readable_cross_origin() {
    let gw = gateway().await;
    for path in [
        "/",
        "/widgets.json",
        "/apps.json",
        "/equity_quote",
        "/nowhere",
    ] {
        let a = get(&gw, path, None).await;
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(
            a.body,
            json!({"detail": "API key required: send it in the X-API-KEY header or the `apikey` query parameter"})
        );
        assert_eq!(a.allow_origin.as_deref(), Some(ORIGIN), "{path}");
    }
    let a = get(&gw, "/widgets.json", Some("")).await;
    assert_eq!(a.status, 401, "an empty key is a missing key");
}

#[tokio::test]
async fn a_wrong_key_is_a_403_with_cors_headers() {
    let gw = gateway().await;
    for wrong in [
        "nope",
        &ALPHA[..ALPHA.len() - 1],
        &format!("{ALPHA}x"),
        "e383623a3e1854bf",
    ] {
        let a = get(&gw, "/widgets.json", Some(wrong)).await;
        assert_eq!(a.status, 403, "{wrong}");
        assert_eq!(
            a.body,
            json!({"detail": "API key not accepted: check the key entered for this backend in Workspace"})
        );
        assert_eq!(a.allow_origin.as_deref(), Some(ORIGIN));
    }
    let a = get(&gw, "/widgets.json?apikey=nope", None).await;
    assert_eq!(a.status, 403, "a wrong key in the query is refused too");
}

#[tokio::test]
async fn keys_open_everything_and_some_paths_need_none() {
    let gw = gateway().await;
    for key in [ALPHA, DIGEST_KEY] {
        let widgets = get(&gw, "/widgets.json", Some(key)).await;
        assert_eq!(widgets.status, 200);
        assert_eq!(widgets.allow_origin.as_deref(), Some(ORIGIN));
        let ids: Vec<&String> = widgets.body.as_object().expect("object").keys().collect();
        assert_eq!(ids, ["equity_quote", "equity_news", "crypto_prices"]);
        assert_eq!(get(&gw, "/", Some(key)).await.status, 200);
        assert_eq!(
            get(&gw, "/apps.json", Some(key))
                .await
                .body
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        let quote = get(&gw, "/equity_quote?symbol=MSFT", Some(key)).await;
        assert_eq!((quote.status, quote.body), (200, json!("# MSFT")));
    }
    // Health checks and CORS preflights never need a key.
    assert_eq!(get(&gw, "/healthz", None).await.status, 200);
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, gw.url("/widgets.json"))
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-api-key")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "x-api-key"
    );
}

#[tokio::test]
async fn the_key_can_come_as_a_query_parameter() {
    let gw = gateway().await;
    let a = get(
        &gw,
        &format!("/equity_quote?symbol=TSLA&apikey={ALPHA}"),
        None,
    )
    .await;
    assert_eq!((a.status, a.body), (200, json!("# TSLA")));
    let a = get(&gw, &format!("/widgets.json?apikey={DIGEST_KEY}"), None).await;
    assert_eq!(a.status, 200);
    let encoded = DIGEST_KEY.replace('-', "%2D");
    let a = get(&gw, &format!("/widgets.json?apikey={encoded}"), None).await;
    assert_eq!(a.status, 200, "a percent-encoded key is decoded first");
    let a = get(&gw, "/widgets.json?apikey=digest%2Dkey", None).await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn a_custom_header_is_named_in_the_401_and_takes_bearer_tokens() {
    let auth = format!("auth:\n  header: Authorization\n  keys: [{ALPHA}]\n");
    let gw = Gateway::from_yaml(&config(&auth), &[]).await;
    let a = get(&gw, "/widgets.json", Some(ALPHA)).await;
    assert_eq!(a.status, 401, "X-API-KEY is not the configured header");
    assert_eq!(
        a.body["detail"],
        "API key required: send it in the Authorization header"
    );
    let bearer = format!("Bearer {ALPHA}");
    let a = get_with(&gw, "/widgets.json", Some(("Authorization", &bearer))).await;
    assert_eq!(a.status, 200);
    let a = get_with(&gw, "/widgets.json", Some(("Authorization", ALPHA))).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn an_allow_list_filters_both_documents_and_refuses_other_widgets() {
    let gw = gateway().await;
    let widgets = get(&gw, "/widgets.json", Some(EQUITY)).await;
    let ids: Vec<&String> = widgets.body.as_object().expect("object").keys().collect();
    assert_eq!(ids, ["equity_quote", "equity_news"]);
    let apps = get(&gw, "/apps.json", Some(EQUITY)).await;
    assert_eq!(
        apps.body,
        json!([{"name": "Desk", "allowCustomization": true,
                "tabs": {"": {"id": "", "name": "", "layout": [{"i": "equity_quote", "x": 0, "y": 0, "w": 20, "h": 10}]}},
                "groups": [], "prompts": []}]),
        "the crypto widget and the app left empty are gone"
    );
    assert_eq!(get(&gw, "/equity_news", Some(EQUITY)).await.status, 200);
    let refused = get(&gw, "/crypto_prices", Some(EQUITY)).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body,
        json!({"detail": "this API key may not use widget `crypto_prices`"})
    );
    assert_eq!(refused.allow_origin.as_deref(), Some(ORIGIN));
    assert_eq!(get(&gw, "/crypto_prices", Some(ALPHA)).await.status, 200);
}

#[tokio::test]
async fn each_key_has_its_own_rate_and_429_says_when_to_retry() {
    let gw = gateway().await;
    assert_eq!(get(&gw, "/equity_quote", Some(SLOW)).await.status, 200);
    assert_eq!(get(&gw, "/widgets.json", Some(SLOW)).await.status, 200);
    let limited = get(&gw, "/equity_quote", Some(SLOW)).await;
    assert_eq!(limited.status, 429);
    let secs = retry_after(&limited);
    assert!(
        (20..=30).contains(&secs),
        "2/m refills one request every 30 s, got {secs}"
    );
    assert_eq!(
        limited.body,
        json!({"detail": format!("too many requests for this API key: at most 2/m; retry in {secs} s")})
    );
    assert_eq!(limited.allow_origin.as_deref(), Some(ORIGIN));
    // Another key is not affected.
    assert_eq!(get(&gw, "/equity_quote", Some(ALPHA)).await.status, 200);
}

#[tokio::test]
async fn addresses_without_a_valid_key_are_limited_but_keys_are_not() {
    let auth = format!("server:\n  limits: {{ per_ip: 2/h }}\nauth:\n  keys: [{ALPHA}]\n");
    let gw = Gateway::from_yaml(&config(&auth), &[]).await;
    assert_eq!(get(&gw, "/widgets.json", Some("guess-1")).await.status, 403);
    assert_eq!(get(&gw, "/widgets.json", None).await.status, 401);
    let limited = get(&gw, "/widgets.json", Some("guess-3")).await;
    assert_eq!(limited.status, 429, "key guessing is slowed down");
    let secs = retry_after(&limited);
    assert!(
        (1790..=1800).contains(&secs),
        "2/h refills every 30 min, got {secs}"
    );
    assert_eq!(
        limited.body["detail"],
        format!("too many requests from your address: at most 2/h; retry in {secs} s")
    );
    assert_eq!(limited.allow_origin.as_deref(), Some(ORIGIN));
    for _ in 0..5 {
        assert_eq!(get(&gw, "/widgets.json", Some(ALPHA)).await.status, 200);
    }
}

#[tokio::test]
async fn without_auth_every_request_counts_for_its_address() {
    let gw = Gateway::from_yaml(&config("server:\n  limits: { per_ip: 3/m }\n"), &[]).await;
    for _ in 0..3 {
        assert_eq!(get(&gw, "/equity_quote", None).await.status, 200);
    }
    let limited = get(&gw, "/widgets.json", None).await;
    assert_eq!(limited.status, 429);
    let secs = retry_after(&limited);
    assert!(
        (10..=20).contains(&secs),
        "3/m refills every 20 s, got {secs}"
    );
    assert_eq!(
        get(&gw, "/healthz", None).await.status,
        200,
        "health checks are never limited"
    );
}

// ---- the binary: environment, secret files, fail-closed start, logs ----

/// The binary serving `config` on a free loopback port with `env`, logging at debug level.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(config: &Path, env: &[(&str, &str)]) -> Served {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_widgetgate"));
        cmd.args(["--config", &config.to_string_lossy(), "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn widgetgate");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("widgetgate exited with {status}");
            }
            assert!(Instant::now() < deadline, "widgetgate did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Stops the server and returns everything it logged.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let out = wait_output(&mut self.child);
        strip_ansi(&String::from_utf8_lossy(&out))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_output(child: &mut Child) -> Vec<u8> {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("widgetgate did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = Vec::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut out);
    }
    out
}

/// `text` without terminal colour codes.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn write_config(dir: &Path, auth: &str) -> std::path::PathBuf {
    let path = dir.join("gateway.yaml");
    std::fs::write(&path, config(auth)).expect("write config");
    path
}

/// Status and whole text (headers and body) of a GET.
async fn fetch(url: &str, header: Option<(&str, &str)>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url).header("Origin", ORIGIN);
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let resp = req.send().await.expect("answer");
    let status = resp.status().as_u16();
    let headers = format!("{:?}", resp.headers());
    let body = resp.text().await.unwrap_or_default();
    (status, format!("{headers}\n{body}"))
}

#[tokio::test]
async fn env_lists_and_secret_files_provide_keys_and_nothing_leaks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from_env = ["env-secret-one-7f3a9c", "env-secret-two-51be08"];
    let from_file = "file-secret-three-c0ffee";
    let wrong = "wrong-secret-guess-9d2e11";
    let secret_file = dir.path().join("desk-key");
    std::fs::write(&secret_file, format!("{from_file}\n")).expect("secret file");
    let config = write_config(
        dir.path(),
        "auth:\n  query_param: apikey\n  keys:\n    - \"${VALID_API_KEYS}\"\n    - { name: desk, key: \"${DESK_KEY}\", widgets: [equity_*] }\n",
    );
    let joined = from_env.join(",");
    let file_var = secret_file.to_string_lossy().to_string();
    let served = Served::start(
        &config,
        &[
            ("VALID_API_KEYS", joined.as_str()),
            ("DESK_KEY_FILE", file_var.as_str()),
        ],
    );
    let base = served.base.clone();
    let mut seen = String::new();
    for key in from_env.iter().chain([&from_file]) {
        let (status, text) = fetch(&format!("{base}/widgets.json"), Some(("X-API-KEY", key))).await;
        assert_eq!(status, 200, "{key} is a valid key");
        seen.push_str(&text);
        let (status, text) = fetch(&format!("{base}/equity_quote?apikey={key}"), None).await;
        assert_eq!(status, 200);
        seen.push_str(&text);
    }
    let (status, text) = fetch(
        &format!("{base}/crypto_prices"),
        Some(("X-API-KEY", from_file)),
    )
    .await;
    assert_eq!(
        status, 403,
        "the file's key is desk's, and desk sees equity widgets only"
    );
    seen.push_str(&text);
    let (status, text) = fetch(&format!("{base}/widgets.json?apikey={wrong}"), None).await;
    assert_eq!(status, 403);
    seen.push_str(&text);
    let (status, text) = fetch(&format!("{base}/widgets.json"), Some(("X-API-KEY", wrong))).await;
    assert_eq!(status, 403);
    seen.push_str(&text);
    let logs = served.stop();
    assert!(
        logs.contains("client=desk"),
        "logs name the client:\n{logs}"
    );
    assert!(
        logs.contains("client=key-2"),
        "unnamed keys get stable names:\n{logs}"
    );
    for secret in from_env.iter().chain([&from_file, &wrong]) {
        assert!(!logs.contains(secret), "a key reached the logs:\n{logs}");
        assert!(!seen.contains(secret), "a key reached a response:\n{seen}");
    }
}

#[test]
fn an_auth_section_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), "auth:\n  keys: [\"${VALID_API_KEYS}\"]\n");
    for env in [
        vec![],
        vec![("VALID_API_KEYS", "")],
        vec![("VALID_API_KEYS", " , ")],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_widgetgate"));
        cmd.args([
            "--config",
            &config.to_string_lossy(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("VALID_API_KEYS")
        .env_remove("VALID_API_KEYS_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn");
        let out = String::from_utf8_lossy(&wait_output(&mut child)).to_string();
        assert_eq!(
            child.wait().expect("status").code(),
            Some(1),
            "{env:?}: {out}"
        );
        assert!(
            out.contains("gateway.yaml:2:9: error: `auth.keys` resolved to no key"),
            "{env:?}: {out}"
        );
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_widgetgate"));
    let missing = dir.path().join("absent");
    cmd.args(["check", &config.to_string_lossy()])
        .env("VALID_API_KEYS_FILE", &missing)
        .env_remove("VALID_API_KEYS");
    let out = cmd.output().expect("check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains(&format!(
            "error: VALID_API_KEYS_FILE names {}, which cannot be read",
            missing.display()
        )),
        "{text}"
    );
}

#[test]
fn listening_beyond_loopback_without_auth_is_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (auth, warned) in [("", true), ("auth:\n  keys: [\"${K}\"]\n", false)] {
        let config = write_config(dir.path(), auth);
        let mut child = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
            .args([
                "--config",
                &config.to_string_lossy(),
                "--listen",
                "0.0.0.0:0",
            ])
            .env("K", ALPHA)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let out = String::from_utf8_lossy(&wait_output(&mut child)).to_string();
        assert!(out.contains("serving"), "{out}");
        assert_eq!(out.contains("without `auth:`"), warned, "{out}");
    }
}

/// The first ```yaml block after `heading` in the README.
fn readme_yaml(heading: &str) -> widgetgate::yaml::Node {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let section = &readme[readme.find(heading).expect("heading")..];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let block = &section[start..];
    widgetgate::yaml::parse(&block[..block.find("```").expect("block end")]).expect("YAML")
}

#[test]
fn the_readme_auth_example_is_valid() {
    let node = readme_yaml("## Client keys: `auth`");
    let env = |name: &str| match name {
        "VALID_API_KEYS" => Some("one,two".to_string()),
        "EQUITY_DESK_KEY" => Some("desk-old,desk-new".to_string()),
        _ => None,
    };
    let mut diags = widgetgate::diag::Diagnostics::default();
    let auth = widgetgate::config::auth::parse(
        node.get("auth").expect("auth"),
        Path::new("README.md"),
        &env,
        &mut diags,
    )
    .expect("auth section");
    assert!(diags.is_empty(), "{diags}");
    let clients: Vec<(&str, usize)> = auth
        .clients
        .iter()
        .map(|c| (c.name.as_str(), c.keys.len()))
        .collect();
    assert_eq!(
        clients,
        [("key-1", 1), ("key-2", 1), ("key-3", 1), ("equity-desk", 2)]
    );
    assert_eq!(auth.query_param.as_deref(), Some("apikey"));
}
