//! What every request handler shares: the pool, the key ring, the engine, the templates, the
//! sessions and the log-in throttle. Nothing a later request depends on is kept here: sessions,
//! throttle counts, parked callbacks and import files awaiting Confirm are in the database, so
//! any `serve` node behind a balancer serves any step.

use std::sync::Arc;
use std::time::Duration;

use emsg_engine::Engine;
use emsg_messages::Messenger;
use emsg_seal::{KeyRing, SharedKeyRing};
use emsg_store::db::{Gateway, PooledConnection};
use emsg_store::web_applications as records;
use emsg_use_cases::Context;

use crate::error::WebError;
use crate::session::Sessions;
use crate::templates::Templates;
use crate::throttle::Throttle;

/// Settings of the web face.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// The address users reach the server at (`--public-url`); cookies are `Secure` when it is
    /// https.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`): the client's
    /// address for HMRC's fraud-prevention headers is then the first one they did not add.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long a session lives after its log-in, however busy (`--session-lifetime`); `None`
    /// for [`crate::session::DEFAULT_LIFETIME`].
    pub session_lifetime: Option<Duration>,
    /// The environment variables `{env: …}` references from the pages and the API may read
    /// (`EMSG_PAGE_ENV_VARS`); none by default.
    pub page_env_vars: emsg_webapps::PageEnvVars,
}

/// The path the callback is served at when no record names one.
pub const DEFAULT_CALLBACK_PATH: &str = "/oauth/callback";

#[derive(Clone)]
pub struct AppState {
    /// What the use cases run with: the database, the key ring, the engine, the messenger.
    pub(crate) ctx: Context,
    pub(crate) engine: Engine,
    pub(crate) templates: Arc<Templates>,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) throttle: Arc<Throttle>,
    pub(crate) secure_cookies: bool,
    pub(crate) callback_paths: Arc<Vec<String>>,
    /// The unfiltered pages of the record list, while the names' generation holds.
    pub(crate) names: Arc<crate::names_cache::NamesCache>,
    pub(crate) trusted_proxies: Arc<Vec<std::net::IpAddr>>,
    page_env_vars: Arc<emsg_webapps::PageEnvVars>,
}

impl AppState {
    /// `db` is a pool, or the gateway the engine and the messenger of this process share.
    pub fn new(
        db: impl Into<Gateway>,
        ring: impl Into<SharedKeyRing>,
        engine: Engine,
        options: WebOptions,
    ) -> Result<Self, WebError> {
        let public_url = options
            .public_url
            .as_deref()
            .map(|u| {
                url::Url::parse(u).map_err(|e| {
                    WebError::BadRequest(format!("--public-url `{u}` is not a URL: {e}"))
                })
            })
            .transpose()?;
        let gateway: Gateway = db.into();
        let callback_paths = {
            let mut conn = gateway.pool().get().map_err(emsg_store::StoreError::from)?;
            callback_paths(&records::list(&mut conn)?, public_url.as_ref())
        };
        let ctx = Context::new(gateway, ring, engine.clone());
        let sessions = Arc::new(Sessions::new(
            ctx.clone(),
            options
                .session_lifetime
                .unwrap_or(crate::session::DEFAULT_LIFETIME),
        ));
        Ok(Self {
            ctx,
            engine,
            templates: Arc::new(Templates::load()?),
            sessions,
            throttle: Arc::new(Throttle::default()),
            secure_cookies: public_url.as_ref().is_some_and(|u| u.scheme() == "https"),
            callback_paths: Arc::new(callback_paths),
            names: Arc::default(),
            trusted_proxies: Arc::new(options.trusted_proxies),
            page_env_vars: Arc::new(options.page_env_vars),
        })
    }

    /// The messenger the message pages and API send with.
    pub fn with_messenger(mut self, messenger: Messenger) -> Self {
        self.ctx = self.ctx.with_messenger(messenger);
        self
    }

    /// The key ring as it is now (a rotation elsewhere may add keys while the server runs).
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ctx.ring()
    }

    /// The environment variables `{env: …}` references from the pages and the API may read.
    pub(crate) fn page_env_vars(&self) -> emsg_webapps::PageEnvVars {
        (*self.page_env_vars).clone()
    }

    /// Runs blocking database work off the async workers.
    pub async fn with_conn<T, F>(&self, work: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PooledConnection) -> Result<T, WebError> + Send + 'static,
    {
        self.ctx.run(work).await
    }
}

/// The distinct paths of the records' redirect URLs that this server answers: those on a
/// loopback host or on the public URL's host. Always includes [`DEFAULT_CALLBACK_PATH`].
fn callback_paths(all: &[records::WebApplication], public: Option<&url::Url>) -> Vec<String> {
    let mut paths = vec![DEFAULT_CALLBACK_PATH.to_owned()];
    for record in all {
        let Some(url) = record
            .redirect_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
        else {
            continue;
        };
        let host = url.host_str().unwrap_or_default();
        let ours = matches!(host, "127.0.0.1" | "localhost" | "[::1]")
            || public.is_some_and(|p| p.host_str() == Some(host));
        let path = url.path().to_owned();
        // The pages' own paths keep their handlers; `/web-applications` (Dynamics' habit of
        // redirecting to the page itself) is handled by the page when `state` is present.
        let reserved = [
            "/web-applications",
            "/login",
            "/logout",
            "/api/",
            "/static/",
            "/users",
            "/account/",
            "/my-connections",
            "/audit",
            "/import",
            "/messages",
            "/healthz",
            "/readyz",
        ]
        .iter()
        .any(|r| path.starts_with(r));
        if ours && !reserved && path.starts_with('/') && path.len() > 1 && !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}
