//! An API client's `Idempotency-Key`: a retry of a send under the same key finds the message
//! the first request stored (whatever became of it) instead of sending a second one; the same
//! key with another request is refused, since it cannot be a retry.

use std::collections::BTreeMap;

use emsg_store::db::DbConnection;
use emsg_store::messages::{self, MessageStatus};
use emsg_store::{MessageId, StoreError, UserId};

use crate::fraud::sha256_hex;

/// The longest key taken: an ERP's UUID or order number fits many times over.
pub const MAX_KEY_CHARS: usize = 255;

/// Checks a key as a header carries it: 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "the Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters (a UUID \
             is a good key)"
        ));
    }
    Ok(())
}

/// What makes two sends the same request: the service, the fields and the company (not the
/// origin's device data, which a retry may report afresh).
pub(crate) fn request_hash(
    service: &str,
    fields: &BTreeMap<String, String>,
    company: Option<&str>,
) -> String {
    let canonical = serde_json::json!({
        "service": service,
        "fields": fields,
        "company": company,
    });
    sha256_hex(&canonical.to_string())
}

/// A request's `Idempotency-Key` with its user and the request's hash, or none without a key.
/// `name` is the web service or processing, `what` the words for starting it.
pub(crate) fn keyed(
    key: Option<&String>,
    user: Option<UserId>,
    (name, fields, company): (&str, &BTreeMap<String, String>, Option<&str>),
    what: &str,
) -> Result<Option<(UserId, String, String)>, String> {
    match (key, user) {
        (Some(key), Some(user)) => Ok(Some((
            user,
            key.clone(),
            request_hash(name, fields, company),
        ))),
        (Some(_), None) => Err(format!(
            "an Idempotency-Key is a user's: {what} as a user (an API key) to use one"
        )),
        (None, _) => Ok(None),
    }
}

/// What a user's earlier request with the same key left.
pub(crate) enum Earlier {
    /// The same request stored this message: a retry answers with it.
    Same {
        id: MessageId,
        status: MessageStatus,
    },
    /// Another request stored this message under the key: it cannot be a retry.
    Other { id: MessageId },
}

/// The message `user` already stored under `key`, if any, told apart by the request's hash.
pub(crate) fn earlier(
    conn: &mut DbConnection,
    user: UserId,
    key: &str,
    hash: &str,
) -> Result<Option<Earlier>, StoreError> {
    let Some((id, stored)) = messages::by_idempotency_key(conn, user, key)? else {
        return Ok(None);
    };
    if stored.as_deref() != Some(hash) {
        return Ok(Some(Earlier::Other { id }));
    }
    let status = messages::get(conn, id.get())?.map_or(MessageStatus::New, |m| m.status());
    Ok(Some(Earlier::Same { id, status }))
}
