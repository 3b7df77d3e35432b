//! `/audit` and `GET /api/v1/audit`: the audit log, newest first, filtered by record, user,
//! action and outcome, 50 entries a page. Both roles read it; entries never hold a secret.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_store::audit::{self, AuditEntry, AuditFilter};
use emsg_store::web_applications as records;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{ApiUser, PageUser};
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::html;
use crate::state::AppState;

pub const PER_PAGE: i64 = 50;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(page))
        .route("/api/v1/audit", web::get().to(api));
}

/// The query string of both faces: names, not ids; empty values mean "any".
#[derive(Debug, Default, Deserialize)]
struct Query {
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// One entry as shown: user and record by name.
#[derive(Debug, Serialize)]
struct EntryView {
    at: String,
    /// The user's name, or `operator` / `system`.
    who: String,
    action: String,
    web_application: Option<String>,
    outcome: String,
    error_code: Option<String>,
    detail: String,
}

#[derive(Debug, Serialize)]
struct SelectOption {
    value: String,
    selected: bool,
}

struct Found {
    entries: Vec<EntryView>,
    total: i64,
    page: i64,
    pages: i64,
    records: Vec<String>,
    users: Vec<String>,
    actions: Vec<String>,
    outcomes: Vec<String>,
    record: Option<String>,
    user: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
}

async fn search(state: &AppState, query: Query) -> Result<Found, WebError> {
    let page = match non_empty(query.page.as_ref()) {
        None => 1,
        Some(p) => p.parse::<i64>().ok().filter(|p| *p >= 1).ok_or_else(|| {
            WebError::BadRequest(format!("page `{p}` is not a page number: use 1, 2, 3…"))
        })?,
    };
    let record = non_empty(query.record.as_ref());
    let user = non_empty(query.user.as_ref());
    let action = non_empty(query.action.as_ref());
    let outcome = non_empty(query.outcome.as_ref());
    let (record2, user2, action2, outcome2) = (
        record.clone(),
        user.clone(),
        action.clone(),
        outcome.clone(),
    );
    let (entries, total, records, users, actions, outcomes) = state
        .with_conn(move |conn| {
            let all = records::list(conn)?;
            let record_names: HashMap<i64, String> =
                all.iter().map(|r| (r.id, r.name.clone())).collect();
            let people = emsg_store::users::list(conn)?;
            let user_names: HashMap<i64, String> =
                people.iter().map(|u| (u.id, u.name.clone())).collect();
            // An unknown name matches nothing (id 0 is never used).
            let web_application_id = record2.as_ref().map(|name| {
                all.iter()
                    .find(|r| r.name_key == records::name_key(name))
                    .map_or(0, |r| r.id)
            });
            let user_id = user2.as_ref().map(|name| {
                people
                    .iter()
                    .find(|u| u.name.eq_ignore_ascii_case(name))
                    .map_or(0, |u| u.id)
            });
            let filter = AuditFilter {
                web_application_id,
                user_id,
                action: action2,
                outcome: outcome2,
            };
            let (entries, total) = audit::search(conn, &filter, page, PER_PAGE)?;
            let (actions, outcomes) = audit::kinds(conn)?;
            let view = |e: &AuditEntry| EntryView {
                at: emsg_store::format_utc(e.at),
                who: e
                    .user_id
                    .and_then(|id| user_names.get(&id).cloned())
                    .unwrap_or_else(|| e.actor.clone()),
                action: e.action.clone(),
                web_application: e.web_application_id.map(|id| {
                    record_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("(deleted record {id})"))
                }),
                outcome: e.outcome.clone(),
                error_code: e.error_code.clone(),
                detail: e.detail.clone(),
            };
            Ok((
                entries.iter().map(view).collect::<Vec<_>>(),
                total,
                all.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
                people.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
                actions,
                outcomes,
            ))
        })
        .await?;
    Ok(Found {
        entries,
        total,
        page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        records,
        users,
        actions,
        outcomes,
        record,
        user,
        action,
        outcome,
    })
}

fn options(all: &[String], chosen: Option<&String>) -> Vec<SelectOption> {
    let mut list: Vec<SelectOption> = all
        .iter()
        .map(|v| SelectOption {
            value: v.clone(),
            selected: chosen == Some(v),
        })
        .collect();
    // A value typed into the URL stays visible in the form.
    if let Some(c) = chosen
        && !all.contains(c)
    {
        list.push(SelectOption {
            value: c.clone(),
            selected: true,
        });
    }
    list
}

/// `/audit?record=…&user=…&action=…&outcome=…&page=N`, keeping only the filters set.
fn link(found: &Found, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("record", &found.record),
        ("user", &found.user),
        ("action", &found.action),
        ("outcome", &found.outcome),
    ] {
        if let Some(v) = value {
            query.append_pair(key, v);
        }
    }
    query.append_pair("page", &page.to_string());
    format!("/audit?{}", query.finish())
}

async fn page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    query: web::Query<Query>,
) -> Result<HttpResponse, PageError> {
    let found = search(&state, query.into_inner()).await?;
    let first = (found.page - 1) * PER_PAGE + 1;
    let shown = i64::try_from(found.entries.len()).unwrap_or(0);
    let body = render(
        &state,
        "audit",
        "Audit log",
        Some(&user),
        json!({
            "entries": found.entries,
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
            "range": if shown > 0 { format!("{first}–{}", first + shown - 1) } else { String::new() },
            "previous": (found.page > 1).then(|| link(&found, found.page - 1)),
            "next": (found.page < found.pages).then(|| link(&found, found.page + 1)),
            "records": options(&found.records, found.record.as_ref()),
            "users": options(&found.users, found.user.as_ref()),
            "actions": options(&found.actions, found.action.as_ref()),
            "outcomes": options(&found.outcomes, found.outcome.as_ref()),
            "filtered": found.record.is_some() || found.user.is_some() || found.action.is_some() || found.outcome.is_some(),
        }),
    )?;
    Ok(html(StatusCode::OK, body))
}

async fn api(
    state: web::Data<AppState>,
    _user: ApiUser,
    query: web::Query<Query>,
) -> Result<HttpResponse, WebError> {
    let found = search(&state, query.into_inner()).await?;
    Ok(HttpResponse::Ok().json(json!({
        "entries": found.entries,
        "total": found.total,
        "page": found.page,
        "per_page": PER_PAGE,
        "pages": found.pages,
        "filter": {
            "record": found.record,
            "user": found.user,
            "action": found.action,
            "outcome": found.outcome,
        },
    })))
}
