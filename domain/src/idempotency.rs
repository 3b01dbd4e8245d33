//! Rules of the `Idempotency-Key` mechanism. Storage makes each step atomic; the decisions live
//! here.
//!
//! - A key is scoped to the tenant and remembered for 24 hours.
//! - The fingerprint covers method, path and body: the same key with another request is refused.
//! - A key whose request is still running answers "in progress"; if the process that took it died,
//!   the lock is considered stale after [`STALE_LOCK`] and the next request may take over.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

pub const RETENTION: Duration = Duration::hours(24);
pub const STALE_LOCK: Duration = Duration::minutes(5);
pub const MAX_KEY_LEN: usize = 255;

/// A completed response, replayed verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
    pub locked_at: DateTime<Utc>,
    pub response: Option<StoredResponse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// This request owns the key: run it, then complete or release the key.
    Started,
    Replay(StoredResponse),
    InProgress,
    Mismatch,
}

/// What to do with a request whose key already has a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The record expired or its owner died: reset it to this request and run.
    TakeOver,
    Answer(Begin),
}

pub fn decide(existing: &IdempotencyRecord, fingerprint: &str, now: DateTime<Utc>) -> Decision {
    if existing.created_at + RETENTION <= now {
        return Decision::TakeOver;
    }
    if existing.fingerprint != fingerprint {
        return Decision::Answer(Begin::Mismatch);
    }
    match &existing.response {
        Some(resp) => Decision::Answer(Begin::Replay(resp.clone())),
        None if existing.locked_at + STALE_LOCK <= now => Decision::TakeOver,
        None => Decision::Answer(Begin::InProgress),
    }
}

pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(now: DateTime<Utc>, response: Option<StoredResponse>) -> IdempotencyRecord {
        IdempotencyRecord {
            fingerprint: "f".into(),
            created_at: now,
            locked_at: now,
            response,
        }
    }

    #[test]
    fn decisions() {
        let now = Utc::now();
        let done = Some(StoredResponse {
            status: 201,
            body: "{}".into(),
        });
        assert_eq!(
            decide(&record(now, done.clone()), "f", now),
            Decision::Answer(Begin::Replay(done.clone().unwrap()))
        );
        assert_eq!(
            decide(&record(now, done.clone()), "g", now),
            Decision::Answer(Begin::Mismatch)
        );
        assert_eq!(
            decide(&record(now, None), "f", now),
            Decision::Answer(Begin::InProgress)
        );
        assert_eq!(
            decide(&record(now - STALE_LOCK, None), "f", now),
            Decision::TakeOver
        );
        assert_eq!(
            decide(&record(now - RETENTION, done), "g", now),
            Decision::TakeOver
        );
        assert_ne!(
            fingerprint("POST", "/a", b"{}"),
            fingerprint("POST", "/b", b"{}")
        );
    }
}
