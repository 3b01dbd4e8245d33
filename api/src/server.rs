use std::net::TcpListener;
use std::sync::{Arc, OnceLock};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};
use storage::Store;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::middleware::{fallback, observe, RouteTable};
use crate::openapi::ApiDoc;
use crate::routes;
use crate::state::{AppState, Settings};
use crate::tokens::PasetoCodec;

/// The OpenAPI document of the routes the server registers (the same registration code).
pub fn openapi_spec() -> utoipa::openapi::OpenApi {
    let (_, spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::document)
        .split_for_parts();
    crate::openapi::complete(spec)
}

/// The OpenAPI document as `/openapi.json` serves it, and the route table the fallback answers
/// 404/405 from: one copy shared by every worker, built when first needed (about 30 ms). A
/// server nobody asks for its contract never runs the code that builds it, whose pages and
/// garbage would otherwise stay resident (about 5 MB at idle).
#[derive(Clone, Default)]
pub struct Contract(Arc<OnceLock<Built>>);

struct Built {
    json: web::Bytes,
    table: RouteTable,
}

impl Contract {
    /// The document and the route table, built on the blocking pool the first time.
    pub async fn get(&self) -> Result<(web::Bytes, RouteTable), actix_web::error::BlockingError> {
        let built = match self.0.get() {
            Some(built) => built,
            None => {
                let cell = self.0.clone();
                web::block(move || {
                    cell.get_or_init(|| {
                        let spec = openapi_spec();
                        let built = Built {
                            json: serde_json::to_vec(&spec)
                                .expect("the OpenAPI document serialises")
                                .into(),
                            table: RouteTable::from_spec(&spec),
                        };
                        drop(spec);
                        release_freed_memory();
                        built
                    });
                })
                .await?;
                self.0.get().expect("built above")
            }
        };
        Ok((built.json.clone(), built.table.clone()))
    }
}

/// Hands the memory freed by building the document (several MB of intermediate values) back to
/// the system; glibc would otherwise keep it resident in the building thread's arena.
#[cfg_attr(
    all(target_os = "linux", target_env = "gnu"),
    expect(unsafe_code, reason = "glibc's malloc_trim is a C function")
)]
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The application: routes, Swagger UI at `/swagger-ui/`, the spec at `/openapi.json`,
/// problem+json for every error, request ids and metrics.
pub fn build_app(
    state: Data<AppState>,
    contract: Contract,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let origins = state.cors_origins.clone();
    let hosted_portal = state.hosted_portal;
    App::new()
        .app_data(state)
        .app_data(Data::new(contract))
        .wrap(from_fn(observe))
        .configure(|cfg| routes::serve(cfg, &origins))
        .service(web::redirect("/swagger-ui", "/swagger-ui/"))
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
        )
        .route(
            "/openapi.json",
            web::get().to(|contract: Data<Contract>| async move {
                let (json, _) = contract.get().await?;
                Ok::<_, actix_web::Error>(
                    HttpResponse::Ok()
                        .content_type(actix_web::http::header::ContentType::json())
                        .body(json),
                )
            }),
        )
        .configure(|cfg| {
            if hosted_portal {
                crate::hosted_portal::configure(cfg);
            }
        })
        .default_service(web::to(fallback))
}

/// Opens the database, applies migrations and creates the first account on an empty database.
/// Returns the state and, when one was generated, the bootstrap key to show once.
pub fn prepare(
    config: &Config,
) -> Result<(Data<AppState>, Option<String>), Box<dyn std::error::Error>> {
    let store = Store::connect(&config.database()?, config.db_pool_size)?;
    let applied = store.migrate()?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, backend = store.backend().as_str(), "applied migrations");
    }
    let tokens = PasetoCodec::load(config.token_key.as_deref(), &config.data_dir)?;
    let settings = Settings {
        url_base: config.portal_url_base(),
        hosted_portal: config.hosted_portal,
        event_max_age_days: config.event_max_age_days,
        max_body_bytes: config.max_body_bytes,
        limits: config.limits,
        cors_origins: config.cors_origins()?,
        billing_every: (config.billing_interval_secs > 0)
            .then(|| std::time::Duration::from_secs(config.billing_interval_secs)),
        billing_concurrency: config.billing_concurrency,
        webhooks_allow_insecure: config.webhooks_allow_insecure,
        webhook_worker: (config.webhooks_poll_ms > 0).then(|| crate::webhooks::WorkerSettings {
            poll: std::time::Duration::from_millis(config.webhooks_poll_ms),
            concurrency: config.webhooks_concurrency.max(1),
            timeout: std::time::Duration::from_secs(config.webhooks_timeout_secs.max(1)),
            allow_insecure: config.webhooks_allow_insecure,
        }),
        mail: crate::mail::MailSettings::from_config(config)?,
        shutdown_timeout: std::time::Duration::from_secs(config.shutdown_timeout_seconds),
    };
    match &settings.mail {
        Some(m) => tracing::info!(from = %m.from, "e-mail goes through PORTAL_SMTP_URL"),
        // A valid setup (development, or a merchant who mails customers itself): said once at
        // start, and on every message's record.
        None => tracing::info!(
            "PORTAL_SMTP_URL is not set: customers' e-mails are recorded as not_configured and not sent"
        ),
    }
    if config.webhooks_allow_insecure {
        tracing::warn!(
            "PORTAL_WEBHOOKS_ALLOW_INSECURE is on: webhooks may target http and private addresses"
        );
    }
    let state = AppState::new(store, Arc::new(tokens), settings);
    // An empty variable (as docker compose passes an unset one) means "generate a key".
    let preset = config
        .bootstrap_api_key
        .as_deref()
        .filter(|k| !k.is_empty());
    let created = state.api_keys.bootstrap(preset)?;
    let shown = match created {
        Some((key, _)) if preset.is_some() => {
            tracing::info!(key_id = %key.id, prefix = %key.prefix, "installed PORTAL_BOOTSTRAP_API_KEY as the first admin key");
            None
        }
        Some((_, plaintext)) => Some(plaintext),
        None => None,
    };
    Ok((Data::new(state), shown))
}

/// Starts serving on `listener`; the returned server runs until stopped or signalled.
/// Must be called inside an actix system (it also starts the housekeeping task).
pub fn start(
    state: Data<AppState>,
    listener: TcpListener,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    // Housekeeping holds nothing between its transactions: it simply ends with the node.
    actix_web::rt::spawn(housekeeping(state.clone()));
    let background = &state.workers;
    if let Some(every) = state.billing_every {
        background.spawn(|stop| billing_worker(state.clone(), every, stop));
    }
    if let Some(settings) = state.webhook_worker {
        background.spawn(|stop| crate::webhooks::worker(state.clone(), settings, stop));
    }
    if let Some(mail) = state.mail.clone() {
        if let Some(poll) = mail.poll {
            background.spawn(|stop| crate::mail::worker(state.clone(), mail, poll, stop));
        }
    }
    let state_timeout = state.shutdown_timeout;
    let contract = Contract::default();
    let workers = workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n.max(1),
    );
    let blocking = blocking_threads(state.store.pool_state().2, workers);
    let server = HttpServer::new(move || build_app(state.clone(), contract.clone()))
        .workers(workers)
        .worker_max_blocking_threads(blocking)
        .shutdown_timeout(state_timeout.as_secs())
        // Signals are handled by `stop_on_signal`, which drains before stopping.
        .disable_signals()
        .listen(listener)?;
    Ok(server.run())
}

/// How long a stopping server keeps taking up the connections it has already accepted before
/// it stops: actix-web drops, unanswered, any accepted connection a worker has not begun to
/// serve when the stop comes (seen under load: a request sent well before SIGTERM was cut off).
const DRAIN: std::time::Duration = std::time::Duration::from_millis(500);

/// SIGTERM and SIGINT, taken over from their default (ending the process at once). Installed
/// before the server listens, so a signal never finds the process without its handler.
pub struct StopSignals {
    term: actix_web::rt::signal::unix::Signal,
    int: actix_web::rt::signal::unix::Signal,
}

impl StopSignals {
    /// Must be called inside the runtime.
    pub fn install() -> std::io::Result<Self> {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

/// On SIGTERM or SIGINT: stop accepting, serve what was accepted (requests in flight finish,
/// within the shutdown timeout), then stop. The process manager's load balancer should have
/// stopped sending before (`/readyz` is the node's health, not its drain state).
pub async fn stop_on_signal(signals: StopSignals, server: actix_web::dev::ServerHandle) {
    let StopSignals { mut term, mut int } = signals;
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    tracing::info!(
        signal = name,
        "stopping: no new connections; finishing what was accepted"
    );
    server.pause().await;
    actix_web::rt::time::sleep(DRAIN).await;
    server.stop(true).await;
}

/// Threads each HTTP worker may run database work on: its share of the connection pool (at
/// least 2). A request's blocking work holds at most one connection at a time, so more threads
/// only wait for one; actix's default (512 a node) let a read-heavy load spread over some 60
/// threads, whose switching and cold caches cost more CPU than the work: capped at the pool's
/// share, `GET /v1/portal/overview` did 10–20% more requests a second on PostgreSQL.
fn blocking_threads(pool_size: u32, workers: usize) -> usize {
    (pool_size as usize).div_ceil(workers).max(2)
}

/// The billing worker: bills every subscription due (renewals, trial ends, cancellations at
/// period end, dunning retries), then sleeps. Each step is its own transaction over a claimed
/// row, so several drains on this node, and any number of replicas, may run at once, and a
/// crash loses or doubles nothing.
async fn billing_worker(
    state: Data<AppState>,
    every: std::time::Duration,
    mut stop: crate::workers::Stopping,
) {
    // A pass at once, then one every `every`, until the node stops (a pass is never cut short).
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) && stop.pause(every).await {
            return;
        }
        let now = domain::clock::now();
        let drains = (0..state.billing_concurrency).map(|_| {
            let billing = state.billing.clone();
            actix_web::web::block(move || billing.run_due(now))
        });
        let clocks = advance_clocks(state.clone());
        let both = futures_util::future::join(futures_util::future::join_all(drains), clocks);
        let (outcomes, ()) =
            tracing::Instrument::instrument(both, tracing::info_span!("billing_pass")).await;
        for outcome in outcomes {
            match outcome {
                Ok(Ok(d)) if d.steps + d.failures > 0 => {
                    state.metrics.billing(d.steps, d.failures);
                    tracing::info!(steps = d.steps, failures = d.failures, "billing pass")
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "billing pass failed"),
                Err(e) => tracing::warn!(error = %e, "billing pass could not run"),
            }
        }
    }
}

/// Steps one worker takes on an advancing test clock before it writes the clock's progress
/// (each step is its own short transaction).
const CLOCK_BATCH: usize = 200;

/// Advances test clocks that are waiting (see `domain::test_clock`), a bounded batch at a
/// time, until none is left that no other worker holds.
pub async fn advance_clocks(state: Data<AppState>) {
    loop {
        let billing = state.billing.clone();
        match actix_web::web::block(move || billing.advance_clocks(CLOCK_BATCH)).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) => return,
            Ok(Err(e)) => tracing::warn!(error = %e, "test clock advance failed"),
            Err(e) => tracing::warn!(error = %e, "test clock advance could not run"),
        }
        return;
    }
}

/// Periodic work. At start: the wallets flagged for a check of their lots. Every minute:
/// rate-limiter keys back at full allowance, credit lots past their expiry applied to their
/// wallets, and test clocks left advancing taken up again. Every hour: webhook events past the 30-day replay
/// window with their delivery log, and idempotency records past their 24 h retention (every
/// node runs it; the deletes are idempotent, so replicas need no coordination).
async fn housekeeping(state: Data<AppState>) {
    let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(60));
    for minute in 0u64.. {
        tick.tick().await;
        state.limits.prune();
        if minute == 0 {
            // Once after an upgrade: lots an earlier version left unwritten are rewritten.
            let wallets = state.wallets.clone();
            chore("credit lot check (wallets)", move || {
                wallets.check_flagged_lots()
            })
            .await;
        }
        // Expired credit lots leave balances even for wallets nobody reads.
        let wallets = state.wallets.clone();
        chore("credit expiry sweep (wallets)", move || {
            wallets.sweep_expired()
        })
        .await;
        // A test clock whose advance was cut short (a crash, a restart) goes on, also on a
        // node with the billing worker off.
        advance_clocks(state.clone()).await;
        if minute % 60 != 0 {
            continue;
        }
        let webhooks = state.webhooks.clone();
        let now = domain::clock::now();
        chore("webhook event purge, past 30 days (events)", move || {
            webhooks.purge(now)
        })
        .await;
        let repo = state.idempotency.clone();
        let before = now - domain::idempotency::RETENTION;
        chore("idempotency record purge (records)", move || {
            repo.purge(before)
        })
        .await;
    }
}

/// Runs one housekeeping chore on the blocking pool and logs how many things it handled, or why
/// it failed.
async fn chore(
    name: &'static str,
    work: impl FnOnce() -> domain::DomainResult<usize> + Send + 'static,
) {
    match actix_web::web::block(work).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(count = n, "{name}"),
        Ok(Err(e)) => tracing::warn!(error = %e, "{name} failed"),
        Err(e) => tracing::warn!(error = %e, "{name} could not run"),
    }
}
