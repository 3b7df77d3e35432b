//! Engine settings, with the defaults a production node wants.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The company (legal entity) used when a call names none (`EMSG_COMPANY`).
    pub default_company: String,
    /// A token expiring sooner than this is refreshed before it is handed to a sender.
    pub token_skew: Duration,
    /// Timeout of one request to a provider.
    pub http_timeout: Duration,
    pub retry: RetryPolicy,
    /// How long one refresh may hold a connection's lease before another node may take over.
    pub lease: Duration,
    /// How long a caller waits for another thread's or node's refresh of the same connection.
    pub wait_for_refresh: Duration,
    /// Leeway for ID-token times.
    pub id_token_leeway: Duration,
    /// Which hosts requests may go to (checked on every URL and on every DNS answer). The
    /// default refuses loopback; tests with local stand-ins allow it.
    pub urls: emsg_webapps::UrlRules,
}

/// Transient failures (network, timeout, 5xx, unreadable answers) are retried with exponential
/// back-off and full jitter; a dead grant is never retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_company: "default".to_owned(),
            token_skew: Duration::from_secs(60),
            http_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(180),
            wait_for_refresh: Duration::from_secs(200),
            id_token_leeway: Duration::from_secs(60),
            urls: emsg_webapps::UrlRules::default(),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `attempt` (1-based): full jitter over an exponential cap.
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(random % millis + millis / 4)
    }
}
