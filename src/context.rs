//! Opening the database and the master key, the same way for every command.

use std::path::PathBuf;

use anyhow::Context as _;
use emsg_seal::SharedKeyRing;
use emsg_store::db::{self, DatabaseUrl};
use emsg_store::key_watch::KeyWatch;
use emsg_store::master_key::{self, KeyEvents, KeySource};

/// Settings every command shares (from flags or environment variables).
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// The database: `sqlite://PATH` (created on first use) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "EMSG_DATABASE_URL",
        default_value = "sqlite://./emsg.db",
        global = true
    )]
    pub database_url: String,
    /// The master-key file, created with mode 0600 on first run. Ignored when EMSG_MASTER_KEY
    /// (32 bytes, base64) is set; several nodes sharing one database must share the key.
    #[arg(
        long,
        env = "EMSG_KEY_FILE",
        default_value = "./emsg.key",
        global = true
    )]
    pub key_file: PathBuf,
    /// A master key that opens values an earlier key sealed (a backup of a key file replaced by
    /// a rotation): it opens, never seals. `emsg keys status` shows what it opens, and
    /// `emsg keys rotate` seals all of it again under a new key.
    #[arg(long, env = "EMSG_PREVIOUS_KEY_FILE", global = true)]
    pub previous_key_file: Option<PathBuf>,
    /// The company (legal entity) whose connections the auth commands act on.
    #[arg(long, env = "EMSG_COMPANY", default_value = "default", global = true)]
    pub company: String,
    /// Allow outbound URLs with plain http and IP literals to this machine (127.0.0.0/8, ::1,
    /// localhost), for local stand-ins of the providers. Never for production: other private
    /// addresses stay refused either way.
    #[arg(
        long,
        env = "EMSG_ALLOW_LOOPBACK_URLS",
        value_name = "true|false",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub allow_loopback_urls: bool,
}

impl Global {
    pub fn database_url(&self) -> anyhow::Result<DatabaseUrl> {
        Ok(DatabaseUrl::parse(&self.database_url)?)
    }

    /// The rules for outbound URLs, from `--allow-loopback-urls` / `EMSG_ALLOW_LOOPBACK_URLS`.
    pub fn url_rules(&self) -> emsg_webapps::UrlRules {
        emsg_webapps::UrlRules {
            allow_loopback: self.allow_loopback_urls,
        }
    }

    pub fn key_source(&self) -> KeySource {
        match std::env::var(emsg_seal::key_file::ENV_VAR) {
            Ok(value) if !value.trim().is_empty() => KeySource::Env(value),
            _ => KeySource::File(self.key_file.clone()),
        }
    }

    /// Connects, migrates, loads the key that opens this database, and starts the key watcher
    /// that follows a rotation run elsewhere while this process works.
    pub fn open(&self) -> anyhow::Result<Opened> {
        let mut opened = self.open_unwatched()?;
        let poll =
            duration_from_env("EMSG_KEY_POLL")?.unwrap_or(emsg_store::key_watch::DEFAULT_POLL);
        let description = format!(
            "emsg {} (pid {})",
            std::env::args().nth(1).unwrap_or_default(),
            std::process::id()
        );
        opened.watch = Some(
            KeyWatch::start(&opened.url, opened.ring.clone(), description, poll)
                .context("starting the key watcher")?,
        );
        Ok(opened)
    }

    /// [`Global::open`] without the key watcher: for `emsg keys`, which rotates itself.
    pub fn open_unwatched(&self) -> anyhow::Result<Opened> {
        let url = self.database_url()?;
        if let DatabaseUrl::Sqlite(path) = &url
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let mut conn = db::connect(&url).with_context(|| format!("opening the database {url}"))?;
        let applied = db::run_migrations(&mut conn)?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), database = %url, "applied database migrations");
        }
        let source = self.key_source();
        let previous = self
            .previous_key_file
            .as_deref()
            .map(emsg_seal::key_file::load)
            .transpose()
            .context("reading --previous-key-file")?;
        let (ring, events) = master_key::open_ring_with(&mut conn, &source, previous)?;
        log_key_events(&events);
        Ok(Opened {
            url,
            ring: SharedKeyRing::new(ring),
            source,
            watch: None,
        })
    }
}

fn log_key_events(events: &KeyEvents) {
    if let Some(path) = &events.created_key_file {
        tracing::warn!(path = %path.display(), "created a new master key; back this file up: without it no secret can be read");
    }
    if events.finished_rotation {
        tracing::info!("finished an interrupted key rotation: the new key file is in place");
    }
    if events.discarded_rotation {
        tracing::info!(
            "discarded the new key of a rotation that did not commit; the current key stays"
        );
    }
}

impl Opened {
    /// The action engine over a small pool of this database, for the auth commands.
    pub fn engine(&self, global: &Global) -> anyhow::Result<emsg_engine::Engine> {
        let pool = db::pool(&self.url, 4).context("opening the database pool")?;
        let config = engine_config(global)?;
        Ok(emsg_engine::Engine::new(pool, self.ring.clone(), config)?)
    }
}

impl Opened {
    /// What the use cases run with: this database's pool, the key ring and the engine.
    pub fn use_cases(&self, global: &Global) -> anyhow::Result<emsg_use_cases::Context> {
        let pool = db::pool(&self.url, 4).context("opening the database pool")?;
        let engine = self.engine(global)?;
        Ok(emsg_use_cases::Context::new(
            pool,
            self.ring.clone(),
            engine,
        ))
    }
}

impl Opened {
    /// `ctx` with a messenger over a small pool of this database, for the message commands.
    pub fn with_messenger(
        &self,
        ctx: emsg_use_cases::Context,
    ) -> anyhow::Result<emsg_use_cases::Context> {
        let pool = db::pool(&self.url, 4).context("opening the database pool")?;
        let messenger =
            emsg_messages::Messenger::new(ctx.engine().clone(), pool, vendor_from_env()?);
        Ok(ctx.with_messenger(messenger))
    }
}

/// The vendor details for fraud-prevention headers: `EMSG_PUBLIC_IP` when set.
pub fn vendor_from_env() -> anyhow::Result<emsg_messages::Vendor> {
    let mut vendor = emsg_messages::Vendor::default();
    if let Ok(ip) = std::env::var("EMSG_PUBLIC_IP")
        && !ip.trim().is_empty()
    {
        vendor.public_ip = Some(
            ip.trim()
                .parse()
                .with_context(|| format!("EMSG_PUBLIC_IP `{ip}` is not an IP address"))?,
        );
    }
    Ok(vendor)
}

/// A runtime for the commands that run async use cases or the engine.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Body templates for a web-apps.yaml file: `templates/messages/` beside the file, then the
/// templates shipped with emsg.
pub fn templates_beside(file: &std::path::Path) -> emsg_webapps::MessageTemplates {
    let folder = file
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join("templates")
        .join("messages");
    emsg_webapps::MessageTemplates::new(Some(folder))
}

/// The engine's settings: the company and the outbound URL rules, plus `EMSG_REFRESH_LEASE`
/// and `EMSG_HTTP_TIMEOUT` (durations such as `180s`) when set.
pub fn engine_config(global: &Global) -> anyhow::Result<emsg_engine::EngineConfig> {
    let mut config = emsg_engine::EngineConfig {
        default_company: global.company.clone(),
        urls: global.url_rules(),
        ..Default::default()
    };
    if let Some(lease) = duration_from_env("EMSG_REFRESH_LEASE")? {
        config.lease = lease;
    }
    if let Some(timeout) = duration_from_env("EMSG_HTTP_TIMEOUT")? {
        config.http_timeout = timeout;
    }
    Ok(config)
}

/// A duration such as `90s` or `3m` from an environment variable, if set.
pub fn duration_from_env(var: &str) -> anyhow::Result<Option<std::time::Duration>> {
    match std::env::var(var) {
        Ok(text) if !text.trim().is_empty() => emsg_webapps::Lifetime::parse(text.trim())
            .map(|l| Some(l.as_duration()))
            .map_err(|e| anyhow::anyhow!("{var}={text}: {e}")),
        _ => Ok(None),
    }
}

pub struct Opened {
    pub url: DatabaseUrl,
    /// Shared with the key watcher, which swaps in the keys of a rotation run elsewhere.
    pub ring: SharedKeyRing,
    pub source: KeySource,
    /// Follows rotations while this process runs; stops (and deregisters) when dropped.
    pub watch: Option<KeyWatch>,
}
