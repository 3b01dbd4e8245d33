//! A real SMTP server for tests: `tests/mail/smtp_sink.py` (aiosmtpd) in its own Python
//! environment, created on first use from `tests/mail/requirements.txt` (PyPI). Each accepted
//! message is one JSON line: envelope, headers, text and HTML parts, attachments.
//!
//! Self-contained (std and serde_json only) so the crash tests of the `api` crate include it
//! too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn mail_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("mail")
}

/// The Python of `tests/mail/.venv`, created (once, under a file lock) if missing.
fn python() -> PathBuf {
    let dir = mail_dir();
    let venv = dir.join(".venv");
    let python = venv.join("bin").join("python");
    let lock = std::fs::File::create(dir.join(".venv.lock")).expect("create the venv lock");
    lock.lock().expect("lock the venv");
    let ready = venv.join(".installed");
    if !ready.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("run python3 -m venv");
        assert!(made.success(), "python3 -m venv {}", venv.display());
        let installed = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(dir.join("requirements.txt"))
            .status()
            .expect("run pip");
        assert!(
            installed.success(),
            "pip install -r tests/mail/requirements.txt"
        );
        std::fs::write(&ready, b"").expect("mark the venv ready");
    }
    python
}

pub struct SmtpSink {
    pub port: u16,
    out: PathBuf,
    child: Child,
    _dir: TempDir,
}

/// A directory removed on drop (no dependency on the tempfile crate).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SmtpSink {
    /// Accepts everything.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// `args`: `--fail-first N` (451 to the first N messages), `--reject TEXT` (550 to
    /// recipients containing TEXT).
    pub fn start_with(args: &[&str]) -> Self {
        let python = python();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("smtp-sink-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("sink dir");
        let out = dir.join("messages.jsonl");
        let mut child = Command::new(python)
            .arg(mail_dir().join("smtp_sink.py"))
            .arg(port.to_string())
            .arg(&out)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("the sink's first line");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self {
            port,
            out,
            child,
            _dir: TempDir(dir),
        }
    }

    /// `smtp://127.0.0.1:<port>` (plain: a local relay).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// Waits (up to a minute) until at least `n` messages came, then `quiet` more for any
    /// extra; returns them all.
    pub fn settle(&self, n: usize, quiet: Duration) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.messages().len() < n {
            assert!(
                Instant::now() < deadline,
                "got {} of {n} messages: {:#?}",
                self.messages().len(),
                self.messages()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(quiet);
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
