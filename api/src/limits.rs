//! Limits on what one client may cost, per node (in memory): session creation per API key,
//! login-code exchange per client address, portal requests per session, failed credential
//! checks per client address, license checks per client address and per key (over a limit → 429 `rate_limited` with `Retry-After`), and the
//! time a request body may take to arrive. With N replicas the effective rate limits are up to
//! N times higher; they guard against runaway clients, they are not a quota, so nothing about
//! correctness depends on them.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use domain::ErrorCode;

use crate::error::ApiError;

/// Requests per minute for each rate limit (0 turns it off), and the body read timeout.
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
    /// Failed API-key or session-token checks per client address per minute (per node); past
    /// it, that address gets 429 until its allowance refills.
    #[arg(
        long,
        env = "PORTAL_RATE_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 60
    )]
    pub auth_failures_per_minute: u32,
    /// Sign-in links one client address may ask for per minute (per node).
    #[arg(long, env = "PORTAL_RATE_LOGIN_LINKS_PER_MINUTE", default_value_t = 10)]
    pub login_links_per_minute: u32,
    /// Sign-in links one e-mail address may be sent per hour (per node), whoever asks.
    #[arg(
        long,
        env = "PORTAL_RATE_LOGIN_LINKS_PER_EMAIL_PER_HOUR",
        default_value_t = 5
    )]
    pub login_links_per_email_per_hour: u32,
    /// License-key checks (validate, activate, deactivate) per client address per minute (per
    /// node).
    #[arg(long, env = "PORTAL_RATE_LICENSE_PER_MINUTE", default_value_t = 120)]
    pub license_per_minute: u32,
    /// License-key checks per key per minute (per node), from any address.
    #[arg(
        long,
        env = "PORTAL_RATE_LICENSE_PER_KEY_PER_MINUTE",
        default_value_t = 60
    )]
    pub license_per_key_per_minute: u32,
    /// Seconds a client may take to send a request body (slower → 408).
    #[arg(long, env = "PORTAL_BODY_TIMEOUT_SECONDS", default_value_t = 30)]
    pub body_timeout_seconds: u64,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            session_create_per_minute: 600,
            exchange_per_minute: 60,
            portal_per_minute: 600,
            auth_failures_per_minute: 60,
            login_links_per_minute: 10,
            login_links_per_email_per_hour: 5,
            license_per_minute: 120,
            license_per_key_per_minute: 60,
            body_timeout_seconds: 30,
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
    auth_failures: Option<DefaultKeyedRateLimiter<String>>,
    login_links: Option<DefaultKeyedRateLimiter<String>>,
    login_links_per_email: Option<DefaultKeyedRateLimiter<String>>,
    license: Option<DefaultKeyedRateLimiter<String>>,
    license_per_key: Option<DefaultKeyedRateLimiter<String>>,
    /// Addresses past their failure allowance, and until when. Read by every authenticated
    /// request, written only past an allowance: a read-write lock, so readers do not queue.
    auth_blocked: RwLock<HashMap<String, Instant>>,
    pub body_timeout: Duration,
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
        rate_limited(
            what,
            not_until.wait_time_from(DefaultClock::default().now()),
        )
    })
}

/// 429 `rate_limited` for too many `what`, with `Retry-After` rounded up to a whole second.
fn rate_limited(what: &str, wait: Duration) -> ApiError {
    let mut e = ApiError::new(
        ErrorCode::RateLimited,
        format!("Too many {what}; retry later."),
    );
    e.retry_after_secs = Some(wait.as_secs() + 1);
    e
}

const AUTH_FAILURES: &str = "failed credential checks from this address";

impl RateLimits {
    pub fn new(c: LimitConfig) -> Self {
        Self {
            refusal_audit: limiter(REFUSAL_AUDITS_PER_MINUTE),
            session_create: limiter(c.session_create_per_minute),
            exchange: limiter(c.exchange_per_minute),
            portal: limiter(c.portal_per_minute),
            auth_failures: limiter(c.auth_failures_per_minute),
            login_links: limiter(c.login_links_per_minute),
            login_links_per_email: NonZeroU32::new(c.login_links_per_email_per_hour)
                .map(|n| RateLimiter::keyed(Quota::per_hour(n))),
            license: limiter(c.license_per_minute),
            license_per_key: limiter(c.license_per_key_per_minute),
            auth_blocked: RwLock::new(HashMap::new()),
            body_timeout: Duration::from_secs(c.body_timeout_seconds.max(1)),
        }
    }

    /// The answer to a credential that failed its check: 429 while the client's address is
    /// past its allowance of failures, else the refusal, counted. A valid credential is never
    /// held back, whatever its address did before (the key and token spaces make guessing
    /// hopeless; the throttle slows guessers and spares the logs): only failures count, and only
    /// per address, so a merchant's servers are never held back by guesses from elsewhere.
    pub fn refuse(&self, client: &str, refusal: ApiError) -> ApiError {
        match self.auth_allowed(client) {
            Err(limited) => limited,
            Ok(()) => self.auth_failed(client, refusal),
        }
    }

    /// 429 while the client's address is past its allowance of failures.
    fn auth_allowed(&self, client: &str) -> Result<(), ApiError> {
        let until = self
            .auth_blocked
            .read()
            .expect("not poisoned")
            .get(client)
            .copied();
        match until {
            Some(until) if until > Instant::now() => Err(rate_limited(
                AUTH_FAILURES,
                until.saturating_duration_since(Instant::now()),
            )),
            _ => Ok(()),
        }
    }

    /// Counts a failed credential check from `client`; past the allowance, the answer to it is
    /// already the 429 (and so are the next ones, until the allowance refills).
    fn auth_failed(&self, client: &str, refusal: ApiError) -> ApiError {
        let Some(limiter) = &self.auth_failures else {
            return refusal;
        };
        match limiter.check_key(&client.to_owned()) {
            Ok(()) => refusal,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                self.auth_blocked
                    .write()
                    .expect("not poisoned")
                    .insert(client.to_owned(), Instant::now() + wait);
                rate_limited(AUTH_FAILURES, wait)
            }
        }
    }

    pub fn session_create(&self, api_key_id: &str) -> Result<(), ApiError> {
        check(
            &self.session_create,
            api_key_id,
            "portal sessions created with this API key",
        )
    }

    /// A sign-in link asked for by `client` for `email` (compared without case): limited per
    /// address and per e-mail, so neither a client nor a flood of clients can mail one inbox
    /// without bound. The same answer whether or not the e-mail belongs to a customer.
    pub fn login_link(&self, client: &str, email: &str) -> Result<(), ApiError> {
        check(&self.login_links, client, "sign-in links from this address")?;
        check(
            &self.login_links_per_email,
            &email.trim().to_lowercase(),
            "sign-in links for this e-mail",
        )
    }

    /// A license-key check by `client` of the key with `digest` (the key itself is never
    /// kept): limited per address, so guessing is slow, and per key, so one leaked key cannot
    /// be checked without bound from many addresses.
    pub fn license(&self, client: &str, digest: &str) -> Result<(), ApiError> {
        check(&self.license, client, "license checks from this address")?;
        check(&self.license_per_key, digest, "checks of this license key")
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
        let now = Instant::now();
        self.auth_blocked
            .write()
            .expect("not poisoned")
            .retain(|_, until| *until > now);
        for l in [
            &self.session_create,
            &self.exchange,
            &self.portal,
            &self.auth_failures,
            &self.login_links,
            &self.login_links_per_email,
            &self.license,
            &self.license_per_key,
        ]
        .into_iter()
        .flatten()
        {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}
