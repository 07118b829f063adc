//! HTTPS with the certificate `widgetgate cert` writes: a client trusting it is served over
//! HTTP/2 and HTTP/1.1 on 127.0.0.1 and localhost, a client that does not trust it is refused,
//! and plain HTTP on the HTTPS port does not disturb the server.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Gateway, HELLO_WIDGETS};

/// Runs `widgetgate cert --out dir` and returns what it printed.
fn write_cert(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_widgetgate"))
        .args(["cert", "--out"])
        .arg(dir)
        .output()
        .expect("run widgetgate cert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn trusting(cert_pem: &[u8], http1: bool) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(cert_pem).expect("PEM certificate");
    let mut builder = reqwest::Client::builder().add_root_certificate(cert);
    if http1 {
        builder = builder.http1_only();
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn serves_https_with_the_generated_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printed = write_cert(dir.path());
    let dir = std::fs::canonicalize(dir.path()).expect("abs");
    let (cert, key) = (
        dir.join("widgetgate-cert.pem"),
        dir.join("widgetgate-key.pem"),
    );
    let tls_lines = format!(
        "   server:\n     tls:\n       cert: {}\n       key: {}\n",
        cert.display(),
        key.display()
    );
    assert!(printed.contains(&tls_lines), "{printed}");
    for how in [
        "security add-trusted-cert",
        "certutil -addstore",
        "update-ca-certificates",
        "Firefox",
    ] {
        assert!(printed.contains(how), "no {how} in:\n{printed}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is readable by its owner only");
    }
    assert!(
        !Command::new(env!("CARGO_BIN_EXE_widgetgate"))
            .args(["cert", "--out"])
            .arg(&dir)
            .output()
            .expect("run")
            .status
            .success(),
        "an existing certificate is not overwritten"
    );

    let yaml = format!(
        "server:\n  tls: {{ cert: {}, key: widgetgate-key.pem }}\n{HELLO_WIDGETS}",
        cert.display()
    );
    let gw = Gateway::from_yaml(
        &yaml,
        &[("widgetgate-key.pem", &std::fs::read(&key).expect("key"))],
    )
    .await;
    assert!(gw.base.starts_with("https://"));
    let port = gw.addr().rsplit(':').next().expect("port").to_string();
    let pem = std::fs::read(&cert).expect("cert");
    for (http1, version) in [
        (false, reqwest::Version::HTTP_2),
        (true, reqwest::Version::HTTP_11),
    ] {
        for host in ["127.0.0.1", "localhost"] {
            let resp = trusting(&pem, http1)
                .get(format!("https://{host}:{port}/hello"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("https://{host}: {e}"));
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.version(), version);
            assert_eq!(resp.text().await.expect("body"), "\"# Hello\"");
        }
    }

    let untrusting = reqwest::Client::new().get(gw.url("/hello")).send().await;
    assert!(
        untrusting.is_err(),
        "a client that does not trust the certificate is refused"
    );
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/hello")).await;
    assert!(
        plain.is_err(),
        "plain HTTP on the HTTPS port gets no answer"
    );
    let resp = trusting(&pem, false)
        .get(gw.url("/hello"))
        .send()
        .await
        .expect("still served");
    assert_eq!(resp.status(), 200);
}
