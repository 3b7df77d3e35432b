//! One request of a step: rendered from the message's values, sent with a valid token, and
//! kept in the message's timeline. The row is written before the request leaves, so that a node
//! that dies before the answer is recorded leaves an unknown outcome behind, not silence.

use std::collections::BTreeMap;

use emsg_store::UserId;
use emsg_store::exchanges::{self, Answered, Leaving, Purpose};
use emsg_store::next_steps::Taken;
use emsg_store::runs;
use emsg_webapps::WebServiceSpec;

use super::values::Known;
use super::{Processor, now_ms};
use crate::fraud::Origin;
use crate::send::{Answer, LeavingRequest, SendError, SendRequest, headers_json};

/// Whom and where a message's requests are for, and from whom they come.
#[derive(Debug, Clone)]
pub(crate) struct Party {
    pub(crate) company: String,
    /// Whose connection user-specific steps use.
    pub(crate) user: Option<UserId>,
    /// The fraud-prevention origin of the person who started or last continued the message.
    pub(crate) origin: Origin,
}

/// How a request ended.
pub(crate) enum Called {
    /// An answer came back (any status but a 401 that a refreshed token fixed).
    Answered { answer: Answer, exchange: i64 },
    /// Nothing left: `reason` says why (a value not valid for the web service, no valid
    /// token, the destination refused). The step may be retried once that is mended.
    NotSent { code: &'static str, reason: String },
    /// The request left and no answer came back.
    NoAnswer { reason: String },
    /// Another node holds the step now (this node's lease ran out): nothing was sent.
    LeaseLost,
}

/// Which request a step sends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct What<'a> {
    /// The web service.
    pub(crate) service: &'a WebServiceSpec,
    pub(crate) purpose: Purpose,
    /// Check the lease is still held right before the request leaves (for requests that
    /// change something).
    pub(crate) guarded: bool,
    /// A file the message was started with, sent as the body.
    pub(crate) body_file: Option<&'a str>,
    /// A URL an earlier step read from an answer, called instead of the web service's own.
    pub(crate) url: Option<&'a str>,
}

/// Sends `what` with the message's values.
pub(crate) async fn call(
    processor: &Processor,
    taken: &Taken,
    party: &Party,
    known: &Known,
    what: What<'_>,
) -> Result<Called, SendError> {
    let What {
        service,
        purpose,
        guarded,
        body_file,
        url,
    } = what;
    let messenger = processor.messenger();
    let spec = service;
    // The web service's own fields, from the message's values; each is checked by its rules.
    let fields: BTreeMap<String, String> = known
        .iter()
        .filter(|(name, _)| spec.field(name).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let request = SendRequest {
        service: spec.name.clone(),
        fields,
        company: Some(party.company.clone()),
        user: party.user,
        origin: party.origin.clone(),
        idempotency_key: None,
    };
    let prepared = match messenger.prepare(&request).await {
        Ok(mut prepared) => {
            if let Some(name) = body_file {
                let (message, file) = (taken.message, name.to_owned());
                let body = messenger
                    .db(move |conn| emsg_store::runs::file(conn, message, &file))
                    .await?;
                let Some(text) = body.and_then(|b| String::from_utf8(b).ok()) else {
                    return Ok(Called::NotSent {
                        code: "no_file",
                        reason: format!("the message has no file `{name}` to send"),
                    });
                };
                prepared.rendered.body = Some(text);
            }
            if let Some(candidate) = url {
                let base = spec.base_url(&prepared.record.base_url).to_owned();
                let followed = url::Url::parse(&base)
                    .map_err(|e| format!("the base URL `{base}` is not a URL: {e}"))
                    .and_then(|base| {
                        emsg_processing::followable(candidate, &base).map_err(|e| e.to_string())
                    });
                match followed {
                    Ok(url) => prepared.rendered.url = url.to_string(),
                    Err(reason) => {
                        return Ok(Called::NotSent {
                            code: "not_followed",
                            reason,
                        });
                    }
                }
            }
            prepared
        }
        Err(SendError::Fields(errors)) => {
            return Ok(Called::NotSent {
                code: "invalid_values",
                reason: format!(
                    "the values for web service `{}` are not valid ({}); the answers of earlier \
                     steps gave something the web service does not accept",
                    spec.name,
                    errors
                        .0
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            });
        }
        Err(SendError::Setup(reason)) => {
            return Ok(Called::NotSent {
                code: "setup_error",
                reason,
            });
        }
        Err(other) => return Err(other),
    };
    let app = prepared.record.name.clone();
    let engine = messenger.engine();
    let mut token = match engine
        .valid_token(&app, Some(&party.company), party.user)
        .await
    {
        Ok(token) => token,
        Err(error) => {
            return Ok(Called::NotSent {
                code: "no_valid_token",
                reason: format!(
                    "no valid token for {app}: {error}; connect it on the Web applications page, \
                     then retry the step"
                ),
            });
        }
    };
    if let Err(reason) = messenger.allowed(&prepared) {
        return Ok(Called::NotSent {
            code: "not_allowed",
            reason,
        });
    }
    let mut retried_after_401 = false;
    loop {
        let leaving = LeavingRequest::of(&prepared);
        let step = taken.step;
        let message = taken.message;
        let guard = taken.clone();
        let exchange = messenger
            .db(move |conn| {
                emsg_store::db::write_transaction(conn, |conn| {
                    if guarded && !runs::holds(conn, &guard)? {
                        return Ok(None);
                    }
                    exchanges::begin(
                        conn,
                        &Leaving {
                            message,
                            step,
                            purpose,
                            method: leaving.method,
                            url: &leaving.url,
                            headers: &leaving.headers,
                            body: leaving.body.as_deref(),
                            at_ms: now_ms(),
                        },
                    )
                    .map(Some)
                })
            })
            .await?;
        let Some(exchange) = exchange else {
            return Ok(Called::LeaseLost);
        };
        // The slot is waited for after the request is recorded, right before it leaves: a
        // node that dies while waiting leaves an unknown outcome, which the reconcile settles.
        let sent = match messenger.slot(&prepared).await {
            Ok(()) => messenger.transmit(&prepared, &token).await,
            Err(reason) => Err(format!("not sent: {reason}")),
        };
        let answer = match sent {
            Ok(answer) => answer,
            Err(reason) => {
                let note = format!("no answer: {reason}");
                messenger
                    .db(move |conn| exchanges::no_answer(conn, exchange, &note, now_ms()))
                    .await?;
                return Ok(Called::NoAnswer { reason });
            }
        };
        record(processor, exchange, &answer).await?;
        if answer.status == 401 && !retried_after_401 {
            retried_after_401 = true;
            match engine
                .token_after_rejection(&app, Some(&party.company), party.user, &token)
                .await
            {
                Ok(fresh) => {
                    token = fresh;
                    continue;
                }
                Err(error) => {
                    return Ok(Called::NotSent {
                        code: "token_refused",
                        reason: format!(
                            "the provider refused the access token (401) and it could not be \
                             refreshed: {error}"
                        ),
                    });
                }
            }
        }
        return Ok(Called::Answered { answer, exchange });
    }
}

async fn record(processor: &Processor, exchange: i64, answer: &Answer) -> Result<(), SendError> {
    let (status, headers, body) = (
        i32::from(answer.status),
        headers_json(&answer.headers),
        answer.body.clone(),
    );
    processor
        .messenger()
        .db(move |conn| {
            exchanges::answered(
                conn,
                exchange,
                &Answered {
                    status,
                    headers: &headers,
                    body: &body,
                    attachment: None,
                    note: "",
                    at_ms: now_ms(),
                },
            )
        })
        .await
}
