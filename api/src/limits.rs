//! Rate limits, per node (in memory): session creation per API key, login-code exchange per
//! client address, portal requests per session. Over the limit → 429 `rate_limited` with
//! `Retry-After`. With N replicas the effective limit is up to N times higher; the limits are a
//! guard against runaway clients, not a quota, so nothing about correctness depends on them.

use std::num::NonZeroU32;

use actix_web::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Requests per minute for each limit; 0 turns it off.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LimitConfig {
    /// Portal sessions an API key may create per minute (per node).
    #[arg(
        long,
        env = "PORTAL_RATE_SESSION_CREATE_PER_MINUTE",
        default_value_t = 600
    )]
    pub session_create_per_minute: u32,
    /// Login-code exchanges per client address per minute (per node).
    #[arg(long, env = "PORTAL_RATE_EXCHANGE_PER_MINUTE", default_value_t = 60)]
    pub exchange_per_minute: u32,
    /// Portal requests per session per minute (per node).
    #[arg(long, env = "PORTAL_RATE_PORTAL_PER_MINUTE", default_value_t = 600)]
    pub portal_per_minute: u32,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            session_create_per_minute: 600,
            exchange_per_minute: 60,
            portal_per_minute: 600,
        }
    }
}

/// Audit rows for refused tokens, per session per minute (not configurable: it bounds storage).
const REFUSAL_AUDITS_PER_MINUTE: u32 = 10;

pub struct RateLimits {
    refusal_audit: Option<DefaultKeyedRateLimiter<String>>,
    session_create: Option<DefaultKeyedRateLimiter<String>>,
    exchange: Option<DefaultKeyedRateLimiter<String>>,
    portal: Option<DefaultKeyedRateLimiter<String>>,
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

fn check(
    limiter: &Option<DefaultKeyedRateLimiter<String>>,
    key: &str,
    what: &str,
) -> Result<(), ApiError> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    limiter.check_key(&key.to_owned()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many {what}; retry later."),
        );
        e.retry_after_secs = Some(wait.as_secs() + 1);
        e
    })
}

impl RateLimits {
    pub fn new(c: LimitConfig) -> Self {
        Self {
            refusal_audit: limiter(REFUSAL_AUDITS_PER_MINUTE),
            session_create: limiter(c.session_create_per_minute),
            exchange: limiter(c.exchange_per_minute),
            portal: limiter(c.portal_per_minute),
        }
    }

    pub fn session_create(&self, api_key_id: &str) -> Result<(), ApiError> {
        check(
            &self.session_create,
            api_key_id,
            "portal sessions created with this API key",
        )
    }

    pub fn exchange(&self, client: &str) -> Result<(), ApiError> {
        check(
            &self.exchange,
            client,
            "login-code exchanges from this address",
        )
    }

    pub fn portal(&self, session_id: &str) -> Result<(), ApiError> {
        check(&self.portal, session_id, "requests with this session")
    }

    /// Whether a refused token of this session may still be written to the audit log.
    pub fn audit_refusal(&self, session_id: &str) -> bool {
        self.refusal_audit
            .as_ref()
            .is_none_or(|l| l.check_key(&session_id.to_owned()).is_ok())
    }

    /// Forgets keys that are back to a full allowance (bounded memory).
    pub fn prune(&self) {
        for l in [&self.session_create, &self.exchange, &self.portal]
            .into_iter()
            .flatten()
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}
