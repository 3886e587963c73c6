//! Issue 20: on SIGTERM a server stops accepting connections, finishes the requests it
//! is handling, then exits successfully (what a rolling restart relies on).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits() {
    let tdb = common::sqlite();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("TESSERA_SECRET", common::TEST_SECRET)
        .env("RUST_LOG", "info")
        .args(["serve", "--addr", &addr, "--database-url", &tdb.url])
        .env_remove("TESSERA_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tessera serve");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("http://{addr}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "serve never answered");

    // A token request whose body is still on its way when the signal comes.
    let body = "grant_type=client_credentials&client_id=nobody&client_secret=x";
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        conn,
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    std::thread::sleep(Duration::from_millis(500));

    // No new connection is accepted...
    assert!(
        TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(1)).is_err(),
        "still accepting connections after SIGTERM"
    );
    assert!(child.try_wait().unwrap().is_none(), "exited with a request in flight");
    // ...but the request in flight is answered: the unknown client is refused properly.
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    // RFC 6749 §5.2: 400 for a client that authenticated in the body.
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(answer.contains("invalid_client"), "{answer}");

    // Then it exits, successfully.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 10 s after its last request");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}
