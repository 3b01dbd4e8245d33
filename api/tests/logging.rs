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

/// The real process on a fresh data directory, its log on a pipe.
struct Server {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_portal-api"))
            .arg("serve")
            .env("PORTAL_DATA_DIR", dir.path())
            .env("PORTAL_LISTEN", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start portal-api");
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// A connection, once the server listens.
    fn connect(&self) -> TcpStream {
        for _ in 0..300 {
            if let Ok(c) = TcpStream::connect(("127.0.0.1", self.port)) {
                return c;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("portal-api did not listen");
    }

    /// Everything the process logged until it exited, and how it exited.
    fn log(mut self) -> (String, std::process::ExitStatus) {
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (log, self.child.wait().unwrap())
    }
}

fn logs_of_malformed_requests(rust_log: &str) -> String {
    let mut server = Server::start(&[
        ("PORTAL_BILLING_INTERVAL_SECS", "0"),
        ("PORTAL_WEBHOOKS_POLL_MS", "0"),
        ("RUST_LOG", rust_log),
        ("NO_COLOR", "1"),
    ]);
    for request in MALFORMED {
        let mut c = server.connect();
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
    server.child.kill().unwrap();
    server.log().0
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
    let server = Server::start(&[("PORTAL_LOG_FORMAT", "json"), ("RUST_LOG", "info")]);
    let mut c = server.connect();
    c.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    c.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the server answered /readyz"
    );
    let sent = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (log, exit) = server.log();
    assert!(exit.success(), "a clean exit:\n{log}");
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
