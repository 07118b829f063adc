//! Request limits over raw TCP: oversized headers and bodies, clients that trickle their
//! headers, and the connection cap. Each misbehaving client gets a 4xx or is closed, and a
//! well-behaved client is still served.

mod common;
#[path = "common/upstream.rs"]
mod stand_in;

use std::time::{Duration, Instant};

use common::{Gateway, HELLO_WIDGETS, answer_len, ask};
use serde_json::{Value, json};
use stand_in::{Canned, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn gateway(limits: &str) -> Gateway {
    Gateway::from_yaml(
        &format!("server:\n  limits: {limits}\n{HELLO_WIDGETS}"),
        &[],
    )
    .await
}

/// A well-behaved client's answer.
async fn hello(gw: &Gateway) -> u16 {
    reqwest::get(gw.url("/hello"))
        .await
        .expect("the gateway answers")
        .status()
        .as_u16()
}

/// Everything the server sends until it closes the connection (or `within` passes).
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&out).to_string())
}

#[tokio::test]
async fn oversized_headers_get_a_431_and_others_are_served() {
    let gw = gateway("{}").await;
    let mut stream = TcpStream::connect(gw.addr()).await.expect("connect");
    let big = "a".repeat(100 * 1024);
    let request = format!("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let answer = read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the server closes the connection");
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(hello(&gw).await, 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_with_a_detail() {
    let gw = gateway("{ max_body: 1KiB }").await;
    let resp = reqwest::Client::new()
        .post(gw.url("/hello"))
        .header("Origin", "https://pro.openbb.co")
        .body(vec![b'x'; 2048])
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://pro.openbb.co"
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body,
        json!({"detail": "the request body is larger than this backend accepts (1024 bytes)"})
    );
    // Declaring a huge body is enough; the server does not wait for it.
    let mut stream = TcpStream::connect(gw.addr()).await.expect("connect");
    stream
        .write_all(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer before any body byte")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 413"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert_eq!(hello(&gw).await, 200);
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let gw = gateway("{ header_timeout: 1s }").await;
    let mut slow = TcpStream::connect(gw.addr()).await.expect("connect");
    let started = Instant::now();
    let trickle = async {
        slow.write_all(b"GET /hello HTTP/1.1\r\n").await?;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            slow.write_all(b"X-Slow: 1\r\n").await?;
        }
    };
    let result: std::io::Result<()> = tokio::select! {
        r = trickle => r,
        () = tokio::time::sleep(Duration::from_secs(10)) => Ok(()),
    };
    let cut_off = started.elapsed();
    assert!(
        result.is_err(),
        "the server never closed the trickling connection"
    );
    assert!(
        cut_off < Duration::from_secs(5),
        "closed only after {cut_off:?}"
    );
    assert_eq!(hello(&gw).await, 200);
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_header_timeout() {
    let gw = gateway("{ header_timeout: 1s }").await;
    // Silent from the start, stalled inside the HTTP/2 preface, and idle after a request.
    let mut silent = TcpStream::connect(gw.addr()).await.expect("connect");
    let mut preface = TcpStream::connect(gw.addr()).await.expect("connect");
    preface.write_all(b"PRI").await.expect("write");
    let mut kept = TcpStream::connect(gw.addr()).await.expect("connect");
    kept.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 4096];
    let n = kept.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    for (name, stream) in [
        ("silent", &mut silent),
        ("preface", &mut preface),
        ("kept", &mut kept),
    ] {
        let closed = read_to_close(stream, Duration::from_secs(5)).await;
        assert_eq!(
            closed.as_deref(),
            Some(""),
            "the {name} connection stayed open"
        );
    }
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(4),
        "closed only after {waited:?}"
    );
}

#[tokio::test]
async fn a_connection_that_keeps_asking_outlives_the_header_timeout() {
    let gw = gateway("{ header_timeout: 1s }").await;
    let mut stream = TcpStream::connect(gw.addr()).await.expect("connect");
    // Nine requests 300 ms apart: 2.4 s on one connection with a 1 s timeout.
    for i in 0..9 {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let answer = ask(&mut stream, "/hello").await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "request {i}: {answer:?}"
        );
    }
    // Idle time counts from the last answer.
    let answered = Instant::now();
    let closed = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(
        closed.as_deref(),
        Some(""),
        "the idle connection stayed open"
    );
    let idle = answered.elapsed();
    assert!(
        idle >= Duration::from_millis(900) && idle < Duration::from_secs(3),
        "closed {idle:?} after the last answer"
    );
}

#[tokio::test]
async fn an_answer_slower_than_the_header_timeout_is_delivered() {
    let up =
        Upstream::start(|_| Canned::json(json!([{"a": 1}])).after(Duration::from_millis(1600)))
            .await;
    let yaml = format!(
        "server:\n  limits: {{ header_timeout: 1s }}\nproviders:\n  api: {{ base_url: '{}' }}\nwidgets:\n  slow:\n    name: Slow\n    description: A slow upstream\n    type: table\n    upstream: {{ provider: api, path: /rows }}\n",
        up.base
    );
    let gw = Gateway::from_yaml(&yaml, &[]).await;
    let mut stream = TcpStream::connect(gw.addr()).await.expect("connect");
    let started = Instant::now();
    let answer = ask(&mut stream, "/slow").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.ends_with(r#"[{"a":1}]"#), "{answer:?}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // And once answered, the connection is idle like any other.
    let answered = Instant::now();
    let closed = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(closed.as_deref(), Some(""));
    assert!(answered.elapsed() >= Duration::from_millis(900));
}

/// A gateway whose `/big` answers `text` as a markdown widget, with `header_timeout`.
async fn big_answer(text: &str, header_timeout: &str) -> Gateway {
    Gateway::from_yaml(
        &format!(
            "server:\n  limits: {{ header_timeout: {header_timeout} }}\nwidgets:\n  big:\n    name: Big\n    description: A large document\n    type: markdown\n    file: big.md\n"
        ),
        &[("big.md", text.as_bytes())],
    )
    .await
}

#[tokio::test]
async fn a_large_answer_to_a_slow_reader_arrives_whole() {
    // 9 MB: more than the sockets' buffers hold, so the server waits on the reader for longer
    // than the header timeout (the reader takes about 3.5 s).
    let text = "a slow reader ".repeat(650_000);
    let gw = big_answer(&text, "2s").await;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(16 * 1024)
        .expect("small receive buffer");
    let addr = gw.addr().parse().expect("address");
    let mut stream = socket.connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let expected_len = loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("bytes within 5 s")
            .expect("read");
        got.extend_from_slice(&buf[..n]);
        let whole = answer_len(&got);
        if n == 0 || whole.is_some_and(|len| got.len() >= len) {
            break whole;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let took = started.elapsed();
    let expected_len = expected_len.expect("a complete head");
    assert_eq!(
        got.len(),
        expected_len,
        "the answer was cut off after {took:?}"
    );
    assert!(
        took > Duration::from_millis(2500),
        "read in {took:?}: not slow enough to test the timeout"
    );
    assert!(got.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn a_client_that_stops_reading_an_answer_is_closed() {
    let text = "an unread answer ".repeat(400_000);
    let gw = big_answer(&text, "1s").await;
    let mut stream = TcpStream::connect(gw.addr()).await.expect("connect");
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    // Nothing read for 2.5 s: the server's writes wait, with no progress, past the timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let started = Instant::now();
    let read = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let partial = read.expect("the server closed the stalled connection");
    assert!(
        partial.starts_with("HTTP/1.1 200"),
        "{:?}",
        &partial[..40.min(partial.len())]
    );
    let whole = answer_len(partial.as_bytes()).expect("a complete head");
    assert!(
        partial.len() < whole,
        "the whole answer arrived ({whole} bytes) after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_are_closed_and_slots_come_back() {
    let gw = gateway("{ max_connections: 2, header_timeout: 2s }").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(gw.addr()).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(gw.addr())
        .await
        .expect("the kernel accepts");
    let _ = third
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_to_close(&mut third, Duration::from_secs(1)).await;
    assert_eq!(answer.as_deref(), Some(""), "closed without an answer");
    // The held connections never send a request: the server frees their slots itself.
    for stream in &mut held {
        let closed = read_to_close(stream, Duration::from_secs(5)).await;
        assert_eq!(
            closed.as_deref(),
            Some(""),
            "a silent connection kept its slot"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hello(&gw).await, 200, "a freed slot serves the next client");
}

#[test]
fn the_readme_limits_are_the_defaults() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README");
    let section = &readme[readme.find("## Limits and HTTPS").expect("heading")..];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let block = &section[start..];
    let node = widgetgate::yaml::parse(&block[..block.find("```").expect("end")]).expect("YAML");
    let mut diags = widgetgate::diag::Diagnostics::default();
    let limits = widgetgate::config::limits::parse(
        node.get("server")
            .and_then(|s| s.get("limits"))
            .expect("server.limits"),
        std::path::Path::new("README.md"),
        &mut diags,
    );
    assert!(diags.is_empty(), "{diags}");
    assert_eq!(limits, widgetgate::config::limits::Limits::default());
}
