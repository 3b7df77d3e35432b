//! Prometheus text for `/metrics`, the messages' part: messages by status and the queue of due
//! steps (read from the database, so every node reports the same), step latency and rate-limit
//! waits (this process).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use emsg_store::db::DbConnection;
use emsg_store::messages::MessageStatus;
use emsg_store::{StoreError, next_steps};

/// Upper bounds of the step-latency histogram, in seconds.
const BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    buckets: Vec<u64>,
    step_sum: f64,
    steps: u64,
    waits: u64,
    waited: f64,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One step run (its request, the answer read, the result recorded).
    pub(crate) fn record_step(&self, took: Duration) {
        let mut counters = self.lock();
        if counters.buckets.is_empty() {
            counters.buckets = vec![0; BUCKETS.len()];
        }
        let secs = took.as_secs_f64();
        for (bucket, bound) in counters.buckets.iter_mut().zip(BUCKETS) {
            if secs <= *bound {
                *bucket += 1;
            }
        }
        counters.step_sum += secs;
        counters.steps += 1;
    }

    /// A request that waited for its slot under a provider's rate limit.
    pub(crate) fn record_wait(&self, waited: Duration) {
        let mut counters = self.lock();
        counters.waits += 1;
        counters.waited += waited.as_secs_f64();
    }

    /// The counters of this process.
    pub(crate) fn render(&self, out: &mut String) {
        let counters = self.lock();
        out.push_str("# HELP emsg_step_duration_seconds Time of one processing step on this node, its request and recording included.\n");
        out.push_str("# TYPE emsg_step_duration_seconds histogram\n");
        for (index, bound) in BUCKETS.iter().enumerate() {
            let count = counters.buckets.get(index).copied().unwrap_or(0);
            out.push_str(&format!(
                "emsg_step_duration_seconds_bucket{{le=\"{bound}\"}} {count}\n"
            ));
        }
        out.push_str(&format!(
            "emsg_step_duration_seconds_bucket{{le=\"+Inf\"}} {}\n",
            counters.steps
        ));
        out.push_str(&format!(
            "emsg_step_duration_seconds_sum {}\nemsg_step_duration_seconds_count {}\n",
            counters.step_sum, counters.steps
        ));
        out.push_str("# HELP emsg_rate_limit_waits_total Requests that waited for a slot under a provider's rate limit (this process).\n");
        out.push_str("# TYPE emsg_rate_limit_waits_total counter\n");
        out.push_str(&format!("emsg_rate_limit_waits_total {}\n", counters.waits));
        out.push_str(
            "# HELP emsg_rate_limit_wait_seconds_total Time requests waited for those slots.\n",
        );
        out.push_str("# TYPE emsg_rate_limit_wait_seconds_total counter\n");
        out.push_str(&format!(
            "emsg_rate_limit_wait_seconds_total {}\n",
            counters.waited
        ));
    }
}

/// What every node reads alike from the database: messages by status, steps due now.
pub(crate) fn render_shared(conn: &mut DbConnection, now_ms: i64) -> Result<String, StoreError> {
    let counts: BTreeMap<String, i64> = emsg_store::messages::count_by_status(conn)?
        .into_iter()
        .collect();
    let mut out = String::new();
    out.push_str("# HELP emsg_messages Messages by status (every node's).\n");
    out.push_str("# TYPE emsg_messages gauge\n");
    for status in MessageStatus::ALL {
        out.push_str(&format!(
            "emsg_messages{{status=\"{}\"}} {}\n",
            status.as_str(),
            counts.get(status.as_str()).copied().unwrap_or(0)
        ));
    }
    out.push_str("# HELP emsg_steps_due Processing steps due now and not taken by any node: the queue's depth.\n");
    out.push_str("# TYPE emsg_steps_due gauge\n");
    out.push_str(&format!(
        "emsg_steps_due {}\n",
        next_steps::due_count(conn, now_ms)?
    ));
    Ok(out)
}
