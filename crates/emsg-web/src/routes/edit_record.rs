//! Editing one web application on the page (administrators): every key of the `web-apps.yaml`
//! format as a form field (see [`crate::record_form`]). The form becomes a one-record YAML
//! document checked by `emsg_webapps::parse`, so the page and an import follow the same rules;
//! errors name the field and what to do, and nothing is written until everything is right. The
//! client secret is write-only: a typed one replaces the stored one, a blank field keeps it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_seal::Secret;
use emsg_use_cases::web_applications::{self as use_cases, Edit, Edited, Editing};
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
async fn load(
    state: &AppState,
    user: &SessionUser,
    name: String,
) -> Result<(Editing, Typed), WebError> {
    let editing = use_cases::editing(&state.ctx, &user.actor(), name).await?;
    let stored = record_form::from_record(&editing.record, &editing.spec);
    Ok((editing, stored))
}

async fn form(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (Editing { record, .. }, stored) = load(&state, &user, name.into_inner()).await?;
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
    user: &SessionUser,
    record: Mapping,
    source: Option<String>,
) -> Result<String, WebError> {
    let source_yaml = match source {
        Some(source) => use_cases::exported(&state.ctx, &user.actor(), source).await?,
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
    let (Editing { record, .. }, stored) = load(&state, &user, name.into_inner()).await?;
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
    let text = document(&state, &user, mapping, source).await?;
    let spec = match emsg_webapps::parse("the edit form", &text) {
        Ok(mut parsed) if !parsed.applications.is_empty() => parsed.applications.swap_remove(0),
        Ok(_) => return Err(WebError::Internal("the form held no record".to_owned()).into()),
        Err(errors) => {
            return Ok(refuse(
                errors.iter().map(record_form::field_error).collect(),
            )?);
        }
    };
    let new_name = spec.name.clone();
    let edit = Edit {
        id: record.id,
        spec,
        new_secret: (!new_secret.is_empty()).then(|| Secret::new(new_secret)),
        env_vars: state.page_env_vars(),
        // Ticked after the page said what moving the endpoints to another host drops.
        move_confirmed: typed.contains_key("confirm_move"),
    };
    let (changed, text) = match use_cases::edit(&state.ctx, &user.actor(), edit).await? {
        Edited::Saved { changed, message } => (changed, message),
        Edited::NeedsConfirmation { moved } => {
            return Ok(page(
                &state,
                &user,
                StatusCode::CONFLICT,
                &shown,
                &[],
                Some(&moved),
            )?);
        }
        Edited::Refused(errors) => {
            return Ok(refuse(
                errors.iter().map(record_form::field_error).collect(),
            )?);
        }
        Edited::FieldRefused { field, message } => {
            return Ok(refuse(vec![FieldError::new(field, message)])?);
        }
    };
    tracing::info!(app = %new_name, user = %user.name, ?changed, "web application edited");
    state
        .sessions
        .set_flash(&user.session_id, Flash::success(text))
        .await;
    Ok(see_other(&format!(
        "/web-applications/{}",
        encode_segment(&new_name)
    )))
}
