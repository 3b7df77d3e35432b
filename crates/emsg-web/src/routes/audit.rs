//! `/audit` and `GET /api/v1/audit`: the audit log, newest first, filtered by record, user,
//! action and outcome, 50 entries a page. Both roles read it; entries never hold a secret.
//! The next page is `before=` the last entry shown, with the filters kept.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_use_cases::audit::{AuditEntryView, AuditQuery as Query, PER_PAGE, search};
use serde::Serialize;
use serde_json::json;

use crate::auth::{ApiUser, PageUser};
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{html, with_query};
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

/// The table's rows: the bulk of the page, written here and escaped as the templates escape,
/// rather than by a Handlebars loop over a JSON array (as the Web applications list does).
fn rows(entries: &[AuditEntryView]) -> String {
    let escape = handlebars::html_escape;
    let mut rows = String::with_capacity(entries.len() * 256);
    for e in entries {
        let error_code = e
            .error_code
            .as_deref()
            .map(|code| format!(" ({})", escape(code)))
            .unwrap_or_default();
        rows.push_str(&format!(
            "  <tr><td>{at}</td><td>{who}</td><td>{action}</td><td>{record}</td>\
             <td class=\"outcome-{outcome}\">{outcome}{error_code}</td><td>{detail}</td></tr>\n",
            at = escape(&e.at),
            who = escape(&e.who),
            action = escape(&e.action),
            record = escape(e.web_application.as_deref().unwrap_or_default()),
            outcome = escape(&e.outcome),
            detail = escape(&e.detail),
        ));
    }
    rows
}

async fn page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    query: web::Query<Query>,
) -> Result<HttpResponse, PageError> {
    let found = search(&state.ctx, query.into_inner()).await?;
    let body = render(
        &state,
        "audit",
        "Audit log",
        Some(&user),
        json!({
            "entries": rows(&found.entries),
            "newest": found.before.is_some().then(|| with_query("/audit", &found.first_page())),
            "next": found.next_before.map(|before| with_query("/audit", &found.page_before(before))),
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
        "per_page": PER_PAGE,
        "next_before": found.next_before,
        "next": found.next_before.map(|before| with_query("/api/v1/audit", &found.page_before(before))),
        "filter": {
            "record": found.record,
            "user": found.user,
            "action": found.action,
            "outcome": found.outcome,
        },
    })))
}
