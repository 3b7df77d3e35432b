//! `/audit` and `GET /api/v1/audit`: the audit log, newest first, filtered by record, user,
//! action and outcome, 50 entries a page. Both roles read it; entries never hold a secret.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_use_cases::audit::{AuditPage as Found, AuditQuery as Query, PER_PAGE, search};
use serde::Serialize;
use serde_json::json;

use crate::auth::{ApiUser, PageUser};
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::html;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(page))
        .route("/api/v1/audit", web::get().to(api));
}

/// A choice of a filter's `<select>`.
#[derive(Debug, Serialize)]
struct SelectOption {
    value: String,
    selected: bool,
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
    let found = search(&state.ctx, query.into_inner()).await?;
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
    let found = search(&state.ctx, query.into_inner()).await?;
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
