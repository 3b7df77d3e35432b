//! Sending a message: check the fields, render the request, store the message (New), get a
//! valid token from the engine, send (Sent), and record the answer (Response received,
//! Business error, Technical error). A 401 gets one refresh and one retry, never more.

use std::collections::BTreeMap;

use tracing::Instrument as _;

use emsg_engine::{AccessToken, Engine};
use emsg_store::db::{DbConnection, Gateway, GatewayError};
use emsg_store::messages::{
    self, Idempotency, MessageStatus, NewMessage, Outcome, ReceivedResponse,
};
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_store::web_services::{self, WebService};
use emsg_store::{StoreError, UserId, settings};
use emsg_webapps::{FraudPrevention, Method};

use crate::fields::{self, FieldErrors, Values};
use crate::fraud::{self, Origin, Vendor};
use crate::idempotency::{Earlier, earlier, keyed};
use crate::rate_limit;
use crate::render::{self, Rendered};
use crate::response::{self, Verdict};

/// The largest response body kept in the message log.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Sends messages; one per process, cheap to clone.
#[derive(Clone)]
pub struct Messenger {
    engine: Engine,
    db: Gateway,
    http: reqwest::Client,
    vendor: Vendor,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub service: String,
    pub fields: BTreeMap<String, String>,
    pub company: Option<String>,
    /// Who sends it; for user-specific web applications also whose connection is used.
    pub user: Option<UserId>,
    pub origin: Origin,
    /// The API client's `Idempotency-Key` (see [`crate::idempotency`]); a user's key.
    pub idempotency_key: Option<String>,
}

/// How a send ended; the message log holds the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: i64,
    pub status: MessageStatus,
    pub summary: String,
    /// An earlier request with the same `Idempotency-Key` stored this message; nothing was
    /// sent now.
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Bad fields: nothing was stored or sent.
    #[error(transparent)]
    Fields(#[from] FieldErrors),
    /// A setup problem (template, service, web application): nothing was stored or sent.
    #[error("{0}; nothing was sent")]
    Setup(String),
    #[error("{0}")]
    Refused(String),
    /// The `Idempotency-Key` came with another request before: nothing was stored or sent.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Database work that did not run to its end (a panicked or cancelled task) is an internal error.
impl From<GatewayError> for SendError {
    fn from(error: GatewayError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl SendError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Fields(_) => "invalid_fields",
            Self::Setup(_) => "setup_error",
            Self::Refused(_) => "refused",
            Self::IdempotencyKeyReused(_) => "idempotency_key_reused",
            Self::Store(StoreError::UnknownWebService(_)) => "unknown_web_service",
            Self::Store(_) => "storage_error",
            Self::Internal(_) => "internal_error",
        }
    }
}

/// A request ready to leave, without the token.
pub(crate) struct Prepared {
    pub(crate) service: WebService,
    pub(crate) record: WebApplication,
    values: Values,
    pub(crate) rendered: Rendered,
    accept: Option<String>,
    content_type: Option<String>,
    fraud: fraud::FraudHeaders,
}

impl Messenger {
    /// Sends through the engine's HTTP client (no redirects, the engine's timeouts). `db` is a
    /// pool, or the gateway the process's other users of that pool share.
    pub fn new(engine: Engine, db: impl Into<Gateway>, vendor: Vendor) -> Self {
        let http = engine.http_client().clone();
        Self {
            engine,
            db: db.into(),
            http,
            vendor,
            metrics: std::sync::Arc::default(),
        }
    }

    pub(crate) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The messages' part of `/metrics`: messages by status and steps due (the database's),
    /// step latency and rate-limit waits (this process's).
    pub async fn metrics_text(&self) -> Result<String, SendError> {
        let now = crate::clock::now_ms();
        let mut text = self
            .db(move |conn| crate::metrics::render_shared(conn, now))
            .await?;
        self.metrics.render(&mut text);
        Ok(text)
    }

    pub(crate) async fn db<T, F>(&self, work: F) -> Result<T, SendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        self.db.run(move |conn| Ok(work(conn)?)).await
    }

    /// Checks and sends one message. `Err` means nothing was stored: bad fields or setup.
    /// Everything after the message is stored is reported in `Sent` and in its log.
    pub async fn send(&self, request: SendRequest) -> Result<Sent, SendError> {
        self.send_as(request, None).await
    }

    /// Sends a failed message again as a new message linked to it.
    pub async fn resend(
        &self,
        id: i64,
        user: Option<UserId>,
        origin: Origin,
    ) -> Result<Sent, SendError> {
        let original = self
            .db(move |conn| messages::get(conn, id))
            .await?
            .ok_or_else(|| SendError::Refused(format!("there is no message {id}")))?;
        if !original.status().can_resend() {
            return Err(SendError::Refused(format!(
                "message {id} is {}; only messages with a business or technical error can be \
                 re-sent",
                original.status().label()
            )));
        }
        if let Some(newer) = original.resent_as {
            return Err(SendError::Refused(format!(
                "message {id} was already re-sent as message {newer}; re-send that one if it \
                 failed"
            )));
        }
        let fields: BTreeMap<String, String> = serde_json::from_str(&original.fields)
            .map_err(|e| SendError::Internal(format!("message {id} has unreadable fields: {e}")))?;
        let request = SendRequest {
            service: original.service_name.clone(),
            fields,
            company: Some(original.company.clone()),
            user: user.or(original.user_id.map(UserId::new)),
            origin,
            idempotency_key: None,
        };
        self.send_as(request, Some(id)).await
    }

    /// The message `user` already stored under `key`, if any, as this send's answer; an error
    /// when it came with another request.
    async fn replay(&self, user: UserId, key: &str, hash: &str) -> Result<Option<Sent>, SendError> {
        let (key_owned, hash) = (key.to_owned(), hash.to_owned());
        let found = self
            .db(move |conn| earlier(conn, user, &key_owned, &hash))
            .await?;
        match found {
            None => Ok(None),
            Some(Earlier::Other { id }) => Err(SendError::IdempotencyKeyReused(format!(
                "the Idempotency-Key `{key}` was used for another request (message {id}); a \
                 retry must send the same service and fields, a new request needs a new key"
            ))),
            Some(Earlier::Same { id, status }) => Ok(Some(Sent {
                message_id: id.get(),
                status,
                summary: format!(
                    "message {id} was stored under this Idempotency-Key by an earlier request; it \
                     is {}, and nothing was sent again",
                    status.label()
                ),
                replayed: true,
            })),
        }
    }

    async fn send_as(
        &self,
        request: SendRequest,
        resent_from: Option<i64>,
    ) -> Result<Sent, SendError> {
        let idempotency = keyed(
            request.idempotency_key.as_ref(),
            request.user,
            (
                &request.service,
                &request.fields,
                request.company.as_deref(),
            ),
            "send",
        )
        .map_err(SendError::Refused)?;
        // A retry: the message is already stored, and nothing is sent again.
        if let Some((user, key, hash)) = &idempotency
            && let Some(sent) = self.replay(*user, key, hash).await?
        {
            return Ok(sent);
        }
        let prepared = self.prepare(&request).await?;
        let company = request
            .company
            .clone()
            .unwrap_or_else(|| self.engine.config().default_company.clone());
        let fields_json = fields_json(&prepared.values)?;
        let connection_method = prepared
            .service
            .spec
            .fraud_prevention
            .map(|_| request.origin.connection_method());
        let (service_name, record_id, user) = (
            prepared.service.name.clone(),
            prepared.record.id,
            request.user,
        );
        let app = prepared.record.name.clone();
        let subject = request.user;
        let token = self.engine.valid_token(&app, Some(&company), subject).await;
        let leaving = token.is_ok().then(|| LeavingRequest::of(&prepared));
        let company_for_db = company.clone();
        let idempotency_for_db = idempotency.clone();
        let stored = self
            .db(move |conn| {
                let sent = leaving.as_ref().map(LeavingRequest::request);
                messages::create(
                    conn,
                    &NewMessage {
                        service_name: &service_name,
                        web_application_id: record_id,
                        company: &company_for_db,
                        user_id: user,
                        connection_method,
                        fields: &fields_json,
                        resent_from,
                        idempotency: idempotency_for_db.as_ref().map(|(_, key, hash)| {
                            Idempotency {
                                key,
                                request_hash: hash,
                            }
                        }),
                    },
                    sent.as_ref()
                        .zip(leaving.as_ref())
                        .map(|(r, l)| (r, l.detail.as_str())),
                )
            })
            .await;
        let message_id = match (stored, &idempotency) {
            (Ok(id), _) => id,
            // Another request with the same key stored its message a moment ago: that one is
            // sent, this one answers with it.
            (Err(SendError::Store(StoreError::IdempotencyKeyTaken)), Some((user, key, hash))) => {
                return self.replay(*user, key, hash).await?.ok_or_else(|| {
                    SendError::Internal(format!(
                        "the message stored under the Idempotency-Key `{key}` could not be read"
                    ))
                });
            }
            (Err(error), _) => return Err(error),
        };
        let span =
            tracing::info_span!("send", message = message_id, service = %prepared.service.name);
        let outcome = match token {
            Ok(token) => {
                self.deliver(message_id, &prepared, &company, subject, token)
                    .instrument(span)
                    .await
            }
            Err(error) => {
                let message = format!(
                    "no valid token for {app}: {error}. The message was not sent; re-send it \
                     once the connection works"
                );
                let code = error.code().to_owned();
                self.finish(
                    message_id,
                    MessageStatus::TechnicalError,
                    None,
                    Some(&code),
                    &message,
                )
                .await
                .map(|()| (MessageStatus::TechnicalError, message))
            }
        };
        let (status, summary) = match outcome {
            Ok(done) => done,
            Err(error) => {
                // The message exists: record why it could not be finished.
                let summary = error.to_string();
                let detail = summary.clone();
                self.db(move |conn| {
                    messages::finish(
                        conn,
                        message_id,
                        &Outcome {
                            status: MessageStatus::TechnicalError,
                            response: None,
                            error_code: Some("internal_error"),
                            error_message: Some(&detail),
                            detail: &detail,
                        },
                    )
                })
                .await?;
                (MessageStatus::TechnicalError, summary)
            }
        };
        tracing::info!(message = message_id, status = %status, "{summary}");
        Ok(Sent {
            message_id,
            status,
            summary,
            replayed: false,
        })
    }

    pub(crate) async fn prepare(&self, request: &SendRequest) -> Result<Prepared, SendError> {
        let name = request.service.clone();
        let (service, record) = self
            .db(move |conn| {
                let service = web_services::get(conn, &name)?;
                let record = records::by_id(conn, service.web_application_id)?.ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "the web application of web service `{}` is gone; import web-apps.yaml again",
                        service.name
                    ))
                })?;
                Ok((service, record))
            })
            .await?;
        let values = fields::check(&service.spec, &request.fields)?;
        let content_type = service
            .spec
            .content_type
            .clone()
            .or_else(|| record.content_type.clone());
        let accept = service
            .spec
            .accept
            .clone()
            .or_else(|| record.accept.clone());
        let base_url = service.spec.base_url(&record.base_url).to_owned();
        let rendered =
            render::render(&service.spec, &base_url, content_type.as_deref(), &values)
                .map_err(|e| SendError::Setup(format!("web service {}: {e}", service.name)))?;
        let fraud = match service.spec.fraud_prevention {
            Some(FraudPrevention::Hmrc) => {
                let origin = self.complete_origin(&request.origin).await?;
                fraud::headers(&origin, &self.vendor)
            }
            None => fraud::FraudHeaders::default(),
        };
        Ok(Prepared {
            service,
            record,
            values,
            rendered,
            accept,
            content_type,
            fraud,
        })
    }

    /// Batch origins get the installation's device ID from the database.
    async fn complete_origin(&self, origin: &Origin) -> Result<Origin, SendError> {
        let Origin::BatchProcessDirect(client) = origin else {
            return Ok(origin.clone());
        };
        if !client.device_id.is_empty() {
            return Ok(origin.clone());
        }
        let device_id = self
            .db(|conn| settings::get_or_create(conn, "device_id", new_device_id))
            .await?;
        let mut client = client.clone();
        client.device_id = device_id;
        Ok(Origin::BatchProcessDirect(client))
    }

    /// Everything after the message is stored. `Err` is recorded as a technical error.
    async fn deliver(
        &self,
        id: i64,
        prepared: &Prepared,
        company: &str,
        user: Option<UserId>,
        token: AccessToken,
    ) -> Result<(MessageStatus, String), SendError> {
        let app = prepared.record.name.clone();
        let mut token = token;
        let mut answer = self.execute(prepared, &token).await;
        if matches!(&answer, Ok(r) if r.status == 401) {
            self.db(move |conn| {
                messages::note(
                    conn,
                    id,
                    "the provider answered 401: refreshing the access token once and sending again",
                )
            })
            .await?;
            match self
                .engine
                .token_after_rejection(&app, Some(company), user, &token)
                .await
            {
                Ok(fresh) => {
                    answer = self.execute(prepared, &fresh).await;
                    token = fresh;
                }
                Err(error) => {
                    let message = format!(
                        "the provider refused the access token (401) and it could not be \
                         refreshed: {error}"
                    );
                    let code = error.code().to_owned();
                    self.finish(
                        id,
                        MessageStatus::TechnicalError,
                        answer.ok().as_ref(),
                        Some(&code),
                        &message,
                    )
                    .await?;
                    return Ok((MessageStatus::TechnicalError, message));
                }
            }
        }
        let mut retries = 0;
        while let Ok(rejected) = &answer
            && rejected.status == 429
        {
            let wait = rate_limit::retry_after(&rejected.headers);
            // Every node holds back, at most a minute: a longer wait ends this message instead.
            rate_limit::hold(
                &self.db,
                &prepared.record,
                wait.min(rate_limit::MAX_WAIT_SECS),
            )
            .await;
            let safe = prepared.service.spec.method == Method::Get;
            if !safe || retries == rate_limit::MAX_RETRIES || wait > rate_limit::MAX_WAIT_SECS {
                break;
            }
            retries += 1;
            let note = format!(
                "the provider answered 429 (too many requests): sending again after {wait} s, as \
                 it asked (retry {retries} of {})",
                rate_limit::MAX_RETRIES
            );
            self.db(move |conn| messages::note(conn, id, &note)).await?;
            if prepared.record.rate_limit().is_none() {
                // No slot to wait for: wait here as asked.
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
            answer = self.execute(prepared, &token).await;
        }
        let answer = match answer {
            Ok(answer) => answer,
            Err(message) => {
                let message = format!(
                    "{message}. The provider may or may not have received it: check before \
                     re-sending"
                );
                self.finish(
                    id,
                    MessageStatus::TechnicalError,
                    None,
                    Some("no_response"),
                    &message,
                )
                .await?;
                return Ok((MessageStatus::TechnicalError, message));
            }
        };
        let Verdict {
            status,
            code,
            message,
        } = response::classify(
            answer.status,
            &prepared.service.spec.success_statuses,
            prepared.service.spec.response_type,
            &answer.text(),
        );
        let summary = summary(
            &prepared.record,
            &answer,
            status,
            code.as_deref(),
            message.as_deref(),
        );
        self.finish(id, status, Some(&answer), code.as_deref(), &summary)
            .await?;
        Ok((status, summary))
    }

    async fn finish(
        &self,
        id: i64,
        status: MessageStatus,
        answer: Option<&Answer>,
        code: Option<&str>,
        message: &str,
    ) -> Result<(), SendError> {
        let answer = answer.cloned();
        let code = code.map(str::to_owned);
        let message = message.to_owned();
        self.db(move |conn| {
            let headers = answer.as_ref().map(|a| headers_json(&a.headers));
            let body = answer.as_ref().map(Answer::text);
            messages::finish(
                conn,
                id,
                &Outcome {
                    status,
                    response: answer
                        .as_ref()
                        .zip(headers.as_ref())
                        .zip(body.as_ref())
                        .map(|((a, h), body)| ReceivedResponse {
                            status: i32::from(a.status),
                            headers: h,
                            body,
                        }),
                    error_code: code
                        .as_deref()
                        .filter(|_| status != MessageStatus::ResponseReceived),
                    error_message: Some(message.as_str())
                        .filter(|_| status != MessageStatus::ResponseReceived),
                    detail: &message,
                },
            )
        })
        .await
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    async fn execute(&self, prepared: &Prepared, token: &AccessToken) -> Result<Answer, String> {
        self.allowed(prepared)?;
        self.slot(prepared).await?;
        self.transmit(prepared, token).await
    }

    /// Whether the request may leave for its destination. Names are checked on their
    /// addresses by the engine client's resolver; this refuses IP literals and plain http that
    /// the outbound rules do not allow, before the token is put on the wire.
    pub(crate) fn allowed(&self, prepared: &Prepared) -> Result<(), String> {
        self.engine
            .config()
            .urls
            .check_destination(&prepared.rendered.url)
    }

    /// Waits for the request's slot under its application's rate limit, held across nodes. The
    /// wait is the last thing before the request leaves, so that the provider sees the
    /// requests as far apart as their slots.
    pub(crate) async fn slot(&self, prepared: &Prepared) -> Result<(), String> {
        let started = std::time::Instant::now();
        let waited = rate_limit::wait_for_slot(&self.db, &prepared.record).await?;
        if waited {
            self.metrics.record_wait(started.elapsed());
        }
        Ok(())
    }

    /// Sends an admitted request. An error means no answer came back: the request may or may
    /// not have reached the provider.
    pub(crate) async fn transmit(
        &self,
        prepared: &Prepared,
        token: &AccessToken,
    ) -> Result<Answer, String> {
        let spec = &prepared.service.spec;
        let method = reqwest::Method::from_bytes(spec.method.as_str().as_bytes())
            .map_err(|e| format!("method {}: {e}", spec.method))?;
        let mut request = self.http.request(method, &prepared.rendered.url).header(
            reqwest::header::AUTHORIZATION,
            format!("{} {}", bearer(&token.token_type), token.token.expose()),
        );
        if let Some(accept) = &prepared.accept {
            request = request.header(reqwest::header::ACCEPT, accept);
        }
        if let (Some(body), Some(content_type)) = (&prepared.rendered.body, &prepared.content_type)
        {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
        } else if let Some(body) = &prepared.rendered.body {
            request = request.body(body.clone());
        }
        for (name, value) in prepared
            .rendered
            .headers
            .iter()
            .chain(&prepared.fraud.headers)
        {
            request = request.header(name, value);
        }
        let host = url::Url::parse(&prepared.rendered.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let mut response = request
            .send()
            .await
            .map_err(|e| describe_failure(&host, &e))?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = if name == reqwest::header::SET_COOKIE {
                    "[redacted]".to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name.as_str().to_owned(), value)
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| describe_failure(&host, &e))?
        {
            let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                truncated = true;
                break;
            }
        }
        Ok(Answer {
            status,
            headers,
            body,
            truncated,
        })
    }
}

/// The request as it leaves, for the message log (Authorization redacted).
pub(crate) struct LeavingRequest {
    pub(crate) method: &'static str,
    pub(crate) url: String,
    pub(crate) headers: String,
    pub(crate) body: Option<String>,
    pub(crate) detail: String,
}

impl LeavingRequest {
    pub(crate) fn of(prepared: &Prepared) -> Self {
        let detail = missing_detail(&prepared.fraud.missing);
        Self {
            method: prepared.service.spec.method.as_str(),
            url: prepared.rendered.url.clone(),
            headers: request_log(prepared),
            body: prepared.rendered.body.clone(),
            detail,
        }
    }

    fn request(&self) -> messages::SentRequest<'_> {
        messages::SentRequest {
            method: self.method,
            url: &self.url,
            headers: &self.headers,
            body: self.body.as_deref(),
        }
    }
}

/// A provider's answer as received: the body byte for byte, up to [`MAX_RESPONSE_BYTES`].
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The body was longer than [`MAX_RESPONSE_BYTES`]; the rest was not read.
    pub(crate) truncated: bool,
}

impl Answer {
    /// The body as text for the message log (not UTF-8 is shown with replacement characters).
    pub(crate) fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.body).into_owned();
        if self.truncated {
            text.push_str("\n[emsg: the rest of the body, beyond 1 MiB, was not kept]");
        }
        text
    }
}

fn bearer(token_type: &str) -> &str {
    // RFC 6750 says "Bearer"; some providers answer "bearer", which some APIs refuse.
    if token_type.eq_ignore_ascii_case("bearer") {
        "Bearer"
    } else {
        token_type
    }
}

fn describe_failure(host: &str, error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("{host} did not answer in time")
    } else if error.is_connect() {
        format!("{host} could not be reached ({})", error_chain(error))
    } else {
        format!("the exchange with {host} failed ({})", error_chain(error))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The Sent event's detail: which fraud-prevention headers could not be collected (they were sent
/// empty), and why (the browser's script, or this server's settings).
fn missing_detail(missing: &[&str]) -> String {
    // Each header with why it could not be collected; headers with the same reason together.
    let reason = |name: &str| match name {
        "Gov-Client-Public-IP" | "Gov-Client-Public-Port" => {
            "the client has no public address: it is on a private network or this machine"
        }
        "Gov-Vendor-Public-IP" => "set EMSG_PUBLIC_IP to this server's public IP address",
        "Gov-Vendor-Forwarded" => {
            "no hop over the internet is known: the client or this server has no public address"
        }
        "Gov-Vendor-License-IDs" => "this installation has no licence keys",
        name if name.starts_with("Gov-Client-") => {
            "not collected: the browser's script did not run or did not report them"
        }
        _ => "not known to this server",
    };
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for name in missing {
        let why = reason(name);
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, names)) => names.push(name),
            None => groups.push((why, vec![name])),
        }
    }
    if groups.is_empty() {
        return "request sent".to_owned();
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(why, names)| format!("without {} ({why})", names.join(", ")))
        .collect();
    format!("request sent {}; they were sent empty", parts.join("; "))
}

/// The request's headers as logged: Authorization redacted, the rest as sent.
fn request_log(prepared: &Prepared) -> String {
    let mut headers = vec![("Authorization".to_owned(), "Bearer [redacted]".to_owned())];
    if let Some(accept) = &prepared.accept {
        headers.push(("Accept".to_owned(), accept.clone()));
    }
    if prepared.rendered.body.is_some()
        && let Some(content_type) = &prepared.content_type
    {
        headers.push(("Content-Type".to_owned(), content_type.clone()));
    }
    headers.extend(prepared.rendered.headers.iter().cloned());
    headers.extend(prepared.fraud.headers.iter().cloned());
    headers_json(&headers)
}

pub(crate) fn headers_json(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

fn fields_json(values: &Values) -> Result<String, SendError> {
    let plain: BTreeMap<&str, &str> = values
        .iter()
        .filter(|(_, v)| !v.text.is_empty())
        .map(|(k, v)| (k.as_str(), v.text.as_str()))
        .collect();
    serde_json::to_string(&plain).map_err(|e| SendError::Internal(e.to_string()))
}

fn summary(
    record: &WebApplication,
    answer: &Answer,
    status: MessageStatus,
    code: Option<&str>,
    message: Option<&str>,
) -> String {
    let host = url::Url::parse(&record.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| record.name.clone());
    let refusal = match (code, message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, Some(message)) => message.to_owned(),
        (None, None) => "no details".to_owned(),
    };
    match status {
        MessageStatus::ResponseReceived => format!("{host} answered {}", answer.status),
        MessageStatus::BusinessError => format!(
            "{host} refused the message with {} ({refusal}); correct what it names and send a \
             new message",
            answer.status
        ),
        _ => format!(
            "{host} answered {} ({refusal}); the message was not processed, re-send it later",
            answer.status
        ),
    }
}

/// A random UUID (version 4) for the installation's device ID.
pub fn new_device_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // The OS random source failing is not worth refusing a send over: fall back to time.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}
