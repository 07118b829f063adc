//! The set that ends a serving thread's idle spin (`src/arrivals.rs`, `src/idle.rs`): on its
//! own, it reports each arrival once and forgets closed sockets; through the server, a new
//! connection and a request on a kept-alive connection are both reported, so a request never
//! waits for a spin to run out.
//!
//! The set reports a socket only while what arrived is still unread, as a spinning thread
//! would find it. In the server test the runtime has one thread, which also runs the gateway,
//! so between two `.await`s the gateway cannot read: the checks happen in such stretches.
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Gateway, HELLO_WIDGETS, ask, read_answer};
use tokio::net::TcpStream;
use widgetgate::arrivals::Arrivals;

/// Whether `arrivals` reports something within 5 s, without letting a gateway run: loopback
/// delivery is normally done when `write` returns, but the kernel may defer it.
fn reported(arrivals: &Arrivals) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if arrivals.any() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn reports_each_arrival_once() {
    let arrivals = Arrivals::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    arrivals.watch(&listener);
    assert!(!arrivals.any(), "nothing has arrived yet");

    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    assert!(reported(&arrivals), "a new connection is an arrival");
    let (served, _) = listener.accept().unwrap();
    arrivals.watch(&served);
    assert!(!arrivals.any(), "the connection was reported once");

    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(reported(&arrivals), "request bytes are an arrival");
    assert!(!arrivals.any(), "unread bytes are not reported again");

    client.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert!(reported(&arrivals), "more bytes are a new arrival");

    drop(client);
    assert!(reported(&arrivals), "a hang-up is an arrival");
}

#[test]
fn a_closed_socket_leaves_the_set() {
    let arrivals = Arrivals::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (served, _) = listener.accept().unwrap();
    arrivals.watch(&served);
    client.write_all(b"x").unwrap();
    assert!(reported(&arrivals), "the socket is in the set");
    drop(served);
    // The client may still write (the peer's RST comes later); nothing is reported.
    let _ = client.write_all(b"x");
    std::thread::sleep(Duration::from_millis(20));
    assert!(!arrivals.any());
}

#[tokio::test(flavor = "current_thread")]
async fn the_listener_and_each_connection_report_arrivals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("gateway.yaml");
    std::fs::write(&config, HELLO_WIDGETS).expect("write config");
    let arrivals = Arc::new(Arrivals::new().expect("an epoll set"));
    let gw = Gateway::start_watched(&config, arrivals.clone()).await;

    // Served once, so the gateway is listening and this connection is accepted.
    let mut stream = TcpStream::connect(gw.addr()).await.expect("connect");
    assert!(ask(&mut stream, "/hello").await.starts_with("HTTP/1.1 200"));
    while arrivals.any() {}

    let waiting = std::net::TcpStream::connect(gw.addr()).expect("connect");
    assert!(
        reported(&arrivals),
        "a connection not yet accepted is reported"
    );
    drop(waiting);
    tokio::task::yield_now().await;
    while arrivals.any() {}

    let request = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(stream.try_write(request).expect("write"), request.len());
    assert!(
        reported(&arrivals),
        "a request on a kept-alive connection is reported"
    );
    assert!(!arrivals.any(), "and reported once");
    // The gateway reads it now and answers.
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
