//! An API client's `Idempotency-Key`: a retry of a send under the same key finds the message
//! the first request stored (whatever became of it) instead of sending a second one; the same
//! key with another request is refused, since it cannot be a retry.

use emsg_store::UserId;
use emsg_store::messages::{self, MessageStatus};

use crate::fraud::sha256_hex;
use crate::send::{Messenger, SendError, SendRequest, Sent};

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
pub(crate) fn request_hash(request: &SendRequest) -> String {
    let canonical = serde_json::json!({
        "service": request.service,
        "fields": request.fields,
        "company": request.company,
    });
    sha256_hex(&canonical.to_string())
}

impl Messenger {
    /// The message `user` already stored under `key`, if any, as this send's answer; an error
    /// when it came with another request.
    pub(crate) async fn replay(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Option<Sent>, SendError> {
        let (key_owned, hash_owned) = (key.to_owned(), hash.to_owned());
        let found = self
            .db(move |conn| {
                let Some((id, stored)) = messages::by_idempotency_key(conn, user, &key_owned)?
                else {
                    return Ok(None);
                };
                let status =
                    messages::get(conn, id.get())?.map_or(MessageStatus::New, |m| m.status());
                Ok(Some((id, stored, status)))
            })
            .await?;
        let Some((id, stored, status)) = found else {
            return Ok(None);
        };
        if stored.as_deref() != Some(hash_owned.as_str()) {
            return Err(SendError::IdempotencyKeyReused(format!(
                "the Idempotency-Key `{key}` was used for another request (message {id}); a \
                 retry must send the same service and fields, a new request needs a new key"
            )));
        }
        Ok(Some(Sent {
            message_id: id.get(),
            status,
            summary: format!(
                "message {id} was stored under this Idempotency-Key by an earlier request; it is \
                 {}, and nothing was sent again",
                status.label()
            ),
            replayed: true,
        }))
    }
}
