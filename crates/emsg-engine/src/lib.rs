//! The action engine: Get authorization code, callback, Obtain access token, Refresh, Exchange,
//! Disconnect and "a valid token for senders", for every web-application record alike.
//!
//! Provider differences live in the record's fields only. No web framework in here: the admin
//! page and the command line both call [`Engine`].

mod actions;
mod audit;
mod config;
mod error;
mod http;
mod metrics;
mod oauth;
mod random;
mod revocation;
mod scheduler;
mod single_flight;
mod token_cache;

pub use actions::Acting;
pub use actions::callback::{CallbackOutcome, CallbackParams};
pub use actions::disconnect::Disconnected;
pub use actions::get_code::{AuthorizationStart, CodeRequest};
pub use actions::status::ConnectionView;
pub use actions::valid_token::AccessToken;
pub use config::{EngineConfig, RetryPolicy};
pub use error::{EngineError, ProviderFailure, ProviderFailureKind};
pub use random::state_hash;
pub use scheduler::{SchedulerConfig, SweepReport, is_due};

use std::sync::Arc;

use emsg_seal::{KeyRing, SharedKeyRing};
use emsg_store::db::{DbConnection, Gateway};

/// One engine per process; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    db: Gateway,
    ring: SharedKeyRing,
    http: reqwest::Client,
    verifier: emsg_oidc::Verifier,
    config: EngineConfig,
    /// Identifies this process in refresh leases.
    node_id: String,
    flights: single_flight::Flights,
    metrics: metrics::Metrics,
    tokens: token_cache::TokenCache,
}

impl Engine {
    /// `ring` may be shared with the process's key watcher, which swaps in the keys a rotation
    /// announces; every action takes the ring as it is at that moment. `db` is a pool, or the
    /// gateway the process's other users of that pool share.
    pub fn new(
        db: impl Into<Gateway>,
        ring: impl Into<SharedKeyRing>,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let http = http::client(&config)?;
        let node_id = format!("{}-{}", std::process::id(), random::token(8)?);
        Ok(Self {
            inner: Arc::new(Inner {
                verifier: emsg_oidc::Verifier::new(http.clone()).with_destination_check({
                    let rules = config.urls;
                    Arc::new(move |url: &str| rules.check_destination(url))
                }),
                db: db.into(),
                ring: ring.into(),
                http,
                config,
                node_id,
                flights: single_flight::Flights::default(),
                metrics: metrics::Metrics::default(),
                tokens: token_cache::TokenCache::default(),
            }),
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The engine's HTTP client (rustls, no redirects, the configured timeouts), for callers
    /// of the providers' APIs with the engine's tokens: one connection pool per process.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.inner.http
    }

    fn ring(&self) -> Arc<KeyRing> {
        self.inner.ring.load()
    }

    /// Runs blocking database work through the gateway, with the key ring as it is now.
    async fn db<T, F>(&self, work: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &KeyRing) -> Result<T, EngineError> + Send + 'static,
    {
        let ring = self.inner.ring.load();
        self.inner.db.run(move |conn| work(conn, &ring)).await
    }
}
