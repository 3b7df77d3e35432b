//! The requests a processing's steps sent and what came back: a message's timeline. An unsafe
//! request is written as `sending` before it leaves, so that a node that dies before the answer
//! is recorded leaves the trace the next node reads: the outcome is unknown.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::Result;
use crate::ids::MessageId;
use crate::schema::message_exchanges;

/// Why a request was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A step's own request.
    Request,
    /// One look of a poll.
    Poll,
    /// A safe request that tells whether an unsafe step's request was processed.
    Reconcile,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Poll => "poll",
            Self::Reconcile => "reconcile",
        }
    }
}

/// One exchange as kept.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = message_exchanges)]
pub struct Exchange {
    pub id: i64,
    pub message_id: i64,
    pub step: i32,
    pub purpose: String,
    /// `sending` (left, nothing recorded after), `answered`, `no_answer`, or `settled` (an
    /// unknown outcome that a reconcile request or a person has since settled).
    pub state: String,
    pub request_method: String,
    pub request_url: String,
    /// A JSON list of `[name, value]`; Authorization redacted.
    pub request_headers: String,
    pub request_body: Option<String>,
    pub response_status: Option<i32>,
    pub response_headers: Option<String>,
    pub response_body: Option<Vec<u8>>,
    /// The file name the body is kept under, when the step keeps it as an attachment.
    pub attachment: Option<String>,
    /// What the step read from the answer, or why there was none.
    pub note: String,
    pub started_at_ms: i64,
    pub ended_at_ms: Option<i64>,
}

impl Exchange {
    /// The request left and nothing came back (or nothing was recorded), or a `5xx` came back
    /// that says nothing of whether it was processed: the provider may or may not have processed
    /// it.
    pub fn outcome_unknown(&self) -> bool {
        self.state == "sending"
            || self.state == "no_answer"
            || (self.state == "answered" && self.response_status.is_some_and(|s| s >= 500))
    }
}

/// A request about to leave.
#[derive(Debug, Clone)]
pub struct Leaving<'a> {
    pub message: MessageId,
    pub step: i32,
    pub purpose: Purpose,
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a str,
    pub body: Option<&'a str>,
    pub at_ms: i64,
}

/// Records a request as leaving; returns its id.
pub fn begin(conn: &mut DbConnection, leaving: &Leaving<'_>) -> Result<i64> {
    Ok(diesel::insert_into(message_exchanges::table)
        .values((
            message_exchanges::message_id.eq(leaving.message),
            message_exchanges::step.eq(leaving.step),
            message_exchanges::purpose.eq(leaving.purpose.as_str()),
            message_exchanges::state.eq("sending"),
            message_exchanges::request_method.eq(leaving.method),
            message_exchanges::request_url.eq(leaving.url),
            message_exchanges::request_headers.eq(leaving.headers),
            message_exchanges::request_body.eq(leaving.body),
            message_exchanges::started_at_ms.eq(leaving.at_ms),
        ))
        .returning(message_exchanges::id)
        .get_result(conn)?)
}

/// The provider's answer to exchange `id`.
#[derive(Debug, Clone)]
pub struct Answered<'a> {
    pub status: i32,
    pub headers: &'a str,
    pub body: &'a [u8],
    pub attachment: Option<&'a str>,
    pub note: &'a str,
    pub at_ms: i64,
}

pub fn answered(conn: &mut DbConnection, id: i64, answer: &Answered<'_>) -> Result<()> {
    diesel::update(message_exchanges::table.find(id))
        .set((
            message_exchanges::state.eq("answered"),
            message_exchanges::response_status.eq(answer.status),
            message_exchanges::response_headers.eq(answer.headers),
            message_exchanges::response_body.eq(answer.body),
            message_exchanges::attachment.eq(answer.attachment),
            message_exchanges::note.eq(answer.note),
            message_exchanges::ended_at_ms.eq(answer.at_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// No answer came back (a timeout, a reset connection): `note` says what happened.
pub fn no_answer(conn: &mut DbConnection, id: i64, note: &str, at_ms: i64) -> Result<()> {
    diesel::update(message_exchanges::table.find(id))
        .set((
            message_exchanges::state.eq("no_answer"),
            message_exchanges::note.eq(note),
            message_exchanges::ended_at_ms.eq(at_ms),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks the step's unknown outcomes as settled (by a reconcile request or a person), so that
/// the step is not reconciled again; `note` says how.
pub fn settle(conn: &mut DbConnection, message: MessageId, step: i32, note: &str) -> Result<()> {
    diesel::update(
        message_exchanges::table
            .filter(message_exchanges::message_id.eq(message))
            .filter(message_exchanges::step.eq(step))
            .filter(message_exchanges::state.eq_any(["sending", "no_answer"])),
    )
    .set((
        message_exchanges::state.eq("settled"),
        message_exchanges::note.eq(note),
    ))
    .execute(conn)?;
    Ok(())
}

/// What the step made of the answer (values read, a verdict), and the file name its body is
/// kept under when the step keeps it as an attachment.
pub fn describe(
    conn: &mut DbConnection,
    id: i64,
    note: &str,
    attachment: Option<&str>,
) -> Result<()> {
    diesel::update(message_exchanges::table.find(id))
        .set((
            message_exchanges::note.eq(note),
            message_exchanges::attachment.eq(attachment),
        ))
        .execute(conn)?;
    Ok(())
}

/// A message's exchanges, oldest first.
pub fn of_message(conn: &mut DbConnection, message: MessageId) -> Result<Vec<Exchange>> {
    Ok(message_exchanges::table
        .filter(message_exchanges::message_id.eq(message))
        .order(message_exchanges::id)
        .select(Exchange::as_select())
        .load(conn)?)
}

/// The newest exchange of the step's own request (not its reconciles), if any.
pub fn last_request(
    conn: &mut DbConnection,
    message: MessageId,
    step: i32,
) -> Result<Option<Exchange>> {
    Ok(message_exchanges::table
        .filter(message_exchanges::message_id.eq(message))
        .filter(message_exchanges::step.eq(step))
        .filter(message_exchanges::purpose.eq(Purpose::Request.as_str()))
        .order(message_exchanges::id.desc())
        .select(Exchange::as_select())
        .first(conn)
        .optional()?)
}

/// One exchange of a message (for downloading its attachment).
pub fn get(conn: &mut DbConnection, message: MessageId, id: i64) -> Result<Option<Exchange>> {
    Ok(message_exchanges::table
        .find(id)
        .filter(message_exchanges::message_id.eq(message))
        .select(Exchange::as_select())
        .first(conn)
        .optional()?)
}
