//! A real browser playing Workspace: headless Chromium opens a page served over HTTPS as
//! https://pro.openbb.co (a throwaway certificate, the name mapped to 127.0.0.1), and the page's
//! script calls the gateway cross-origin with `fetch()`, exactly as Workspace does. The page
//! must read widgets.json and a widget with the right key (CORS preflight for X-API-KEY
//! included) and read the `detail` of the 403 and 401 answers, which proves the CORS headers
//! are on errors too.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use common::Gateway;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const KEY: &str = "browser-test-key-5d1c7e";

/// How long Chromium may take in real time before the test gives up and kills it.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(120);

const GATEWAY: &str = r##"
auth:
  keys: ["sha256:DIGEST"]
widgets:
  hello:
    name: Hello
    description: Hello
    type: markdown
    params: [{ paramName: name, value: World, label: Name, type: text }]
    template: "# Hello {{ name }}"
"##;

/// The page Workspace would be: it calls the gateway and writes what it read, base64-encoded
/// JSON, into `#out`.
fn page(gateway: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><title>Workspace stand-in</title></head>
<body><pre id="out">pending</pre>
<script>
const GW = "{gateway}";
async function call(path, key) {{
  try {{
    const init = key === null ? {{}} : {{ headers: {{ "X-API-KEY": key }} }};
    const r = await fetch(GW + path, init);
    return {{ status: r.status, body: await r.json() }};
  }} catch (e) {{
    return {{ error: String(e) }};
  }}
}}
(async () => {{
  const out = {{
    origin: location.origin,
    widgets: await call("/widgets.json", "{KEY}"),
    hello: await call("/hello?name=Chromium", "{KEY}"),
    wrong: await call("/hello", "not-the-key"),
    missing: await call("/widgets.json", null),
  }};
  document.getElementById("out").textContent = btoa(JSON.stringify(out));
}})();
</script></body></html>"#
    )
}

/// Serves `html` over HTTPS on 127.0.0.1 with a throwaway certificate for pro.openbb.co;
/// returns the port.
async fn serve_page(html: String) -> u16 {
    let (cert_pem, key_pem) =
        widgetgate::tls::self_signed(&["pro.openbb.co"]).expect("throwaway certificate");
    let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("cert");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let html = Arc::new(html);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, html) = (acceptor.clone(), html.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = if head.starts_with(b"GET / ") {
                    ("200 OK", html.as_str())
                } else {
                    ("404 Not Found", "")
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// Runs headless Chromium on `url` with pro.openbb.co mapped to `page_port` and returns the
/// DOM it dumps. Chromium is killed if it outlives [`CHROMIUM_DEADLINE`].
fn dump_dom(url: &str, page_port: u16) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let binary = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("Chromium is installed (./scripts/test installs Debian's `chromium`)");
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!(
            "--host-resolver-rules=MAP pro.openbb.co:443 127.0.0.1:{page_port}"
        ))
        .args(["--virtual-time-budget=15000", "--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Chromium");
    let deadline = Instant::now() + CHROMIUM_DEADLINE;
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("Chromium did not finish within {CHROMIUM_DEADLINE:?}");
            }
        }
    }
    reader.join().unwrap_or_default()
}

/// What the page wrote into `#out`.
fn findings(dom: &str) -> Value {
    let start = dom
        .find("<pre id=\"out\">")
        .map(|i| i + "<pre id=\"out\">".len())
        .unwrap_or_else(|| panic!("no #out in the DOM:\n{dom}"));
    let text = &dom[start..];
    let text = &text[..text.find("</pre>").expect("end of #out")];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_else(|_| panic!("the page did not finish: #out is `{text}`"));
    serde_json::from_slice(&bytes).expect("JSON findings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_in_chromium_reads_data_and_error_details_cross_origin() {
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(KEY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let gw = Gateway::from_yaml(&GATEWAY.replace("DIGEST", &digest), &[]).await;
    let page_port = serve_page(page(&gw.base)).await;
    let dom = tokio::task::spawn_blocking(move || dump_dom("https://pro.openbb.co/", page_port))
        .await
        .expect("Chromium run");
    let found = findings(&dom);
    assert_eq!(found["origin"], "https://pro.openbb.co");
    assert_eq!(found["widgets"]["status"], 200, "{found:#}");
    assert_eq!(
        found["widgets"]["body"]["hello"]["name"], "Hello",
        "{found:#}"
    );
    assert_eq!(
        found["hello"],
        json!({"status": 200, "body": "# Hello Chromium"})
    );
    assert_eq!(
        found["wrong"],
        json!({"status": 403, "body": {"detail": "API key not accepted: check the key entered for this backend in Workspace"}})
    );
    assert_eq!(
        found["missing"],
        json!({"status": 401, "body": {"detail": "API key required: send it in the X-API-KEY header"}})
    );
}
