//! `emsg serve`: the server on a loopback port, ready on first run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use emsg_use_cases::first_run::{self, FirstImport};
use emsg_use_cases::import::ImportFile;

use crate::context::{Global, runtime};

#[derive(Debug, clap::Args)]
pub struct Serve {
    /// Address to listen on. Keep it on loopback unless a TLS proxy stands in front.
    #[arg(long, env = "EMSG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Imported when the database has no web applications yet.
    #[arg(long, env = "EMSG_WEB_APPS", default_value = "web-apps.yaml")]
    pub web_apps: PathBuf,
    /// Database connections in the pool.
    #[arg(long, env = "EMSG_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// The address users reach this server at, e.g. `https://emsg.example.com` behind a TLS
    /// proxy. Session cookies are marked `Secure` when it is https.
    #[arg(long, env = "EMSG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Reverse proxies in front of this server whose `X-Forwarded-For` is believed, e.g.
    /// `127.0.0.1` (comma-separated). HMRC's fraud-prevention headers then carry the client's
    /// address and the hops between; without it they carry the address the connection came from.
    #[arg(long, env = "EMSG_TRUSTED_PROXY", value_delimiter = ',')]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// How long a session lives after its log-in however busy it is (`12h`, `7d`), beside the
    /// 8 idle hours that also end it.
    #[arg(long, env = "EMSG_SESSION_LIFETIME", default_value = "7d", value_parser = parse_lifetime)]
    pub session_lifetime: std::time::Duration,
    /// Environment variables that `{env: …}` references may read when they come from the
    /// Import page, the edit page or the API: names and `PREFIX*`, comma-separated, e.g.
    /// `HMRC_*,NO_*`. Default: none. emsg's own settings (EMSG_*) are never readable.
    #[arg(long, env = "EMSG_PAGE_ENV_VARS", default_value = "")]
    pub page_env_vars: String,
    /// How long this node holds a processing's step it took (`120s`): if it dies, another node
    /// takes the step when this ends. Longer than any step takes.
    #[arg(long, env = "EMSG_STEP_LEASE", default_value = "120s", value_parser = parse_lifetime)]
    pub step_lease: std::time::Duration,
    /// How many processing steps this node runs at once; 0: none (a node that only serves the
    /// pages and the API, while other nodes run the steps).
    #[arg(long, env = "EMSG_STEP_CONCURRENCY", default_value_t = emsg_messages::DEFAULT_CONCURRENCY)]
    pub step_concurrency: usize,
}

/// How often an idle node looks for due steps: a step waits at most this long past its time.
const STEP_IDLE: std::time::Duration = std::time::Duration::from_millis(250);

/// This node's name in the leases of the steps it takes: the host and the process.
fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!(
        "{}:{}",
        if host.is_empty() { "emsg" } else { &host },
        std::process::id()
    )
}

fn parse_lifetime(text: &str) -> Result<std::time::Duration, String> {
    emsg_webapps::Lifetime::parse(text.trim())
        .map(|l| l.as_duration())
        .map_err(|e| e.to_string())
}

pub fn run(global: &Global, args: Serve) -> anyhow::Result<ExitCode> {
    let page_env_vars =
        emsg_webapps::PageEnvVars::parse(&args.page_env_vars).map_err(anyhow::Error::msg)?;
    let opened = global.open()?;
    first_run(global, &args, &opened)?;
    let pool =
        emsg_store::db::pool(&opened.url, args.pool_size).context("opening the database pool")?;
    // One gate in front of the pool for the engine, the messenger and the pages together.
    let db = emsg_store::db::Gateway::new(pool);
    let ring = opened.ring.clone();
    let engine = emsg_engine::Engine::new(
        db.clone(),
        ring.clone(),
        crate::context::engine_config(global)?,
    )?;
    let options = emsg_web::WebOptions {
        public_url: args.public_url.clone(),
        trusted_proxies: args.trusted_proxy.clone(),
        session_lifetime: Some(args.session_lifetime),
        page_env_vars,
    };
    // One messenger for the server: the page and the API send through it.
    let messenger = emsg_messages::Messenger::new(
        engine.clone(),
        db.clone(),
        crate::context::vendor_from_env()?,
    );
    // Every node runs the processings' due steps; the database says whose each one is.
    let processor = emsg_messages::Processor::new(messenger.clone(), node_name())
        .with_lease(args.step_lease)
        .with_concurrency(args.step_concurrency);
    let state =
        emsg_web::AppState::new(db, ring, engine.clone(), options)?.with_messenger(messenger);
    let listen = args.listen;
    actix_web::rt::System::new().block_on(async move {
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new().configure(emsg_web::config(state.clone()))
        })
        .bind(listen)
        .with_context(|| format!("listening on {listen}"))?;
        for address in server.addrs() {
            tracing::info!(%address, "emsg is serving: open http://{address}/");
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut steps_stopped = stopped.clone();
        let runs_steps = args.step_concurrency > 0;
        let steps = actix_web::rt::spawn(async move {
            if runs_steps {
                processor
                    .run(STEP_IDLE, async move {
                        let _ = steps_stopped.wait_for(|stop| *stop).await;
                    })
                    .await;
            }
        });
        let scheduler = actix_web::rt::spawn(async move {
            engine
                .run_scheduler(emsg_engine::SchedulerConfig::default(), stopped)
                .await;
        });
        let served = server
            .run()
            .await
            .context("the server stopped with an error");
        // Let in-flight refreshes finish (the scheduler bounds this by its shutdown grace).
        let _ = stop.send(true);
        let _ = scheduler.await;
        let _ = steps.await;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Imports web-apps.yaml into an empty database and creates the first administrator.
fn first_run(global: &Global, args: &Serve, opened: &crate::context::Opened) -> anyhow::Result<()> {
    let ctx = opened.use_cases(global)?;
    let runtime = runtime()?;
    if !runtime.block_on(first_run::has_web_applications(&ctx))? && args.web_apps.exists() {
        let shown = args.web_apps.display().to_string();
        let bytes = std::fs::read(&args.web_apps).with_context(|| format!("reading {shown}"))?;
        // The file the operator named: its references are the operator's choice.
        let file = ImportFile {
            name: shown.clone(),
            bytes,
            templates: crate::context::templates_beside(&args.web_apps),
        };
        // Nodes starting together on an empty database: one imports, the others find the
        // records there.
        match runtime
            .block_on(first_run::import_into_empty(&ctx, file))?
            .map_err(|errors| anyhow::anyhow!("{errors}"))?
        {
            FirstImport::Imported(report) => {
                for warning in &report.warnings {
                    tracing::warn!("{warning}");
                }
                tracing::info!(records = report.records.len(), file = %shown, "imported the web applications into the empty database");
            }
            FirstImport::ByAnotherNode => {
                tracing::info!(file = %shown, "another node imported the web applications first");
            }
        }
    }
    if let Some((user, password)) = runtime.block_on(first_run::first_administrator(&ctx))? {
        // Shown once on the terminal, never logged: it exists only as a hash from now on.
        println!(
            "created the first administrator `{}`; one-time password: {}",
            user.name,
            password.expose()
        );
        println!("log in with it and choose your own password (the page asks at once)");
        println!("add more users with `emsg users add NAME --role administrator|finance`");
    }
    Ok(())
}
