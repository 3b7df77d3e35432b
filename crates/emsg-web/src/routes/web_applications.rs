//! The Web applications page: records on the left, the selected one's setup, connection panel
//! and action pane on the right; the actions as forms that come back with a flash message.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_seal::Secret;
use emsg_use_cases::time;
use emsg_use_cases::views::ConnectionPanel;
use emsg_use_cases::web_applications::{
    Action, ActionInput, Chosen, NAMES_PER_PAGE as PAGE_SIZE, Outcome, WebApplication, chosen,
    names_page, run_action, set_client_secret as set_secret,
};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{PageSession, PageUser};
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{encode_segment, html, see_other};
use crate::session::Flash;
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/web-applications", web::get().to(list_page))
        .route("/web-applications/{name}", web::get().to(record_page))
        .route(
            "/web-applications/{name}/client-secret",
            web::post().to(set_client_secret),
        )
        .route("/web-applications/{name}/{action}", web::post().to(action));
}

fn href(name: &str) -> String {
    format!("/web-applications/{}", encode_segment(name))
}

/// `?q=` (names containing it, ignoring case) and `?page=` (from 1) of the list.
#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }

    fn page(&self) -> Result<i64, WebError> {
        match self
            .page
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => Ok(1),
            Some(text) => text.parse::<i64>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                WebError::BadRequest(format!("page `{text}` is not a page number: use 1, 2, 3 …"))
            }),
        }
    }

    /// The query string that keeps this filter and page on the links of the list.
    fn keep(&self, page: i64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(q) = self.filter() {
            query.append_pair("q", q);
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let text = query.finish();
        if text.is_empty() {
            text
        } else {
            format!("?{text}")
        }
    }
}

async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: PageSession,
) -> Result<HttpResponse, PageError> {
    let query = web::Query::<ListQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    show(&state, session, None, query).await
}

async fn record_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: PageSession,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let query = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| WebError::BadRequest(format!("the page's query could not be read: {e}")))?
        .into_inner();
    show(&state, session, Some(name.into_inner()), query).await
}

async fn show(
    state: &AppState,
    session: PageSession,
    selected: Option<String>,
    query: ListQuery,
) -> Result<HttpResponse, PageError> {
    let company = state.ctx.company().to_owned();
    let page = query.page()?;
    let filter = query.filter().map(str::to_owned);
    let names_cache = state.names.clone();
    // The session, the list and the chosen record in one database task.
    let found = state
        .with_conn(move |conn| {
            let user = match session.user(conn)? {
                Ok(user) => user,
                Err(login) => return Ok(Err(login)),
            };
            // An unfiltered page from memory while the names' generation read with the
            // session holds, otherwise from the database.
            let cacheable = user.names_generation.filter(|_| filter.is_none());
            let kept = cacheable.and_then(|generation| names_cache.get(generation, page));
            let (names, total) = match kept {
                Some(kept) => kept,
                None => {
                    let (names, total) = names_page(conn, filter.as_deref(), page)?;
                    let names = std::sync::Arc::new(names);
                    if let Some(generation) = cacheable {
                        names_cache.put(generation, page, names.clone(), total);
                    }
                    (names, total)
                }
            };
            let wanted = selected.or_else(|| names.first().cloned());
            let chosen = match &wanted {
                Some(name) => {
                    Some(chosen(conn, name, &company, &user.actor())?.ok_or_else(|| {
                        WebError::NotFound(format!(
                            "no web application is named `{name}`: pick one from the list"
                        ))
                    })?)
                }
                None => None,
            };
            Ok(Ok((user, names, total, chosen)))
        })
        .await?;
    let (user, names, total, chosen) = found?;
    let user = &user;
    let keep = query.keep(page);
    let selected_json = match chosen {
        None => serde_json::Value::Null,
        Some(Chosen {
            record,
            view,
            waiting,
            connection,
        }) => {
            let now = time::now();
            let kind = if record.is_exchange() {
                emsg_webapps::Kind::Exchange
            } else {
                emsg_webapps::Kind::OAuth
            };
            json!({
                "href": href(&record.name),
                "csrf": user.csrf,
                "is_exchange": record.is_exchange(),
                "choices": choices(&record),
                "details": view.details(kind),
                "code_waiting": waiting,
                "connection": connection.map(|c| ConnectionPanel::new(&c, now)),
                "can_edit": user.is_admin(),
                "app": view,
            })
        }
    };
    let current = selected_json["app"]["name"].as_str().map(str::to_owned);
    // The list is the bulk of the page: written here, escaped as the templates escape, rather
    // than by a Handlebars loop over a JSON array (a third of the page's CPU under load).
    let mut list_html = String::with_capacity(names.len() * 96);
    for name in names.iter() {
        let selected = if current.as_deref() == Some(name.as_str()) {
            " aria-current=\"page\""
        } else {
            ""
        };
        list_html.push_str(&format!(
            "    <li><a href=\"{}\"{selected}>{}</a></li>\n",
            handlebars::html_escape(&format!("{}{keep}", href(name))),
            handlebars::html_escape(name),
        ));
    }
    let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
    let base = current
        .as_deref()
        .map_or_else(|| "/web-applications".to_owned(), href);
    let link = |p: i64| format!("{base}{}", query.keep(p));
    let title = current.as_deref().map_or_else(
        || "Web applications".to_owned(),
        |n| format!("{n} · Web applications"),
    );
    let body = render(
        state,
        "web_applications",
        &title,
        Some(user),
        json!({
            "applications": list_html,
            "selected": selected_json,
            "list": {
                "q": query.filter(),
                "action": base,
                "total": total,
                "page": page,
                "pages": pages,
                "first": (page - 1) * PAGE_SIZE + 1,
                "last": ((page - 1) * PAGE_SIZE + i64::try_from(names.len()).unwrap_or(0)),
                "previous": (page > 1).then(|| link(page - 1)),
                "next": (page < pages).then(|| link(page + 1)),
            },
        }),
    )?;
    Ok(html(StatusCode::OK, body))
}

/// The choices Get authorization code offers, per parameter the record declares them for
/// (`parameter_choices`), with the record's own value of the parameter selected; a record
/// without a value among the choices starts at "the provider's default" (the parameter is not
/// sent).
fn choices(record: &WebApplication) -> Vec<serde_json::Value> {
    let params = record.authorization_params();
    record
        .parameter_choices()
        .iter()
        .map(|(name, values)| {
            let current = params.get(name).filter(|v| values.contains(v));
            let options: Vec<_> = values
                .iter()
                .map(|v| json!({ "value": v, "selected": Some(v) == current }))
                .collect();
            json!({
                "name": name,
                "label": emsg_webapps::parameter_label(name),
                "unset": current.is_none(),
                "options": options,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
    /// The Get authorization code dialog's choices, by parameter name.
    #[serde(flatten)]
    choices: BTreeMap<String, String>,
}

async fn action(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let (name, action) = path.into_inner();
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    let action = Action::parse(&action).map_err(WebError::from)?;
    let back = href(&name);
    if action == Action::Disconnect && form.confirm.as_deref() != Some("yes") {
        state
            .sessions
            .set_flash(
                &user.session_id,
                Flash::error("Nothing was disconnected: confirm with Yes, disconnect."),
            )
            .await;
        return Ok(see_other(&back));
    }
    let input = ActionInput {
        scope: form.scope,
        choices: form.choices,
        code: form
            .code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .map(Secret::new),
    };
    match run_action(&state.ctx, &user.actor(), &name, action, input)
        .await
        .map_err(WebError::from)
    {
        Ok(Outcome::Redirect { url, .. }) => Ok(see_other(&url)),
        Ok(outcome) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::success(outcome.message(action)))
                .await;
            Ok(see_other(&back))
        }
        // Unknown records and refused rights are pages of their own; everything else the
        // engine says is shown on the record, where the user can act on it.
        Err(e @ (WebError::Forbidden(_) | WebError::NotFound(_) | WebError::BadRequest(_))) => {
            Err(e.into())
        }
        Err(WebError::Engine(e)) if e.code() == "unknown_web_application" => {
            Err(WebError::Engine(e).into())
        }
        Err(e) => {
            tracing::info!(app = %name, code = e.code(), "action failed: {e}");
            state
                .sessions
                .set_flash(&user.session_id, Flash::error(e.to_string()))
                .await;
            Ok(see_other(&back))
        }
    }
}

#[derive(Deserialize)]
struct SecretForm {
    #[serde(default)]
    csrf: Option<String>,
    client_secret: String,
}

async fn set_client_secret(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
    form: web::Form<SecretForm>,
) -> Result<HttpResponse, PageError> {
    let name = name.into_inner();
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    set_secret(&state.ctx, &user.actor(), name.clone(), form.client_secret).await?;
    state
        .sessions
        .set_flash(
            &user.session_id,
            Flash::success("The client secret was set."),
        )
        .await;
    Ok(see_other(&href(&name)))
}
