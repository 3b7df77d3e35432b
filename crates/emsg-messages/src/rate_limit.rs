//! Providers' rate limits on the messages emsg sends: every request waits for its slot under
//! the limit of its application, held across every node (`emsg_store::rate_limits`), so that
//! no second holds more requests than the provider allows whichever node sends them. A `429`
//! holds the limit back as long as its `Retry-After` asks; a safe request (GET) is then sent
//! again, up to [`MAX_RETRIES`] times. (HMRC: 3 requests a second per application, 429
//! `MESSAGE_THROTTLED_OUT` over it, in its Developer Hub reference guide, "Rate limiting";
//! `Retry-After` in seconds as RFC 9110 section 10.2.3 defines it.)

use std::time::Duration;

use emsg_store::StoreError;
use emsg_store::db::{Gateway, GatewayError};
use emsg_store::rate_limits;
use emsg_store::web_applications::WebApplication;

use crate::clock::now_ms;

/// How often a safe request answered `429` is sent again before the message ends in error.
pub(crate) const MAX_RETRIES: u32 = 3;

/// The longest `Retry-After` honoured by waiting; a longer one ends the message in error (to
/// be re-sent later) rather than hold a task.
pub(crate) const MAX_WAIT_SECS: u64 = 60;

/// The limit a record's requests count against: the provider allows so many requests a second
/// per application registered with it, so records with the same token host and client ID
/// share one.
pub(crate) fn key(record: &WebApplication) -> String {
    let url = record.token_url.as_deref().unwrap_or(&record.base_url);
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let client = record.client_id.as_deref().unwrap_or(&record.name);
    format!("{host} {client}")
}

/// The seconds a `429` asks to wait (`Retry-After: 5`); 1 when it names none or a date.
pub(crate) fn retry_after(headers: &[(String, String)]) -> u64 {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(1)
}

/// The limit's row could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Unread(String);

impl From<StoreError> for Unread {
    fn from(error: StoreError) -> Self {
        Self(error.to_string())
    }
}

impl From<GatewayError> for Unread {
    fn from(error: GatewayError) -> Self {
        Self(error.to_string())
    }
}

/// Waits until this request's slot under `record`'s rate limit, if it has one; true when it
/// had to wait.
pub(crate) async fn wait_for_slot(db: &Gateway, record: &WebApplication) -> Result<bool, String> {
    let Some(per_second) = record.rate_limit() else {
        return Ok(false);
    };
    let (key, now) = (key(record), now_ms());
    let slot = db
        .run(move |conn| {
            Ok::<_, Unread>(rate_limits::reserve(
                conn,
                &key,
                rate_limits::interval_ms(per_second),
                now,
            )?)
        })
        .await
        .map_err(|e| format!("the rate limit of {} could not be read: {e}", record.name))?;
    if let Ok(wait) = u64::try_from(slot - now)
        && wait > 0
    {
        tracing::debug!(wait_ms = wait, app = %record.name, "waiting for a rate-limit slot");
        tokio::time::sleep(Duration::from_millis(wait)).await;
        return Ok(true);
    }
    Ok(false)
}

/// After a `429`: no request of `record`'s application before `secs` from now, on any node.
pub(crate) async fn hold(db: &Gateway, record: &WebApplication, secs: u64) {
    let key = key(record);
    let until = now_ms().saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(0));
    let held = db
        .run(move |conn| Ok::<_, Unread>(rate_limits::hold_until(conn, &key, until)?))
        .await;
    if let Err(error) = held {
        tracing::warn!(%error, app = %record.name, "the rate limit's hold could not be stored");
    }
}
