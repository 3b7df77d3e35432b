//! Editing one web application on the page (administrators): every key of the `web-apps.yaml`
//! format as a form field (see [`crate::record_form`]). The form becomes a one-record YAML
//! document checked by `emsg_webapps::parse`, so the page and an import follow the same rules;
//! errors name the field and what to do, and nothing is written until everything is right. The
//! client secret is write-only: a typed one replaces the stored one, a blank field keeps it.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_seal::Secret;
use emsg_store::web_applications::{self as records, WebApplication};
use serde_json::json;
use serde_yaml::{Mapping, Value};

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::record_form::{self, FieldError, Inputs, Typed};
use crate::respond::{encode_segment, html, see_other};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/web-applications/{name}/edit", web::get().to(form))
        .route("/web-applications/{name}/edit", web::post().to(submit));
}

fn edit_href(name: &str) -> String {
    format!("/web-applications/{}/edit", encode_segment(name))
}

/// What the page shows: the record's current name, and the form as typed (or as stored).
struct Shown<'a> {
    current_name: &'a str,
    inputs: Inputs<'a>,
    secret_set: bool,
}

fn page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    shown: &Shown<'_>,
    errors: &[FieldError],
    moved: Option<&str>,
) -> Result<HttpResponse, WebError> {
    let current_name = shown.current_name;
    let record_error = errors
        .iter()
        .find(|e| e.field == "record")
        .map(|e| e.message.clone());
    let body = render(
        state,
        "edit_record",
        &format!("Edit {current_name} · Web applications"),
        Some(user),
        json!({
            "current_name": current_name,
            "action": edit_href(current_name),
            "back": format!("/web-applications/{}", encode_segment(current_name)),
            "fields": record_form::fields(&shown.inputs, errors, shown.secret_set),
            "errors": errors,
            "record_error": record_error,
            "moved": moved,
        }),
    )?;
    Ok(html(status, body))
}

/// The record and its form as stored.
async fn load(state: &AppState, name: String) -> Result<(WebApplication, Typed), WebError> {
    state
        .with_conn(move |conn| {
            let record = records::get(conn, &name)?;
            let mut names = HashMap::new();
            if let Some(id) = record.exchange_source_id()
                && let Some(source) = records::name_of(conn, id)?
            {
                names.insert(id, source);
            }
            let stored = record_form::from_record(&record, &record.to_spec(&names));
            Ok((record, stored))
        })
        .await
}

async fn form(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    user.require_admin("Editing a web application")?;
    let (record, stored) = load(&state, name.into_inner()).await?;
    let shown = Shown {
        current_name: &record.name,
        inputs: Inputs {
            typed: &stored,
            stored: None,
        },
        secret_set: record.client_secret_is_set(),
    };
    Ok(page(&state, &user, StatusCode::OK, &shown, &[], None)?)
}

/// The document the import rules check: the edited record, and for an exchange record its
/// source as stored (the rules want the source in the same file).
async fn document(
    state: &AppState,
    record: Mapping,
    source: Option<String>,
) -> Result<String, WebError> {
    let source_yaml = match source {
        Some(source) => {
            state
                .with_conn(move |conn| {
                    let Some(found) = records::find(conn, &source)? else {
                        return Ok(None);
                    };
                    let names = match found.exchange_source_id() {
                        Some(id) => records::name_of(conn, id)?
                            .map(|n| HashMap::from([(id, n)]))
                            .unwrap_or_default(),
                        None => HashMap::new(),
                    };
                    Ok(Some(emsg_webapps::export(&[found.to_spec(&names)])))
                })
                .await?
        }
        None => None,
    };
    let mut list = vec![Value::Mapping(record)];
    if let Some(text) = source_yaml {
        let parsed: Value = serde_yaml::from_str(&text).map_err(|e| {
            WebError::Internal(format!("the stored source record did not export: {e}"))
        })?;
        if let Some(first) = parsed
            .get("web_applications")
            .and_then(Value::as_sequence)
            .and_then(|s| s.first())
        {
            list.push(first.clone());
        }
    }
    let mut root = Mapping::new();
    root.insert("web_applications".into(), Value::Sequence(list));
    serde_yaml::to_string(&Value::Mapping(root))
        .map_err(|e| WebError::Internal(format!("the form could not be written as YAML: {e}")))
}

async fn submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
    form: web::Form<Typed>,
) -> Result<HttpResponse, PageError> {
    let typed = form.into_inner();
    user.check_csrf(typed.get("csrf").map(String::as_str))?;
    user.require_admin("Editing a web application")?;
    let (record, stored) = load(&state, name.into_inner()).await?;
    let shown = Shown {
        current_name: &record.name,
        inputs: Inputs {
            typed: &typed,
            stored: Some(&stored),
        },
        secret_set: record.client_secret_is_set(),
    };
    let refuse = |errors: Vec<FieldError>| {
        page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            &shown,
            &errors,
            None,
        )
    };
    let new_secret = record_form::new_secret_input()
        .and_then(|input| typed.get(&input))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    if new_secret.chars().any(char::is_control) {
        return Ok(refuse(vec![FieldError::new(
            "client_secret",
            "the new client secret has a control character (a line break or tab): paste only the secret",
        )])?);
    }
    let mapping = match record_form::to_yaml(&shown.inputs) {
        Ok(m) => m,
        Err(e) => return Ok(refuse(vec![e])?),
    };
    let source = mapping
        .get(emsg_webapps::EXCHANGE)
        .and_then(|exchange| exchange.get("source"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let text = document(&state, mapping, source).await?;
    let spec = match emsg_webapps::parse("the edit form", &text) {
        Ok(mut parsed) if !parsed.applications.is_empty() => parsed.applications.swap_remove(0),
        Ok(_) => return Err(WebError::Internal("the form held no record".to_owned()).into()),
        Err(errors) => {
            return Ok(refuse(
                errors.iter().map(record_form::field_error).collect(),
            )?);
        }
    };
    let secret = (!new_secret.is_empty()).then(|| Secret::new(new_secret));
    let (id, actor) = (record.id, user.id);
    let ring_state = state.clone();
    let new_name = spec.name.clone();
    // Ticked after the page said what moving the endpoints to another host drops.
    let move_confirmed = typed.contains_key("confirm_move");
    let result = state
        .with_conn(move |conn| {
            let env = |var: &str| std::env::var(var).ok();
            let ctx = ring_state.page_import_context(&env);
            Ok(emsg_store::import::edit(
                conn,
                &ring_state.ring(),
                id,
                &spec,
                secret.as_ref(),
                &ctx,
                &emsg_store::audit::Actor::User { id: actor.get() },
                move_confirmed,
            ))
        })
        .await?;
    let report = match result {
        Ok(report) if report.needs_confirmation => {
            let explained = report
                .moved
                .as_ref()
                .map(emsg_store::moved::MovedEndpoints::explain)
                .unwrap_or_default();
            return Ok(page(
                &state,
                &user,
                StatusCode::CONFLICT,
                &shown,
                &[],
                Some(&explained),
            )?);
        }
        Ok(report) => report,
        Err(emsg_store::StoreError::Refused(errors)) => {
            return Ok(refuse(
                errors.iter().map(record_form::field_error).collect(),
            )?);
        }
        Err(emsg_store::StoreError::Invalid(message)) => {
            let (field, message) = match message.split_once(": ") {
                Some(("name", rest)) => ("name", rest.to_owned()),
                Some(("exchange source", rest)) => ("exchange.source", rest.to_owned()),
                Some(("exchange", rest)) => ("exchange", rest.to_owned()),
                _ => ("record", message.clone()),
            };
            return Ok(refuse(vec![FieldError::new(field, message)])?);
        }
        Err(e) => return Err(WebError::from(e).into()),
    };
    tracing::info!(app = %new_name, user = %user.name, changed = ?report.changed, "web application edited");
    let mut text = if report.changed.is_empty() {
        "Nothing changed: the record already says that.".to_owned()
    } else {
        format!("Saved. Changed: {}.", report.changed.join(", "))
    };
    if let Some(moved) = &report.moved {
        text.push(' ');
        text.push_str(&moved.explain());
        text.push('.');
    }
    for warning in &report.warnings {
        text.push(' ');
        text.push_str(warning);
    }
    state
        .sessions
        .set_flash(&user.session_id, Flash::success(text))
        .await;
    Ok(see_other(&format!(
        "/web-applications/{}",
        encode_segment(&new_name)
    )))
}
