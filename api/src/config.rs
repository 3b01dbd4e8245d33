use std::net::SocketAddr;
use std::path::PathBuf;

use storage::{DatabaseUrl, StorageError};

pub const DEFAULT_WEBHOOKS_POLL_MS: u64 = 100;
pub const DEFAULT_WEBHOOKS_CONCURRENCY: usize = 64;

/// Runtime configuration, from environment variables (or the matching CLI flags).
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// `postgres://…` for PostgreSQL, `sqlite://<path>` for SQLite. Unset: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "PORTAL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the embedded database and generated secrets.
    #[arg(long, env = "PORTAL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Admin key to create on an empty database instead of a generated one.
    #[arg(long, env = "PORTAL_BOOTSTRAP_API_KEY", hide_env_values = true)]
    pub bootstrap_api_key: Option<String>,
    /// Maximum database connections in the pool.
    #[arg(long, env = "PORTAL_DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,
    /// Largest accepted request body, in bytes (larger → 413).
    #[arg(long, env = "PORTAL_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,
    /// Portal token keys: PASERK `k4.local.…`, comma-separated, first one encrypts. Unset: a key
    /// generated once into `<data dir>/token_key`.
    #[arg(long, env = "PORTAL_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<String>,
    /// Where a portal session's `url` points: the merchant's portal frontend, which receives
    /// `?code=<single-use login code>` and exchanges it for the session token. Unset: the
    /// hosted portal of this server (`http://<listen address>/portal/`), or, with the hosted
    /// portal off, `http://localhost:3000/portal`.
    #[arg(long, env = "PORTAL_URL_BASE")]
    pub url_base: Option<String>,
    /// Serve the hosted customer portal at `/portal/` (`0` turns it off).
    #[arg(long, env = "PORTAL_HOSTED_PORTAL", default_value_t = true, action = clap::ArgAction::Set,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub hosted_portal: bool,
    /// Browser origins allowed to call portal routes (CORS), comma-separated, e.g.
    /// `https://billing.shop.test`. Unset: no cross-origin access. `*` is refused.
    #[arg(long, env = "PORTAL_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,
    #[command(flatten)]
    pub limits: crate::limits::LimitConfig,
    /// Usage events older than this many days are rejected.
    #[arg(long, env = "PORTAL_EVENT_MAX_AGE_DAYS", default_value_t = 35)]
    pub event_max_age_days: i64,
    /// Seed a demo customer (wallet, invoices, 30 days of usage) on start and print a portal
    /// login URL and session token for it. Idempotent.
    #[arg(long, env = "PORTAL_DEMO", global = true, action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub demo: bool,
    /// Seconds between the billing worker's passes (renewals, collection retries); 0 turns the
    /// worker off on this node. Every replica may run it: each period is billed once.
    #[arg(long, env = "PORTAL_BILLING_INTERVAL_SECS", default_value_t = 15)]
    pub billing_interval_secs: u64,
    /// Billing steps this node runs at once in each pass (each its own transaction on its own
    /// claimed subscription; more than 1 helps only on PostgreSQL).
    #[arg(long, env = "PORTAL_BILLING_CONCURRENCY", default_value_t = 2)]
    pub billing_concurrency: usize,
    /// Milliseconds between the webhook worker's looks for new events and due deliveries; 0
    /// turns the worker off on this node. Every replica may run it: each delivery is claimed by
    /// one node.
    #[arg(long, env = "PORTAL_WEBHOOKS_POLL_MS", default_value_t = DEFAULT_WEBHOOKS_POLL_MS)]
    pub webhooks_poll_ms: u64,
    /// Webhook deliveries this node sends at once.
    #[arg(long, env = "PORTAL_WEBHOOKS_CONCURRENCY", default_value_t = DEFAULT_WEBHOOKS_CONCURRENCY)]
    pub webhooks_concurrency: usize,
    /// Seconds a receiver has to answer a webhook (connection included) before the attempt
    /// counts as failed; at most 30.
    #[arg(long, env = "PORTAL_WEBHOOKS_TIMEOUT_SECS", default_value_t = 15)]
    pub webhooks_timeout_secs: u64,
    /// Allow `http` webhook URLs and loopback/private/link-local targets. For development and
    /// tests only: in production this lets endpoints reach internal services (SSRF).
    #[arg(long, env = "PORTAL_WEBHOOKS_ALLOW_INSECURE", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub webhooks_allow_insecure: bool,
    /// The SMTP server customers' e-mail goes through, in lettre's URL form:
    /// `smtps://user:pass@host:465` (implicit TLS), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtp://host:25` (a local relay, no TLS). Unset: messages are recorded with
    /// status `not_configured` and not sent.
    #[arg(long, env = "PORTAL_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The SMTP password, instead of one in `PORTAL_SMTP_URL` (the user stays in the URL).
    #[arg(long, env = "PORTAL_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The sender's address (`billing@shop.test`); the account's name is its display name.
    /// Required with `PORTAL_SMTP_URL`.
    #[arg(long, env = "PORTAL_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Milliseconds between the mail worker's looks for due messages; 0 turns it off on this
    /// node. Every replica may run it: each message is claimed by one node at a time.
    #[arg(long, env = "PORTAL_MAIL_POLL_MS", default_value_t = 500)]
    pub mail_poll_ms: u64,
    /// Seconds a shutdown (SIGTERM, SIGINT) may take: requests in flight finish and the
    /// background workers finish what they hold; past it, what is left is abandoned as after a
    /// crash (nothing is lost: leases expire and another node takes the work).
    #[arg(long, env = "PORTAL_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 30)]
    pub shutdown_timeout_seconds: u64,
    /// `text`, or `json` (one object per line) for log pipelines.
    #[arg(long, env = "PORTAL_LOG_FORMAT", value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "PORTAL_WORKERS")]
    pub workers: Option<usize>,
}

impl Config {
    /// Where session URLs point; see `url_base`.
    pub fn portal_url_base(&self) -> String {
        if let Some(base) = self.url_base.as_deref().filter(|b| !b.is_empty()) {
            return base.to_owned();
        }
        if !self.hosted_portal {
            return "http://localhost:3000/portal".to_owned();
        }
        // A wildcard listen address is no address a browser can open.
        let host = match self.listen.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}/portal/", self.listen.port())
    }

    pub fn database(&self) -> Result<DatabaseUrl, StorageError> {
        match self.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => DatabaseUrl::parse(url),
            None => Ok(DatabaseUrl::sqlite_in(&self.data_dir)),
        }
    }
}

impl Config {
    /// The CORS allow-list, validated: absolute http(s) origins, never `*`.
    pub fn cors_origins(&self) -> Result<Vec<String>, String> {
        self.cors_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains('/') && !o.contains('*') => Ok(o.to_owned()),
                    _ => Err(format!("PORTAL_CORS_ORIGINS: {o:?} is not an origin such as https://billing.shop.test")),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Config;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn base(args: &[&str]) -> String {
        let argv = std::iter::once("portal-api").chain(args.iter().copied());
        Cli::try_parse_from(argv).unwrap().config.portal_url_base()
    }

    #[test]
    fn session_urls_point_at_the_hosted_portal_unless_told_otherwise() {
        // Clean of the variables these flags also read (none are set by the test runner).
        for var in ["PORTAL_URL_BASE", "PORTAL_HOSTED_PORTAL", "PORTAL_LISTEN"] {
            assert!(std::env::var_os(var).is_none(), "{var} is set");
        }
        for (args, expected) in [
            (&[][..], "http://127.0.0.1:8080/portal/"),
            (
                &["--listen", "0.0.0.0:9000"],
                "http://localhost:9000/portal/",
            ),
            (&["--listen", "[::1]:9000"], "http://[::1]:9000/portal/"),
            (
                &["--hosted-portal", "false"],
                "http://localhost:3000/portal",
            ),
            (
                &["--url-base", "https://billing.shop.test/portal"],
                "https://billing.shop.test/portal",
            ),
        ] {
            assert_eq!(base(args), expected, "{args:?}");
        }
    }
}
