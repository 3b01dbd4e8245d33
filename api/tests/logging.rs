//! A request the HTTP layer cannot parse is the client's mistake: the real process logs it at
//! DEBUG, never at WARN or ERROR, so nobody can flood the error log from outside.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Requests no server could parse, sent without credentials.
const MALFORMED: [&[u8]; 4] = [
    b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nx-api-key: \x01\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GARBAGE\r\n\r\n",
    b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
];

fn logs_of_malformed_requests(rust_log: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal-api"))
        .arg("serve")
        .env("PORTAL_DATA_DIR", dir.path())
        .env("PORTAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTAL_BILLING_INTERVAL_SECS", "0")
        .env("PORTAL_WEBHOOKS_POLL_MS", "0")
        .env("RUST_LOG", rust_log)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portal-api");
    let connect = || {
        for _ in 0..300 {
            if let Ok(c) = TcpStream::connect(("127.0.0.1", port)) {
                return c;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("portal-api did not listen");
    };
    for request in MALFORMED {
        let mut c = connect();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(request).unwrap();
        let mut answer = [0u8; 64];
        let n = c.read(&mut answer).unwrap_or(0);
        assert!(
            answer[..n].starts_with(b"HTTP/1.1 4"),
            "{}",
            String::from_utf8_lossy(&answer[..n])
        );
    }
    // The lines are written as the connections close; give the workers a moment.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child.wait().unwrap();
    log
}

#[test]
fn malformed_requests_are_logged_below_warn() {
    let log = logs_of_malformed_requests("info");
    for line in log.lines() {
        assert!(
            !line.contains("ERROR") && !line.contains("WARN"),
            "a client's mistake logged as a server problem: {line}"
        );
    }
    let log = logs_of_malformed_requests("info,api::http=debug");
    let refused = log
        .lines()
        .filter(|l| l.contains("DEBUG") && l.contains("malformed request refused"))
        .count();
    assert!(refused >= 3, "each malformed request at DEBUG:\n{log}");
}

/// `PORTAL_LOG_FORMAT=json`: every line the process writes, from start to a SIGTERM'd stop, is
/// one JSON object a log pipeline can read, with its level, target and fields.
#[test]
fn json_lines_for_log_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal-api"))
        .arg("serve")
        .env("PORTAL_DATA_DIR", dir.path())
        .env("PORTAL_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTAL_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portal-api");
    let mut answered = false;
    for _ in 0..300 {
        if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
            c.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            c.read_to_string(&mut answer).unwrap();
            answered = answer.starts_with("HTTP/1.1 200");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(answered, "the server answered /readyz");
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(child.wait().unwrap().success(), "a clean exit:\n{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for l in &lines {
        assert!(
            l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string(),
            "{l}"
        );
    }
    let said = |text: &str| {
        lines
            .iter()
            .find(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(text))
            })
            .unwrap_or_else(|| panic!("no line says {text:?}:\n{log}"))
    };
    assert_eq!(said("serving")["fields"]["backend"], "sqlite");
    assert_eq!(said("stopping")["fields"]["signal"], "SIGTERM");
    assert_eq!(said("stopped")["level"], "INFO");
}
