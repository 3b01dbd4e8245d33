//! Rules of the `Idempotency-Key` mechanism. Storage makes each step atomic; the decisions live
//! here.
//!
//! - A key is scoped to the tenant and remembered for 24 hours.
//! - The fingerprint covers method, path and body: the same key with another request is refused.
//! - Exactly once, also across a crash: the claim of the key, the request's effects and its
//!   recorded answer commit in one transaction (see [`crate::ports::IdempotencyRepo::run_once`]).
//!   A process that dies before the commit leaves nothing behind, so the retry simply runs; one
//!   that dies after it leaves the answer, so the retry replays it. There is no lock to wait out.
//! - While a request holds its key, a second one with the same key is told it is in progress.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

pub const RETENTION: Duration = Duration::hours(24);
pub const MAX_KEY_LEN: usize = 255;

/// A completed response, replayed verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// The request claiming a key.
#[derive(Debug, Clone)]
pub struct Claim {
    pub tenant_id: crate::id::TenantId,
    pub key: String,
    pub fingerprint: String,
    pub now: DateTime<Utc>,
}

/// What the work of an idempotent request produced.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Success: its effects commit together with this answer.
    Commit(StoredResponse),
    /// A definite refusal (4xx): its partial effects are undone, the answer is still recorded.
    Refuse(StoredResponse),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once {
    /// This request ran; here is its (now recorded) answer.
    Ran(StoredResponse),
    Replay(StoredResponse),
    InProgress,
    Mismatch,
}

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
    /// Always present on records written since answers commit with their effects; a record
    /// without one is from an older version and holds nothing to replay.
    pub response: Option<StoredResponse>,
}

/// What to do with a request whose key already has a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The record expired (or holds no answer): reset it to this request and run.
    TakeOver,
    Answer(Once),
}

pub fn decide(existing: &IdempotencyRecord, fingerprint: &str, now: DateTime<Utc>) -> Decision {
    if existing.created_at + RETENTION <= now {
        return Decision::TakeOver;
    }
    if existing.fingerprint != fingerprint {
        return Decision::Answer(Once::Mismatch);
    }
    match &existing.response {
        Some(resp) => Decision::Answer(Once::Replay(resp.clone())),
        None => Decision::TakeOver,
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

/// A 64-bit number naming (tenant, key), for databases that lock by number (PostgreSQL's
/// advisory locks). A collision at worst tells a request that its key is in progress.
pub fn lock_id(tenant_id: &crate::id::TenantId, key: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(tenant_id.as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
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
            Decision::Answer(Once::Replay(done.clone().unwrap()))
        );
        assert_eq!(
            decide(&record(now, done.clone()), "g", now),
            Decision::Answer(Once::Mismatch)
        );
        assert_eq!(decide(&record(now, None), "f", now), Decision::TakeOver);
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
