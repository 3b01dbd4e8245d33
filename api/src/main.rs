//! `portal-api`: the billing customer-portal server and its admin commands.

use std::net::TcpListener;
use std::process::ExitCode;

use api::config::Config;
use api::server;
use clap::{Parser, Subcommand};
use domain::id::TenantId;
use domain::page::PageRequest;
use storage::Store;

#[derive(Parser)]
#[command(
    name = "portal-api",
    version,
    about = "Billing customer-portal API server"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default). `--demo` also seeds a demo customer.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage admin API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage accounts (tenants): one deployment can serve several merchants.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Recount every usage counter from the hourly rollups, mend the ones that differ and
    /// print each difference (tab-separated); exits non-zero when one was found.
    RebuildCounters,
    /// Copy the SQLite database to FILE while the server runs: a consistent snapshot (SQLite's
    /// `VACUUM INTO`) that opens as it is. Restore by starting a server with DATABASE_URL at it
    /// (see docs/operations.md). PostgreSQL databases are backed up with pg_dump.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: std::path::PathBuf,
    },
    /// Print a new random portal token key (PASERK k4.local) for PORTAL_TOKEN_KEY.
    TokenKey,
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Subcommand)]
enum TenantsCommand {
    /// Create an account and print its id and first admin key (shown once).
    Create {
        #[arg(long)]
        name: String,
    },
    /// List account ids.
    List,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key and print it once (on an empty database this also creates the account).
    Create {
        #[arg(long, default_value = "cli")]
        name: String,
        /// Account (tenant) id; optional when there is only one.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List keys (prefixes only).
    List {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id.
    Revoke {
        id: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let traces = match api::traces::Traces::from_env() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (traces, tracer) = traces.unzip();
    api::logging::init(cli.config.log_format, tracer);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config),
        Command::Migrate => migrate(&cli.config),
        Command::RebuildCounters => rebuild_counters(&cli.config),
        Command::Backup { file } => backup(&cli.config, &file),
        Command::Keys { command } => keys(&cli.config, command),
        Command::Tenants { command } => tenants(&cli.config, command),
        Command::TokenKey => {
            println!("{}", api::tokens::PasetoCodec::generate_key());
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                server::openapi_spec()
                    .to_pretty_json()
                    .expect("spec serialises")
            );
            Ok(())
        }
    };
    if let Some(t) = &traces {
        t.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyResult = Result<(), Box<dyn std::error::Error>>;

fn serve(config: &Config) -> AnyResult {
    let (state, bootstrap_key) = server::prepare(config)?;
    if let Some(key) = bootstrap_key {
        // Printed once, on stdout only; it is never logged and cannot be shown again.
        println!(
            "Created the first admin API key (store it now, it is not shown again):\n\n    {key}\n"
        );
    }
    if config.demo {
        let demo = api::demo::seed(&state)?;
        println!(
            "Demo data is ready: {}'s customer {} ({}).\n\
             Portal login URL (single use, 10 minutes):\n\n    {}\n\n\
             Portal session token (X-Session-Token, until {}):\n\n    {}\n\n\
             The session allows every action: pay a bill from credits,\n\
             change the plan (Starter, Pro, Scale) or cancel it at period end, manage payment\n\
             methods, edit the profile.\n",
            demo.merchant_name,
            demo.customer_name,
            demo.customer_id,
            demo.url,
            demo.expires_at.to_rfc3339(),
            demo.token
        );
    }
    let listener = TcpListener::bind(config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(
        listen = %config.listen,
        backend = state.store.backend().as_str(),
        "serving; Swagger UI at http://{}/swagger-ui/",
        config.listen
    );
    actix_web::rt::System::new().block_on(async move {
        // On SIGTERM or SIGINT the server stops accepting and finishes the requests in flight
        // (at most the shutdown timeout); then the workers finish what they hold.
        let (workers, within) = (state.workers.clone(), state.shutdown_timeout);
        let signals = server::StopSignals::install()?;
        let running = server::start(state, listener, config.workers)?;
        actix_web::rt::spawn(server::stop_on_signal(signals, running.handle()));
        running.await?;
        if workers.stop(within).await {
            tracing::info!("stopped: every request answered, every worker's work recorded");
        } else {
            tracing::warn!(
                "stopped: some background work was still running and is left to its lease"
            );
        }
        std::io::Result::Ok(())
    })?;
    Ok(())
}

fn backup(config: &Config, file: &std::path::Path) -> AnyResult {
    let url = config.database()?;
    // Connecting creates a missing SQLite file: a wrong path would back up an empty database.
    if let storage::DatabaseUrl::Sqlite(path) = &url {
        if !std::path::Path::new(path).exists() {
            return Err(
                format!("no database at {path} (check DATABASE_URL or PORTAL_DATA_DIR)").into(),
            );
        }
    }
    let store = Store::connect(&url, 1)?;
    store.backup_to(file)?;
    let bytes = std::fs::metadata(file)?.len();
    println!("backed up to {} ({bytes} bytes)", file.display());
    Ok(())
}

fn migrate(config: &Config) -> AnyResult {
    let store = Store::connect(&config.database()?, 1)?;
    let applied = store.migrate()?;
    println!(
        "applied {} migration(s){}",
        applied.len(),
        if applied.is_empty() {
            String::new()
        } else {
            format!(": {}", applied.join(", "))
        }
    );
    Ok(())
}

fn rebuild_counters(config: &Config) -> AnyResult {
    use domain::ports::UsageRepo;
    let store = Store::connect(&config.database()?, 1)?;
    store.migrate()?;
    let drifts = store.rebuild_counters()?;
    for d in &drifts {
        println!(
            "{}\t{}\t{}\t{}\tstored {} events, sum {}, max {}\trebuilt {} events, sum {}, max {}",
            d.tenant_id,
            d.customer_id,
            d.feature_key,
            d.period_start.to_rfc3339(),
            d.stored.0,
            d.stored.1,
            d.stored.2,
            d.rebuilt.0,
            d.rebuilt.1,
            d.rebuilt.2
        );
    }
    println!(
        "{} counter(s) differed from the rollups and were mended",
        drifts.len()
    );
    if drifts.is_empty() {
        Ok(())
    } else {
        Err("usage counters differed from the rollups (mended)".into())
    }
}

fn tenants(config: &Config, command: TenantsCommand) -> AnyResult {
    let (state, bootstrap_key) = server::prepare(&Config {
        db_pool_size: 1,
        ..config.clone()
    })?;
    if let Some(key) = bootstrap_key {
        println!("The database was empty: created the default account with admin key {key}");
    }
    match command {
        TenantsCommand::Create { name } => {
            let (key, plaintext) = state.api_keys.create_tenant(&name)?;
            println!("{}\t{plaintext}", key.tenant_id);
        }
        TenantsCommand::List => {
            for id in state.api_keys.tenant_ids()? {
                println!("{id}");
            }
        }
    }
    Ok(())
}

fn keys(config: &Config, command: KeysCommand) -> AnyResult {
    let (state, bootstrap_key) = server::prepare(&Config {
        db_pool_size: 1,
        ..config.clone()
    })?;
    let svc = &state.api_keys;
    let tenant_of = |given: Option<String>| -> Result<TenantId, Box<dyn std::error::Error>> {
        if let Some(t) = given {
            return Ok(t.into());
        }
        match svc.tenant_ids()?.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err("no account exists yet".into()),
            _ => Err("several accounts exist: pass --tenant".into()),
        }
    };
    match command {
        KeysCommand::Create { name, tenant } => {
            if let Some(key) = bootstrap_key {
                println!("{key}");
                return Ok(());
            }
            let (_, plaintext) = svc.create(&tenant_of(tenant)?, &name)?;
            println!("{plaintext}");
        }
        KeysCommand::List { tenant } => {
            let tenant = tenant_of(tenant)?;
            let mut page = PageRequest::new(Some(100), None)?;
            loop {
                let keys = svc.list(&tenant, &page)?;
                for k in &keys.items {
                    let status = if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        k.id,
                        k.prefix,
                        status,
                        k.created_at.to_rfc3339(),
                        k.name
                    );
                }
                match keys.next_cursor {
                    Some(c) => page = PageRequest::new(Some(100), Some(&c))?,
                    None => break,
                }
            }
        }
        KeysCommand::Revoke { id, tenant } => {
            let key = svc.revoke(&tenant_of(tenant)?, &domain::id::parse(&id)?)?;
            println!("revoked {} ({})", key.id, key.prefix);
        }
    }
    Ok(())
}
