//! Shared test harness: the real gateway on 127.0.0.1, a real HTTP client, and Workspace's
//! answer-shape checks written independently of the gateway's own.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use widgetgate::arrivals::Arrivals;

/// A `widgets:` section with one static markdown widget, for tests about the server itself.
pub const HELLO_WIDGETS: &str = r##"
widgets:
  hello:
    name: Hello
    description: Hello
    type: markdown
    static: "# Hello"
"##;

/// A gateway serving one config on an ephemeral loopback port; stops when dropped.
pub struct Gateway {
    /// `http://127.0.0.1:PORT` (`https://` when the config has `server.tls`).
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    /// The folder of a config written by [`Gateway::from_yaml`], removed when dropped.
    dir: Option<tempfile::TempDir>,
}

impl Gateway {
    /// Loads `config` and serves it.
    pub async fn start(config: &Path) -> Gateway {
        Self::start_with_env(config, widgetgate::config::Env::Process).await
    }

    /// Loads `config` with `${VAR}`s resolved from `env` and serves it.
    pub async fn start_with_env(config: &Path, env: widgetgate::config::Env) -> Gateway {
        Self::start_adjusted(config, env, |_| {}).await
    }

    /// Serves `config` read with `env`, after `adjust` has changed its loaded snapshot.
    pub async fn start_adjusted(
        config: &Path,
        env: widgetgate::config::Env,
        adjust: impl FnOnce(&mut widgetgate::snapshot::Snapshot),
    ) -> Gateway {
        Self::serve(config, env, adjust, None).await
    }

    /// Serves `config` with the listener and every connection added to `arrivals`, as the
    /// binary does when its threads spin before sleeping.
    pub async fn start_watched(config: &Path, arrivals: Arc<Arrivals>) -> Gateway {
        Self::serve(
            config,
            widgetgate::config::Env::Process,
            |_| {},
            Some(arrivals),
        )
        .await
    }

    async fn serve(
        config: &Path,
        env: widgetgate::config::Env,
        adjust: impl FnOnce(&mut widgetgate::snapshot::Snapshot),
        arrivals: Option<Arc<Arrivals>>,
    ) -> Gateway {
        let shared = Arc::new(widgetgate::shared::Shared::with_env(env));
        let (mut snap, _warnings) = widgetgate::snapshot::load_with(config, &shared)
            .unwrap_or_else(|d| panic!("{} does not load:\n{d}", config.display()));
        adjust(&mut snap);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let scheme = if snap.tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(widgetgate::run(
            listener,
            widgetgate::store(snap),
            arrivals,
            async {
                let _ = stopped.await;
            },
        ));
        Gateway {
            base,
            stop: Some(stop),
            dir: None,
        }
    }

    /// Writes `yaml` as gateway.yaml in a new temporary folder (with `files` beside it) and
    /// serves it.
    pub async fn from_yaml(yaml: &str, files: &[(&str, &[u8])]) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write file");
        }
        let config = dir.path().join("gateway.yaml");
        std::fs::write(&config, yaml).expect("write config");
        let mut gw = Gateway::start(&config).await;
        gw.dir = Some(dir);
        gw
    }

    /// The `host:port` the gateway listens on.
    pub fn addr(&self) -> &str {
        self.base
            .split_once("://")
            .map_or(self.base.as_str(), |(_, a)| a)
    }

    /// The URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs `path` and returns the response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(self.url(path))
            .await
            .expect("request reaches the gateway")
    }

    /// GETs `path` and parses JSON, asserting 200.
    pub async fn json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("JSON body")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A loopback port that was free a moment ago, for a server process to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits (at most 10 s, blocking) until something accepts connections on 127.0.0.1:`port`.
pub fn wait_listening(port: u16) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "server did not start on port {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// OpenBB's reference data beside the repository.
pub fn reference_data() -> PathBuf {
    root().join("../shared/openbb-reference-data")
}

/// Every config the repository ships: gateway.yaml, examples/**/gateway.yaml,
/// deploy/**/gateway.yaml and the valid test fixtures.
pub fn shipped_configs() -> Vec<PathBuf> {
    let mut out = vec![root().join("gateway.yaml")];
    let mut stack = vec![root().join("examples"), root().join("deploy")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "gateway.yaml") {
                out.push(p);
            }
        }
    }
    for entry in std::fs::read_dir(root().join("tests/fixtures/valid"))
        .expect("fixtures")
        .flatten()
    {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "yaml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Checks an answer the way OpenBB's endpoint validator does (contract §9), plus the pdf and
/// html/youtube shapes of contract §4. Returns what is wrong.
pub fn check_answer(
    widget_type: &str,
    data_key: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(), String> {
    let text = || String::from_utf8(body.to_vec()).map_err(|_| "body is not UTF-8".to_string());
    match widget_type {
        "html" => {
            if !content_type.starts_with("text/html") {
                return Err(format!("html answered {content_type}"));
            }
            return text().map(|_| ());
        }
        "youtube" => {
            if !content_type.starts_with("text/plain") {
                return Err(format!("youtube answered {content_type}"));
            }
            return text().map(|_| ());
        }
        _ => {}
    }
    if !content_type.starts_with("application/json") {
        return Err(format!("{widget_type} answered {content_type}, not JSON"));
    }
    let whole: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut v = &whole;
    for part in data_key.split('.').filter(|p| !p.is_empty()) {
        v = v
            .get(part)
            .ok_or_else(|| format!("nothing at dataKey {data_key}"))?;
    }
    let records = |required: &[&str]| -> Result<(), String> {
        let items = v.as_array().ok_or("not a list")?;
        for item in items {
            let o = item.as_object().ok_or("an item is not an object")?;
            for k in required {
                if !o.contains_key(*k) {
                    return Err(format!("an item has no `{k}`"));
                }
            }
        }
        Ok(())
    };
    match widget_type {
        "table" | "live_grid" | "multi_file_viewer" => records(&[]),
        "metric" => records(&["label", "value"]),
        "newsfeed" => records(&["title"]),
        "markdown" | "note" => v.as_str().map(|_| ()).ok_or_else(|| "not a string".into()),
        "chart" => match v.as_object() {
            Some(o) if o.contains_key("data") || o.contains_key("layout") => Ok(()),
            _ => Err("not a Plotly figure".into()),
        },
        "chart-highcharts" | "chart-vegalite" => v
            .as_object()
            .map(|_| ())
            .ok_or_else(|| "not an object".into()),
        "pdf" => {
            let o = v.as_object().ok_or("not an object")?;
            let df = o
                .get("data_format")
                .and_then(Value::as_object)
                .ok_or("no data_format")?;
            if df.get("data_type").and_then(Value::as_str) != Some("pdf") {
                return Err("data_format.data_type is not pdf".into());
            }
            if let Some(c) = o.get("content").and_then(Value::as_str) {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(c)
                    .map_err(|e| format!("content is not base64: {e}"))?;
                if !bytes.starts_with(b"%PDF") {
                    return Err("content is not a PDF".into());
                }
                Ok(())
            } else if o.get("url").and_then(Value::as_str).is_some() {
                Ok(())
            } else {
                Err("neither content nor url".into())
            }
        }
        _ => Ok(()),
    }
}

/// Sends one GET on `stream` and reads its whole answer.
pub async fn ask(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    read_answer(stream).await
}

/// Reads one whole answer (head and `Content-Length` body) from `stream`.
pub async fn read_answer(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while answer_len(&got).is_none_or(|len| got.len() < len) {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        assert!(
            n > 0,
            "closed mid-answer: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).to_string()
}

/// The length of a response (head and `Content-Length` body) once its head is in `bytes`.
pub fn answer_len(bytes: &[u8]) -> Option<usize> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))?
        .trim()
        .parse::<usize>()
        .ok()?;
    Some(head_end + length)
}
