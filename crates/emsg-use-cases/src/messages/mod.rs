//! The electronic-messages log and sending: find messages with the list's filters, one message
//! with its history, the web services, send and re-send. Finance users and administrators.

use std::collections::HashMap;

/// Where a message comes from, for HMRC's fraud-prevention headers: what a person's browser
/// reported and what the server saw of their connection.
pub use emsg_messages::fraud::{BrowserData, Hop, WebClient, is_device_id};
/// An API client's `Idempotency-Key`, checked as a header carries it.
pub use emsg_messages::idempotency::check_key;
/// Sending: the request, what was sent, why nothing was, and a field's refusal.
pub use emsg_messages::{FieldError, Origin, SendError, SendRequest, Sent};
pub use emsg_store::MessageId;
use emsg_store::messages::{self, MessageFilter};
/// A message as stored, its history and its status.
pub use emsg_store::messages::{Message, MessageEvent, MessageLine, MessageStatus};
use emsg_store::users;
use emsg_store::web_services;
/// A web service a message is sent with, and its fields' specification.
pub use emsg_store::web_services::WebService;
use serde::Deserialize;

use crate::{Actor, Context, UseCaseError};

mod batch;
mod list;

pub use batch::{batch_origin, resend_batch};
pub use list::{list, with_events};

/// Messages per page of the list.
const PAGE_SIZE: i64 = 50;

/// The web service named `name`, or a 404 naming where the services are listed.
pub async fn service(ctx: &Context, name: String) -> Result<WebService, UseCaseError> {
    ctx.run(move |conn| {
        web_services::find(conn, &name)?
            .ok_or_else(|| UseCaseError::NotFound(no_service_named(&name)))
    })
    .await
}

/// What a face answers for a web service that does not exist.
pub fn no_service_named(name: &str) -> String {
    format!("there is no web service named `{name}`; /messages/new lists them")
}

/// A message of this server's company, with its history.
pub async fn message_with_events(
    ctx: &Context,
    id: MessageId,
) -> Result<(Message, Vec<MessageEvent>), UseCaseError> {
    let company = ctx.company().to_owned();
    ctx.run(move |conn| read_message(conn, id, &company)).await
}

/// Message `id` of `company` with its events, or a 404 naming where the messages are listed.
fn read_message(
    conn: &mut emsg_store::db::DbConnection,
    id: MessageId,
    company: &str,
) -> Result<(Message, Vec<MessageEvent>), UseCaseError> {
    let id = id.get();
    let message = messages::get(conn, id)?
        .filter(|m| m.company == company)
        .ok_or_else(|| {
            UseCaseError::NotFound(format!(
                "there is no message {id}; /messages lists the messages"
            ))
        })?;
    let events = messages::events(conn, id)?;
    Ok((message, events))
}

/// User names by id, for showing who sent what.
pub async fn user_names(ctx: &Context) -> Result<HashMap<i64, String>, UseCaseError> {
    ctx.run(|conn| {
        Ok(users::list(conn)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect())
    })
    .await
}

/// The list's filters, as the GET form and the API's query string give them. Empty means
/// "any".
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
}

impl ListQuery {
    /// The query of the page after one whose last message is `before`: the filters and the
    /// page size kept, empty ones left out.
    pub fn page_before(&self, before: i64) -> Vec<(&'static str, String)> {
        let kept = |value: Option<&String>| given(value).unwrap_or_default();
        vec![
            ("service", kept(self.service.as_ref())),
            ("status", kept(self.status.as_ref())),
            ("user", kept(self.user.as_ref())),
            ("limit", kept(self.limit.as_ref())),
            ("before", before.to_string()),
        ]
    }
}

/// A filter's value, trimmed; empty is none.
pub fn given(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// One page of messages: the rows (whole [`Message`]s, or the list's [`MessageLine`]s), and
/// the id to page on from when there are more.
pub struct Found<M = Message> {
    pub messages: Vec<M>,
    pub next_before: Option<i64>,
}

/// The list's query, checked.
struct Asked {
    filter: MessageFilter,
    /// The user's name, looked up in the same trip to the database as the messages.
    user: Option<String>,
    limit: usize,
}

fn asked(ctx: &Context, query: &ListQuery) -> Result<Asked, UseCaseError> {
    let status = given(query.status.as_ref())
        .map(|s| {
            s.parse::<MessageStatus>()
                .map_err(|e| UseCaseError::Invalid(e.to_string()))
        })
        .transpose()?;
    let number = |name: &str, value: Option<&String>| -> Result<Option<i64>, UseCaseError> {
        given(value)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    UseCaseError::Invalid(format!("`{name}` must be a whole number, not `{v}`"))
                })
            })
            .transpose()
    };
    let before = number("before", query.before.as_ref())?;
    let limit = number("limit", query.limit.as_ref())?
        .unwrap_or(PAGE_SIZE)
        .clamp(1, 500);
    Ok(Asked {
        filter: MessageFilter {
            service: given(query.service.as_ref()),
            status,
            user_id: None,
            company: Some(ctx.company().to_owned()),
            before,
            // One more than the page shows: whether there is a next page, without counting.
            limit: limit + 1,
        },
        user: given(query.user.as_ref()),
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    })
}

/// The page `asked` for, loaded by `load`. A user name that no one has finds nothing rather
/// than everything.
fn find<M>(
    conn: &mut emsg_store::db::DbConnection,
    asked: Asked,
    load: fn(&mut emsg_store::db::DbConnection, &MessageFilter) -> emsg_store::Result<Vec<M>>,
    id: fn(&M) -> i64,
) -> Result<Found<M>, UseCaseError> {
    let Asked {
        mut filter,
        user,
        limit,
    } = asked;
    if let Some(name) = &user {
        match users::find(conn, name)? {
            Some(u) => filter.user_id = Some(u.id),
            None => {
                return Ok(Found {
                    messages: Vec::new(),
                    next_before: None,
                });
            }
        }
    }
    let mut messages = load(conn, &filter)?;
    let more = messages.len() > limit;
    messages.truncate(limit);
    let next_before = more.then(|| messages.last().map(id)).flatten();
    Ok(Found {
        messages,
        next_before,
    })
}

/// Runs the filters: whole messages, as the API shows them.
pub async fn search(ctx: &Context, query: &ListQuery) -> Result<Found, UseCaseError> {
    let asked = asked(ctx, query)?;
    ctx.run(move |conn| find(conn, asked, messages::search, |m| m.id))
        .await
}

/// What the Messages page shows: a page of the list's lines, the names of the users who sent
/// them and the web services the filter offers, read in one trip to the database.
pub struct ListPage {
    pub found: Found<MessageLine>,
    pub user_names: HashMap<i64, String>,
    pub services: Vec<String>,
}

/// The Messages page for `query`.
pub async fn list_page(
    ctx: &Context,
    actor: &Actor,
    query: &ListQuery,
) -> Result<ListPage, UseCaseError> {
    actor.require_actions()?;
    let asked = asked(ctx, query)?;
    ctx.run(move |conn| {
        let found = find(conn, asked, messages::search_lines, |m| m.id)?;
        let user_names = users::list(conn)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        let services = web_services::names(conn)?;
        Ok(ListPage {
            found,
            user_names,
            services,
        })
    })
    .await
}

/// `[name, value]` pairs as stored.
pub fn header_pairs(json: Option<&str>) -> Vec<(String, String)> {
    json.and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}

/// A message as its page shows it: with its history, the web service's field specification
/// (for the labels) and its web application's name, when they still exist.
pub struct ShownMessage {
    pub message: Message,
    pub events: Vec<MessageEvent>,
    pub spec: Option<emsg_webapps::WebServiceSpec>,
    pub web_application: Option<String>,
}

/// Message `id` of this company for its page.
pub async fn show(
    ctx: &Context,
    actor: &Actor,
    id: MessageId,
) -> Result<ShownMessage, UseCaseError> {
    actor.require_actions()?;
    let company = ctx.company().to_owned();
    // The message, its history, its service's specification and its record's name in one
    // database task.
    ctx.run(move |conn| {
        let (message, events) = read_message(conn, id, &company)?;
        let spec = web_services::find(conn, &message.service_name)?.map(|s| s.spec);
        let web_application =
            emsg_store::web_applications::by_id(conn, message.web_application_id)?.map(|r| r.name);
        Ok(ShownMessage {
            message,
            events,
            spec,
            web_application,
        })
    })
    .await
}

/// Every web service a message can be sent with.
pub async fn services(ctx: &Context, actor: &Actor) -> Result<Vec<WebService>, UseCaseError> {
    actor.require_actions()?;
    ctx.run(|conn| Ok(web_services::list(conn)?)).await
}

/// Sends a new message as `actor` (who must be the request's user).
pub async fn send(
    ctx: &Context,
    actor: &Actor,
    request: SendRequest,
) -> Result<Result<Sent, SendError>, UseCaseError> {
    actor.require_actions()?;
    Ok(ctx.messenger()?.send(request).await)
}

/// Re-sends message `id` of this company as `actor`, from `origin`.
pub async fn resend(
    ctx: &Context,
    actor: &Actor,
    id: MessageId,
    origin: emsg_messages::Origin,
) -> Result<Result<Sent, SendError>, UseCaseError> {
    actor.require_actions()?;
    // Only this company's messages; a 404 otherwise.
    message_with_events(ctx, id).await?;
    Ok(ctx
        .messenger()?
        .resend(id.get(), actor.user_id(), origin)
        .await)
}
