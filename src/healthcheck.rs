//! `widgetgate healthcheck`: one HTTP/1.1 GET of the running server's `/healthz`, for container
//! health checks in images that have no shell and no curl.
//!
//! This module belongs to the binary (declared in `main.rs`), not to the library: it is a plain
//! blocking client over [`std::net::TcpStream`] with a total deadline, so it needs no runtime and
//! no extra dependency. It speaks only `http://`: a health check talks to the server's own plain
//! port from inside its container or pod.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use url::{Host, Position, Url};

/// The port the server listens on when neither `--listen` nor `server.listen` says otherwise.
pub const DEFAULT_PORT: u16 = 7779;

/// The path a health check asks for.
pub const HEALTH_PATH: &str = "/healthz";

/// How much of an answer is read at most: the status line and headers of `/healthz` are small,
/// and a body is only quoted in the error message.
const MAX_ANSWER: usize = 16 * 1024;

/// How much of an unexpected answer's body the error message quotes.
const QUOTED_BODY: usize = 200;

/// Why the server is not healthy, or why it could not be asked.
#[derive(Debug)]
pub enum Unhealthy {
    /// The URL cannot be used (its text and what is wrong with it).
    BadUrl(String, String),
    /// The host name does not resolve.
    Resolve(String, io::Error),
    /// No address of the host accepted a connection (the last error).
    Connect(String, io::Error),
    /// Sending the request or reading the answer failed.
    Io(String, io::Error),
    /// No complete answer arrived within the timeout.
    Timeout(String, Duration),
    /// The answer is not HTTP.
    NotHttp(String, String),
    /// The server answered, with another status than 200 (the status line and the start of
    /// the body).
    Status(String, String, String),
}

impl fmt::Display for Unhealthy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unhealthy::BadUrl(url, why) => write!(f, "cannot check `{url}`: {why}"),
            Unhealthy::Resolve(url, e) => write!(f, "{url}: the host does not resolve: {e}"),
            Unhealthy::Connect(url, e) => write!(f, "{url}: cannot connect: {e}"),
            Unhealthy::Io(url, e) => write!(f, "{url}: {e}"),
            Unhealthy::Timeout(url, t) => write!(
                f,
                "{url}: no answer within {}",
                humantime::format_duration(*t)
            ),
            Unhealthy::NotHttp(url, start) => {
                write!(f, "{url}: the answer is not HTTP: `{start}`")
            }
            Unhealthy::Status(url, status, body) if body.is_empty() => {
                write!(f, "{url} answered `{status}`")
            }
            Unhealthy::Status(url, status, body) => {
                write!(f, "{url} answered `{status}`: {body}")
            }
        }
    }
}

impl std::error::Error for Unhealthy {}

/// The URL checked by default: `/healthz` on the port of `listen` (or [`DEFAULT_PORT`]), at the
/// listen address itself, or at the loopback address of its family when it listens on every
/// interface (`0.0.0.0`, `[::]`).
pub fn default_url(listen: Option<SocketAddr>) -> String {
    let addr = listen.unwrap_or(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        DEFAULT_PORT,
    ));
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}{HEALTH_PATH}", SocketAddr::new(ip, addr.port()))
}

/// GETs `url` and succeeds with the status line when the answer is `200`. The whole exchange
/// (resolving, connecting, sending, reading the status and headers) has `timeout`.
pub fn check(url: &str, timeout: Duration) -> Result<String, Unhealthy> {
    let deadline = Instant::now() + timeout;
    let parsed = Url::parse(url).map_err(|e| Unhealthy::BadUrl(url.into(), e.to_string()))?;
    if parsed.scheme() != "http" {
        return Err(Unhealthy::BadUrl(
            url.into(),
            format!(
                "only http:// is supported, not {}:// (check the server's plain port from inside its container)",
                parsed.scheme()
            ),
        ));
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match parsed.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => (name, port)
            .to_socket_addrs()
            .map_err(|e| Unhealthy::Resolve(url.into(), e))?
            .collect(),
        None => return Err(Unhealthy::BadUrl(url.into(), "it has no host".into())),
    };
    let authority = &parsed[Position::BeforeHost..Position::AfterPort];
    let target = &parsed[Position::BeforePath..Position::AfterQuery];
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: widgetgate-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );

    let mut stream = connect(url, &addrs, deadline, timeout)?;
    let io_err = |e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            Unhealthy::Timeout(url.into(), timeout)
        } else {
            Unhealthy::Io(url.into(), e)
        }
    };
    stream
        .set_write_timeout(Some(remaining(deadline, url, timeout)?))
        .map_err(io_err)?;
    stream.write_all(request.as_bytes()).map_err(io_err)?;

    let mut answer = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&answer, b"\r\n\r\n") {
            break end;
        }
        if answer.len() >= MAX_ANSWER {
            return Err(Unhealthy::NotHttp(url.into(), quote(&answer)));
        }
        stream
            .set_read_timeout(Some(remaining(deadline, url, timeout)?))
            .map_err(io_err)?;
        let n = stream.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            if answer.is_empty() {
                return Err(Unhealthy::Io(
                    url.into(),
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection without answering",
                    ),
                ));
            }
            break answer.len();
        }
        answer.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let status_line = head.lines().next().unwrap_or_default().trim().to_string();
    let code = status_code(&status_line)
        .ok_or_else(|| Unhealthy::NotHttp(url.into(), quote(status_line.as_bytes())))?;
    if code == 200 {
        return Ok(status_line);
    }
    // Quote what arrived of the body (e.g. a `{"detail": ...}`), reading a little more until the
    // server closes or the deadline passes; the verdict does not depend on it.
    while answer.len() < head_end + 4 + QUOTED_BODY {
        let Ok(left) = remaining(deadline, url, timeout) else {
            break;
        };
        if stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => answer.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let body = answer.get(head_end + 4..).unwrap_or_default();
    Err(Unhealthy::Status(url.into(), status_line, quote(body)))
}

/// Connects to the first address that accepts within the deadline.
fn connect(
    url: &str,
    addrs: &[SocketAddr],
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, Unhealthy> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        let left = remaining(deadline, url, timeout)?;
        match TcpStream::connect_timeout(addr, left) {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                return Err(Unhealthy::Timeout(url.into(), timeout));
            }
            Err(e) => last = io::Error::new(e.kind(), format!("{addr}: {e}")),
        }
    }
    Err(Unhealthy::Connect(url.into(), last))
}

/// The time left before `deadline`, or the timeout error once it has passed.
fn remaining(deadline: Instant, url: &str, timeout: Duration) -> Result<Duration, Unhealthy> {
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left),
        _ => Err(Unhealthy::Timeout(url.into(), timeout)),
    }
}

/// The status code of an HTTP/1.x status line, like `HTTP/1.1 200 OK`.
fn status_code(line: &str) -> Option<u16> {
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// At most [`QUOTED_BODY`] bytes of `bytes` as one line of text.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTED_BODY)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn default_url_follows_the_listen_address() {
        assert_eq!(default_url(None), "http://127.0.0.1:7779/healthz");
        let at = |s: &str| default_url(Some(s.parse().expect("address")));
        assert_eq!(at("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz");
        assert_eq!(at("[::]:7779"), "http://[::1]:7779/healthz");
        assert_eq!(at("10.1.2.3:9000"), "http://10.1.2.3:9000/healthz");
        assert_eq!(at("[fd00::5]:7779"), "http://[fd00::5]:7779/healthz");
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_code("HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(status_code("HTTP/1.1 200"), Some(200));
        assert_eq!(status_code("SSH-2.0-OpenSSH_9.2"), None);
        assert_eq!(status_code("HTTP/1.1 20 OK"), None);
        assert_eq!(status_code(""), None);
    }

    /// A one-shot server that answers `answer` to the first request.
    fn answer_once(answer: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(answer);
            }
        });
        format!("http://{addr}/healthz")
    }

    #[test]
    fn a_200_is_healthy_and_anything_else_names_the_status_and_body() {
        let url = answer_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(
            check(&url, Duration::from_secs(3)).expect("healthy"),
            "HTTP/1.1 200 OK"
        );
        let url = answer_once(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 25\r\n\r\n{\"detail\": \"not loaded\"}\n",
        );
        let err = check(&url, Duration::from_secs(3))
            .expect_err("503 is unhealthy")
            .to_string();
        assert!(err.contains("HTTP/1.1 503 Service Unavailable"), "{err}");
        assert!(err.contains("not loaded"), "{err}");
        let url = answer_once(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
        let err = check(&url, Duration::from_secs(3)).expect_err("not HTTP");
        assert!(matches!(err, Unhealthy::NotHttp(..)), "{err}");
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/healthz", listener.local_addr().expect("addr"));
        let started = Instant::now();
        let err = check(&url, Duration::from_millis(300)).expect_err("silent");
        assert!(matches!(err, Unhealthy::Timeout(..)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3), "{err}");
        assert!(err.to_string().contains("no answer within 300ms"), "{err}");
        drop(listener);
    }

    #[test]
    fn unusable_urls_say_why() {
        let err = check("https://127.0.0.1:7779/healthz", Duration::from_secs(1))
            .expect_err("https")
            .to_string();
        assert!(err.contains("only http:// is supported"), "{err}");
        let err = check("not a url", Duration::from_secs(1))
            .expect_err("garbage")
            .to_string();
        assert!(err.starts_with("cannot check `not a url`"), "{err}");
    }
}
