//! My connections: every user-specific web application with the actor's own connection, and
//! Connect / Disconnect for it (modelled on a landlord platform's "Settings › HMRC
//! Connection"). Any user; each acts only on their own connection.

mod nino;

use emsg_engine::{Acting, CodeRequest, EngineError};
use emsg_store::connections::Status;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_webapps::Capture;
use serde::Serialize;

use crate::views::status_text;
use crate::web_applications::{Action, Outcome};
use crate::{Actor, Context, UseCaseError};

/// One user-specific web application with the actor's own connection, as the page shows it.
#[derive(Debug, Serialize)]
pub struct MyConnection {
    pub name: String,
    pub description: String,
    /// `not_connected`, or the live connection's status.
    pub status: &'static str,
    /// The status in the page's words.
    pub status_text: &'static str,
    pub connected: bool,
    pub authorized_at: Option<String>,
    /// Unix seconds, for the countdown script.
    pub access_expires_at: Option<i64>,
    pub access_expires_on: Option<String>,
    /// "3h 59m", rendered on the server so the page works without JavaScript.
    pub expires_in: Option<String>,
    /// The connection's National Insurance number, all but its last three characters hidden.
    pub nino: Option<String>,
    /// Connecting asks for the user's National Insurance number.
    pub asks_nino: bool,
    pub is_exchange: bool,
}

/// Whether connecting to `record` asks for the user's National Insurance number: when the
/// record says it captures one (`captures: [nino]`, the HMRC Income Tax records).
fn asks_for_nino(record: &WebApplication) -> bool {
    record.captures().contains(&Capture::Nino)
}

/// Every user-specific web application with the actor's own connection (a disconnected one
/// shows as not connected).
pub async fn list(ctx: &Context, actor: &Actor) -> Result<Vec<MyConnection>, UseCaseError> {
    let user = actor.require_user("My connections")?;
    let now = emsg_store::now();
    let all = ctx
        .run(|conn| {
            Ok::<_, UseCaseError>(
                records::list(conn)?
                    .into_iter()
                    .filter(|r| r.user_specific)
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    let mut rows = Vec::with_capacity(all.len());
    for record in all {
        let connection = ctx
            .engine()
            .connection(&record.name, None, user)
            .await?
            .filter(|c| c.status != Status::Disconnected);
        let live = connection.as_ref();
        rows.push(MyConnection {
            status: live.map_or("not_connected", |c| c.status.as_str()),
            status_text: live.map_or("Not connected", |c| status_text(c.status)),
            connected: live.is_some(),
            authorized_at: live
                .and_then(|c| c.authorized_at)
                .map(emsg_store::format_utc),
            access_expires_at: live.and_then(|c| c.access_expires_at),
            access_expires_on: live
                .and_then(|c| c.access_expires_at)
                .map(emsg_store::format_utc),
            expires_in: live
                .and_then(|c| c.expires_in(now))
                .map(emsg_store::format_remaining),
            nino: live
                .and_then(|c| c.taxpayer_id.as_deref())
                .map(nino::masked),
            asks_nino: asks_for_nino(&record),
            is_exchange: record.is_exchange(),
            description: record.description,
            name: record.name,
        });
    }
    Ok(rows)
}

/// The user-specific record named `name`; shared records are not "my" connections.
async fn user_specific_record(ctx: &Context, name: String) -> Result<WebApplication, UseCaseError> {
    let record = ctx
        .run(move |conn| Ok::<_, UseCaseError>(records::get(conn, &name)?))
        .await?;
    if record.user_specific {
        Ok(record)
    } else {
        Err(UseCaseError::NotFound(format!(
            "{} is shared by the company, not connected per user: use the Web applications page",
            record.name
        )))
    }
}

/// A refused National Insurance number, shown next to the record it was typed for.
#[derive(Debug)]
pub struct NinoProblem {
    pub record: String,
    pub message: String,
    pub typed: String,
}

/// What Connect started.
#[derive(Debug)]
pub enum Connecting {
    /// Where to send the browser to sign in at the provider.
    SignIn { url: String },
    /// The National Insurance number typed was refused; nothing was started.
    NinoRefused(NinoProblem),
}

/// Starts connecting the actor to the user-specific record `name`, with their National
/// Insurance number when the record asks for one. The engine's refusal is the answer's
/// outcome, for the page to show.
pub async fn connect(
    ctx: &Context,
    actor: &Actor,
    name: String,
    nino_typed: Option<String>,
) -> Result<Result<Connecting, EngineError>, UseCaseError> {
    actor.require_actions()?;
    let user = actor.require_user("Connecting on My connections")?;
    let record = user_specific_record(ctx, name).await?;
    // The NINO is checked before anything is started: a refused one leaves no trace.
    let taxpayer_id = if asks_for_nino(&record) {
        let typed = nino_typed.unwrap_or_default();
        match nino::normalise(&typed) {
            Ok(normalised) => Some(normalised),
            Err(message) => {
                return Ok(Ok(Connecting::NinoRefused(NinoProblem {
                    record: record.name,
                    message: format!("National Insurance number not accepted: {message}."),
                    typed,
                })));
            }
        }
    } else {
        None
    };
    let request = CodeRequest {
        taxpayer_id,
        ..Default::default()
    };
    Ok(ctx
        .engine()
        .get_authorization_code(&record.name, None, user, request)
        .await
        .map(|start| Connecting::SignIn { url: start.url }))
}

/// Disconnects the actor's own connection to the user-specific record `name`; the sentence to
/// show. The engine's refusal is the answer's outcome, for the page to show.
pub async fn disconnect(
    ctx: &Context,
    actor: &Actor,
    name: String,
) -> Result<Result<String, EngineError>, UseCaseError> {
    actor.require_actions()?;
    let user = actor.require_user("Disconnecting on My connections")?;
    let record = user_specific_record(ctx, name).await?;
    Ok(ctx
        .engine()
        .disconnect(&record.name, None, Acting::User(user))
        .await
        .map(|done| Outcome::Disconnected(done).message(Action::Disconnect)))
}
