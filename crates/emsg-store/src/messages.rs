//! Electronic messages: one run of a web service, with its status history, the request as sent
//! (the Authorization header redacted) and the response. Never a token.

use std::fmt;
use std::str::FromStr;

use diesel::prelude::*;

use crate::clock::now;
use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::ids::{MessageId, UserId, WebApplicationId};
use crate::schema::{message_events, messages};

/// Where a message is. A web service sent at once: New → Sent → Response received | Business
/// error | Technical error. A processing's message: In progress (its next step is due or
/// running) ⇄ Awaiting confirmation | Outcome unknown → Completed | Business error | Technical
/// error | Cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    New,
    Sent,
    ResponseReceived,
    BusinessError,
    TechnicalError,
    InProgress,
    AwaitingConfirmation,
    /// An unsafe step's request left and no answer came back, and no reconcile request
    /// settled it: a person decides.
    OutcomeUnknown,
    Completed,
    Cancelled,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 10] = [
        MessageStatus::New,
        MessageStatus::Sent,
        MessageStatus::ResponseReceived,
        MessageStatus::BusinessError,
        MessageStatus::TechnicalError,
        MessageStatus::InProgress,
        MessageStatus::AwaitingConfirmation,
        MessageStatus::OutcomeUnknown,
        MessageStatus::Completed,
        MessageStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Sent => "sent",
            Self::ResponseReceived => "response_received",
            Self::BusinessError => "business_error",
            Self::TechnicalError => "technical_error",
            Self::InProgress => "in_progress",
            Self::AwaitingConfirmation => "awaiting_confirmation",
            Self::OutcomeUnknown => "outcome_unknown",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The words the page shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::Sent => "Sent",
            Self::ResponseReceived => "Response received",
            Self::BusinessError => "Business error",
            Self::TechnicalError => "Technical error",
            Self::InProgress => "In progress",
            Self::AwaitingConfirmation => "Awaiting confirmation",
            Self::OutcomeUnknown => "Outcome unknown",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// Whether the message has ended: nothing more runs unless a person starts it again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::ResponseReceived
                | Self::BusinessError
                | Self::TechnicalError
                | Self::Completed
                | Self::Cancelled
        )
    }

    /// Whether the message can be sent again: only failed ones.
    pub fn can_resend(self) -> bool {
        matches!(self, Self::BusinessError | Self::TechnicalError)
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MessageStatus {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "`{text}` is not a message status; use one of: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct Message {
    pub id: i64,
    pub service_name: String,
    pub web_application_id: WebApplicationId,
    pub company: String,
    pub user_id: Option<i64>,
    pub connection_method: Option<String>,
    /// The fields as a JSON object.
    pub fields: String,
    status: String,
    pub request_method: Option<String>,
    pub request_url: Option<String>,
    /// A JSON list of `[name, value]` pairs.
    pub request_headers: Option<String>,
    pub request_body: Option<String>,
    pub response_status: Option<i32>,
    pub response_headers: Option<String>,
    pub response_body: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub resent_from: Option<i64>,
    pub resent_as: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The processing the message runs, if it is a processing's message.
    pub processing: Option<String>,
    /// The step (0-based) it is at.
    pub step: Option<i32>,
    /// Since when it is at that step (a poll's deadline counts from here), in ms.
    pub step_since_ms: Option<i64>,
    /// The values its steps extracted, as a JSON object.
    pub extracted: String,
    /// Who acts on it now: whose connection its user-specific steps use (the one who started
    /// it, or who took it over).
    pub acting_user_id: Option<i64>,
    /// The fraud-prevention origin of the person who started or last continued it (JSON).
    pub origin: Option<String>,
}

impl Message {
    pub fn status(&self) -> MessageStatus {
        self.status.parse().unwrap_or(MessageStatus::TechnicalError)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = message_events)]
pub struct MessageEvent {
    pub id: i64,
    pub message_id: i64,
    pub status: String,
    pub detail: String,
    pub at: i64,
}

/// A message about to be sent.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub service_name: &'a str,
    pub web_application_id: WebApplicationId,
    pub company: &'a str,
    pub user_id: Option<UserId>,
    pub connection_method: Option<&'a str>,
    pub fields: &'a str,
    pub resent_from: Option<i64>,
    /// The sender's key for this request: a second message under the same key and user is
    /// refused ([`StoreError::IdempotencyKeyTaken`]), and [`by_idempotency_key`] finds the first.
    pub idempotency: Option<Idempotency<'a>>,
}

/// An API client's `Idempotency-Key`, with the hash of the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
}

/// The message a user's earlier request with this key stored, and that request's hash.
pub fn by_idempotency_key(
    conn: &mut DbConnection,
    user: UserId,
    key: &str,
) -> Result<Option<(MessageId, Option<String>)>> {
    Ok(messages::table
        .filter(messages::user_id.eq(user))
        .filter(messages::idempotency_key.eq(key))
        .select((messages::id, messages::request_hash))
        .get_result::<(i64, Option<String>)>(conn)
        .optional()?
        .map(|(id, hash)| (MessageId::new(id), hash)))
}

/// The request as it left, Authorization redacted.
#[derive(Debug, Clone)]
pub struct SentRequest<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a str,
    pub body: Option<&'a str>,
}

/// The provider's answer.
#[derive(Debug, Clone)]
pub struct ReceivedResponse<'a> {
    pub status: i32,
    pub headers: &'a str,
    pub body: &'a str,
}

/// Stores a new message with status New and its first event; links a re-send to its original.
/// With `sent`, the request as it leaves is recorded in the same transaction (status Sent, a
/// second event), so a message costs one commit before its request and one after.
pub fn create(
    conn: &mut DbConnection,
    new: &NewMessage<'_>,
    sent: Option<(&SentRequest<'_>, &str)>,
) -> Result<i64> {
    write_transaction(conn, |conn| {
        let at = now();
        let id: i64 = diesel::insert_into(messages::table)
            .values((
                messages::service_name.eq(new.service_name),
                messages::web_application_id.eq(new.web_application_id),
                messages::company.eq(new.company),
                messages::user_id.eq(new.user_id),
                messages::connection_method.eq(new.connection_method),
                messages::fields.eq(new.fields),
                messages::status.eq(MessageStatus::New.as_str()),
                messages::resent_from.eq(new.resent_from),
                messages::created_at.eq(at),
                messages::updated_at.eq(at),
                messages::idempotency_key.eq(new.idempotency.map(|i| i.key)),
                messages::request_hash.eq(new.idempotency.map(|i| i.request_hash)),
            ))
            .returning(messages::id)
            .get_result(conn)
            .map_err(|error| insert_error(error, new.idempotency.is_some()))?;
        let detail = match new.resent_from {
            Some(from) => format!("created as a re-send of message {from}"),
            None => "created".to_owned(),
        };
        event(conn, id, MessageStatus::New, &detail, at)?;
        if let Some(from) = new.resent_from {
            diesel::update(messages::table.find(from))
                .set((messages::resent_as.eq(id), messages::updated_at.eq(at)))
                .execute(conn)?;
        }
        if let Some((request, detail)) = sent {
            diesel::update(messages::table.find(id))
                .set((
                    messages::status.eq(MessageStatus::Sent.as_str()),
                    messages::request_method.eq(request.method),
                    messages::request_url.eq(request.url),
                    messages::request_headers.eq(request.headers),
                    messages::request_body.eq(request.body),
                ))
                .execute(conn)?;
            event(conn, id, MessageStatus::Sent, detail, at)?;
        }
        Ok(id)
    })
}

/// A message's insert refused: under an `Idempotency-Key`, a unique violation is the key taken
/// by a request a moment ago.
pub(crate) fn insert_error(error: diesel::result::Error, keyed: bool) -> StoreError {
    match error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) if keyed => StoreError::IdempotencyKeyTaken,
        other => StoreError::from(other),
    }
}

/// How a message ended.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub status: MessageStatus,
    pub response: Option<ReceivedResponse<'a>>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub detail: &'a str,
}

/// Records the response (if any) and the final status.
pub fn finish(conn: &mut DbConnection, id: i64, outcome: &Outcome<'_>) -> Result<()> {
    write_transaction(conn, |conn| {
        let at = now();
        let response = outcome.response.as_ref();
        diesel::update(messages::table.find(id))
            .set((
                messages::status.eq(outcome.status.as_str()),
                messages::response_status.eq(response.map(|r| r.status)),
                messages::response_headers.eq(response.map(|r| r.headers)),
                messages::response_body.eq(response.map(|r| r.body)),
                messages::error_code.eq(outcome.error_code),
                messages::error_message.eq(outcome.error_message),
                messages::updated_at.eq(at),
            ))
            .execute(conn)?;
        event(conn, id, outcome.status, outcome.detail, at)
    })
}

/// An event in the message's history that does not change its status (a retry after refresh).
pub fn note(conn: &mut DbConnection, id: i64, detail: &str) -> Result<()> {
    let current: String = messages::table
        .find(id)
        .select(messages::status)
        .first(conn)?;
    let status = current.parse().unwrap_or(MessageStatus::Sent);
    event(conn, id, status, detail, now())
}

pub(crate) fn event(
    conn: &mut DbConnection,
    id: i64,
    status: MessageStatus,
    detail: &str,
    at: i64,
) -> Result<()> {
    diesel::insert_into(message_events::table)
        .values((
            message_events::message_id.eq(id),
            message_events::status.eq(status.as_str()),
            message_events::detail.eq(detail),
            message_events::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<Message>> {
    Ok(messages::table
        .find(id)
        .select(Message::as_select())
        .first(conn)
        .optional()?)
}

/// How many messages each status has (statuses without messages left out).
pub fn count_by_status(conn: &mut DbConnection) -> Result<Vec<(String, i64)>> {
    Ok(messages::table
        .group_by(messages::status)
        .select((messages::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// The history of a message, oldest first.
pub fn events(conn: &mut DbConnection, id: i64) -> Result<Vec<MessageEvent>> {
    Ok(message_events::table
        .filter(message_events::message_id.eq(id))
        .order(message_events::id)
        .select(MessageEvent::as_select())
        .load(conn)?)
}

/// What the message list shows; all optional.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub service: Option<String>,
    pub status: Option<MessageStatus>,
    pub user_id: Option<i64>,
    pub company: Option<String>,
    /// Paging: only messages older than this id.
    pub before: Option<i64>,
    pub limit: i64,
}

fn page_of(filter: &MessageFilter) -> messages::BoxedQuery<'static, crate::db::MultiBackend> {
    let mut query: messages::BoxedQuery<'static, crate::db::MultiBackend> =
        messages::table.into_boxed();
    if let Some(service) = &filter.service {
        query = query.filter(messages::service_name.eq(service.clone()));
    }
    if let Some(status) = filter.status {
        query = query.filter(messages::status.eq(status.as_str()));
    }
    if let Some(user) = filter.user_id {
        query = query.filter(messages::user_id.eq(user));
    }
    if let Some(company) = &filter.company {
        query = query.filter(messages::company.eq(company.clone()));
    }
    if let Some(before) = filter.before {
        query = query.filter(messages::id.lt(before));
    }
    query
        .order(messages::id.desc())
        .limit(filter.limit.clamp(1, 500))
}

/// Messages matching `filter`, newest first. Each filter has an index ending in `id` (migration
/// `list_indexes`): a page reads its own rows, however many messages there are.
pub fn search(conn: &mut DbConnection, filter: &MessageFilter) -> Result<Vec<Message>> {
    Ok(page_of(filter).select(Message::as_select()).load(conn)?)
}

/// A message as the list shows it: without its fields, request and response, which are most
/// of a message's bytes and which the list does not show.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageLine {
    pub id: i64,
    pub service_name: String,
    status: String,
    pub user_id: Option<i64>,
    pub resent_as: Option<i64>,
    pub created_at: i64,
}

impl MessageLine {
    pub fn status(&self) -> MessageStatus {
        self.status.parse().unwrap_or(MessageStatus::TechnicalError)
    }
}

/// [`search`] for the list: the same messages, as [`MessageLine`]s.
pub fn search_lines(conn: &mut DbConnection, filter: &MessageFilter) -> Result<Vec<MessageLine>> {
    Ok(page_of(filter)
        .select(MessageLine::as_select())
        .load(conn)?)
}
