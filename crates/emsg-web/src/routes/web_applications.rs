//! The Web applications page: records on the left, the selected one's setup, connection panel
//! and action pane on the right; the actions as forms that come back with a flash message.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use emsg_seal::Secret;
use emsg_store::web_applications::{self as records, WebApplication};
use serde::Deserialize;
use serde_json::json;

use super::{encode_segment, html, render, see_other};
use crate::actions::{self, Action, ActionInput, Outcome, UI_LOCALES};
use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;
use crate::views::{ConnectionPanel, WebApplicationView};

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

async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: PageUser,
) -> Result<HttpResponse, PageError> {
    // Dynamics' habit: the redirect URL is the page itself. Then the answer arrives here.
    if req.query_string().contains("state=") {
        return super::callback::handle(&state, &req, Some(user.0)).await;
    }
    show(&state, &user.0, None).await
}

async fn record_page(
    state: web::Data<AppState>,
    user: PageUser,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    show(&state, &user.0, Some(name.into_inner())).await
}

/// A captured code waiting for Obtain access token, in words (never the code).
fn code_waiting(
    conn: &mut emsg_store::db::PooledConnection,
    record: &WebApplication,
    company: &str,
    user: i64,
) -> Result<Option<String>, WebError> {
    let now = emsg_store::now();
    let flow = emsg_store::pending::latest(conn, record.id, company, user)?;
    Ok(flow
        .filter(|f| f.has_code() && f.used_at.is_none() && f.expires_at > now)
        .and_then(|f| f.code_received_at)
        .map(|at| {
            format!(
                "An authorization code arrived at {}; select OK to obtain the access token before {}.",
                emsg_store::format_utc(at),
                emsg_store::format_utc(at + i64::try_from(record.code_lifetime().as_secs()).unwrap_or(600))
            )
        }))
}

async fn show(
    state: &AppState,
    user: &SessionUser,
    selected: Option<String>,
) -> Result<HttpResponse, PageError> {
    let company = state.engine.config().default_company.clone();
    let (user_id, company_for_db) = (user.id, company.clone());
    let wanted = selected.clone();
    let (all, chosen, waiting) = state
        .with_conn(move |conn| {
            let all = records::list(conn)?;
            let names = records::names_by_id(&all);
            let chosen = match &wanted {
                Some(name) => Some(
                    all.iter()
                        .find(|r| r.name_key == records::name_key(name))
                        .ok_or_else(|| {
                            WebError::NotFound(format!(
                                "no web application is named `{name}`: pick one from the list"
                            ))
                        })?,
                ),
                None => all.first(),
            };
            let waiting = match chosen {
                // Flows belong to the user who started them, whatever the record.
                Some(record) if !record.is_exchange() => {
                    code_waiting(conn, record, &company_for_db, user_id)?
                }
                _ => None,
            };
            let chosen = chosen.map(|r| (r.clone(), WebApplicationView::new(r, &names)));
            let list: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
            Ok((list, chosen, waiting))
        })
        .await?;
    let selected_json = match chosen {
        None => serde_json::Value::Null,
        Some((record, view)) => {
            let connection = connection_for(state, user, &record).await?;
            let now = emsg_store::now();
            let ui_locales = record
                .authorization_params()
                .get("ui_locales")
                .map(|current| {
                    UI_LOCALES
                        .iter()
                        .map(|l| json!({ "value": l, "selected": *l == current.as_str() }))
                        .collect::<Vec<_>>()
                });
            json!({
                "href": href(&record.name),
                "csrf": user.csrf,
                "is_exchange": record.is_exchange(),
                "ui_locales": ui_locales,
                "code_waiting": waiting,
                "connection": connection.map(|c| ConnectionPanel::new(&c, now)),
                "can_edit": user.is_admin(),
                "app": view,
            })
        }
    };
    let current = selected_json["app"]["name"].as_str().map(str::to_owned);
    let applications: Vec<_> = all
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "href": href(name),
                "selected": current.as_deref() == Some(name.as_str()),
            })
        })
        .collect();
    let title = current.as_deref().map_or_else(
        || "Web applications".to_owned(),
        |n| format!("{n} · Web applications"),
    );
    let body = render(
        state,
        "web_applications",
        &title,
        Some(user),
        json!({ "applications": applications, "selected": selected_json }),
    )?;
    Ok(html(StatusCode::OK, body))
}

/// The connection the current user acts on: the company's for a shared record, their own for a
/// user-specific one.
pub(crate) async fn connection_for(
    state: &AppState,
    user: &SessionUser,
    record: &WebApplication,
) -> Result<Option<emsg_engine::ConnectionView>, WebError> {
    // One lookup by the connection's unique key (the engine picks this user's connection for
    // user-specific records, the company's otherwise), not a scan of every connection.
    Ok(state.engine.connection(&record.name, None, user.id).await?)
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    ui_locales: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    confirm: Option<String>,
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
    let action = Action::parse(&action)?;
    let back = href(&name);
    if action == Action::Disconnect && form.confirm.as_deref() != Some("yes") {
        state.sessions.set_flash(
            &user.session_id,
            Flash::error("Nothing was disconnected: confirm with Yes, disconnect."),
        );
        return Ok(see_other(&back));
    }
    let input = ActionInput {
        scope: form.scope,
        ui_locales: form.ui_locales,
        code: form
            .code
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .map(Secret::new),
    };
    match actions::run(&state, &user, &name, action, input).await {
        Ok(Outcome::Redirect { url, .. }) => Ok(see_other(&url)),
        Ok(outcome) => {
            state
                .sessions
                .set_flash(&user.session_id, Flash::success(outcome.message(action)));
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
                .set_flash(&user.session_id, Flash::error(e.to_string()));
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

pub(crate) async fn store_client_secret(
    state: &AppState,
    user: &SessionUser,
    name: String,
    secret: String,
) -> Result<(), WebError> {
    user.require_admin("Setting a client secret")?;
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(WebError::BadRequest(
            "the client secret is empty: paste the secret from the provider's portal".to_owned(),
        ));
    }
    let secret = Secret::new(secret);
    let state2 = state.clone();
    let actor = user.id;
    state
        .with_conn(move |conn| {
            let record = records::get(conn, &name)?;
            records::set_client_secret(conn, state2.ring(), record.id, Some(&secret))?;
            emsg_store::audit::record(
                conn,
                &emsg_store::audit::NewAuditEntry {
                    actor: emsg_store::audit::Actor::User { id: actor },
                    action: "set-client-secret",
                    web_application_id: Some(record.id),
                    connection_id: None,
                    outcome: "ok",
                    error_code: None,
                    detail: "client secret set on the Web applications page",
                },
            )?;
            Ok(())
        })
        .await
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
    store_client_secret(&state, &user, name.clone(), form.client_secret).await?;
    state.sessions.set_flash(
        &user.session_id,
        Flash::success("The client secret was set."),
    );
    Ok(see_other(&href(&name)))
}
