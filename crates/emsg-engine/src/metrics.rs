//! Prometheus text for `/metrics`: refreshes by outcome, refresh latency, connections by status,
//! seconds until the earliest expiry.

use std::sync::Mutex;
use std::time::Duration;

use emsg_store::connections::{self, Status};

use crate::Engine;
use crate::error::EngineError;

/// Upper bounds of the refresh-latency histogram, in seconds.
const BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Default)]
struct Counters {
    /// (outcome, count): ok, reauthorization_required, refresh_failing, rejected…
    refreshes: std::collections::BTreeMap<&'static str, u64>,
    buckets: Vec<u64>,
    latency_sum: f64,
    latency_count: u64,
}

impl Metrics {
    pub fn record_refresh(&self, outcome: &'static str, took: Duration) {
        let mut counters = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counters.refreshes.entry(outcome).or_default() += 1;
        if counters.buckets.is_empty() {
            counters.buckets = vec![0; BUCKETS.len()];
        }
        let secs = took.as_secs_f64();
        for (bucket, bound) in counters.buckets.iter_mut().zip(BUCKETS) {
            if secs <= *bound {
                *bucket += 1;
            }
        }
        counters.latency_sum += secs;
        counters.latency_count += 1;
    }

    fn render(&self, out: &mut String) {
        let counters = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str(
            "# HELP emsg_refreshes_total Refreshes at the provider by outcome (this process).\n",
        );
        out.push_str("# TYPE emsg_refreshes_total counter\n");
        for outcome in ["ok", "reauthorization_required", "refresh_failing"] {
            let count = counters.refreshes.get(outcome).copied().unwrap_or(0);
            out.push_str(&format!(
                "emsg_refreshes_total{{outcome=\"{outcome}\"}} {count}\n"
            ));
        }
        out.push_str("# HELP emsg_refresh_duration_seconds Time of one refresh at the provider, retries included.\n");
        out.push_str("# TYPE emsg_refresh_duration_seconds histogram\n");
        for (index, bound) in BUCKETS.iter().enumerate() {
            let count = counters.buckets.get(index).copied().unwrap_or(0);
            out.push_str(&format!(
                "emsg_refresh_duration_seconds_bucket{{le=\"{bound}\"}} {count}\n"
            ));
        }
        out.push_str(&format!(
            "emsg_refresh_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
            counters.latency_count
        ));
        out.push_str(&format!(
            "emsg_refresh_duration_seconds_sum {}\n",
            counters.latency_sum
        ));
        out.push_str(&format!(
            "emsg_refresh_duration_seconds_count {}\n",
            counters.latency_count
        ));
    }
}

impl Engine {
    /// The `/metrics` page.
    pub async fn metrics_text(&self) -> Result<String, EngineError> {
        let all = self
            .db(|conn, _| Ok(connections::list(conn, None)?))
            .await?;
        let now = emsg_store::now();
        let mut out = String::new();
        self.inner.metrics.render(&mut out);
        out.push_str(
            "# HELP emsg_connections Connections by status.\n# TYPE emsg_connections gauge\n",
        );
        for status in [
            Status::Connected,
            Status::RefreshFailing,
            Status::ReauthorizationRequired,
            Status::Disconnected,
        ] {
            let count = all.iter().filter(|c| c.status() == status).count();
            out.push_str(&format!(
                "emsg_connections{{status=\"{status}\"}} {count}\n"
            ));
        }
        let earliest = all
            .iter()
            .filter(|c| c.status() != Status::Disconnected && c.has_access_token())
            .filter_map(|c| c.access_expires_at)
            .min();
        out.push_str("# HELP emsg_seconds_until_earliest_expiry Seconds until the soonest access token expires.\n");
        out.push_str("# TYPE emsg_seconds_until_earliest_expiry gauge\n");
        if let Some(at) = earliest {
            out.push_str(&format!(
                "emsg_seconds_until_earliest_expiry {}\n",
                at - now
            ));
        }
        Ok(out)
    }
}
