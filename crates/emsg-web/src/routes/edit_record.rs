//! Editing one web application on the page (administrators): every key of the `web-apps.yaml`
//! format as a form field. The form becomes a one-record YAML document checked by
//! `emsg_webapps::parse`, so the page and an import follow the same rules; errors name the
//! field and what to do, and nothing is written until everything is right. The client secret
//! is write-only: a typed one replaces the stored one, a blank field keeps it.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_seal::Secret;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_webapps::ImportError;
use serde::Deserialize;
use serde_json::json;
use serde_yaml::{Mapping, Value};

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::{encode_segment, html, see_other};
use crate::session::{Flash, SessionUser};
use crate::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/web-applications/{name}/edit", web::get().to(form))
        .route("/web-applications/{name}/edit", web::post().to(submit));
}

/// The form's fields, as typed. Check boxes are absent when not ticked.
#[derive(Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
struct EditForm {
    #[serde(skip_serializing)]
    csrf: Option<String>,
    name: String,
    description: String,
    base_url: String,
    authorization_url: String,
    token_url: String,
    revocation_url: String,
    redirect_url: String,
    client_id: String,
    client_id_env: String,
    client_secret_env: String,
    /// Write-only: never put back into the page.
    #[serde(skip_serializing)]
    new_client_secret: String,
    scope: String,
    authorization_params: String,
    client_auth: String,
    pkce: Option<String>,
    accept: String,
    content_type: String,
    code_lifetime: String,
    authorization_lifetime: String,
    user_specific: Option<String>,
    obtain_token_on_callback: Option<String>,
    issuer: String,
    exchange_source: String,
    exchange_url: String,
    /// Ticked after the page said what moving the endpoints to another host drops.
    #[serde(skip_serializing)]
    confirm_move: Option<String>,
}

impl EditForm {
    fn from_record(record: &WebApplication, source: Option<String>) -> Self {
        let params = record
            .authorization_params()
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let tick = |b: bool| b.then(|| "on".to_owned());
        Self {
            csrf: None,
            name: record.name.clone(),
            description: record.description.clone(),
            base_url: record.base_url.clone(),
            authorization_url: text(&record.authorization_url),
            token_url: text(&record.token_url),
            revocation_url: text(&record.revocation_url),
            redirect_url: text(&record.redirect_url),
            client_id: text(&record.client_id),
            client_id_env: text(&record.client_id_env),
            client_secret_env: text(&record.client_secret_env),
            new_client_secret: String::new(),
            scope: record.scope.clone(),
            authorization_params: params,
            client_auth: record.client_auth().as_str().to_owned(),
            pkce: tick(record.pkce),
            accept: text(&record.accept),
            content_type: text(&record.content_type),
            code_lifetime: if record.is_exchange() {
                String::new()
            } else {
                record.code_lifetime().to_string()
            },
            authorization_lifetime: record
                .authorization_lifetime()
                .map(|l| l.to_string())
                .unwrap_or_default(),
            user_specific: tick(record.user_specific),
            obtain_token_on_callback: tick(record.obtain_token_on_callback),
            issuer: text(&record.issuer),
            exchange_source: source.unwrap_or_default(),
            exchange_url: text(&record.exchange_url),
            confirm_move: None,
        }
    }

    fn is_exchange(&self) -> bool {
        !self.exchange_source.trim().is_empty() || !self.exchange_url.trim().is_empty()
    }

    /// The record as a `web-apps.yaml` mapping: blank optional fields are left out (their
    /// defaults apply), as a hand-written file would do. `Err` names a field the YAML rules
    /// cannot see (the parameter lines).
    fn to_yaml(&self) -> Result<Mapping, FieldError> {
        let mut m = Mapping::new();
        let text = |v: &str| Value::String(v.trim().to_owned());
        let put = |m: &mut Mapping, key: &str, v: &str| {
            if !v.trim().is_empty() {
                m.insert(key.into(), text(v));
            }
        };
        m.insert("name".into(), text(&self.name));
        m.insert("description".into(), text(&self.description));
        put(&mut m, "base_url", &self.base_url);
        put(&mut m, "accept", &self.accept);
        put(&mut m, "content_type", &self.content_type);
        put(
            &mut m,
            "authorization_lifetime",
            &self.authorization_lifetime,
        );
        put(&mut m, "issuer", &self.issuer);
        put(&mut m, "scope", &self.scope);
        m.insert("user_specific".into(), self.user_specific.is_some().into());
        let pkce = self.pkce.is_some();
        let on_callback = self.obtain_token_on_callback.is_some();
        let client_auth = self.client_auth.trim();
        if self.is_exchange() {
            let mut exchange = Mapping::new();
            put(&mut exchange, "source", &self.exchange_source);
            put(&mut exchange, "url", &self.exchange_url);
            m.insert("exchange".into(), Value::Mapping(exchange));
            // OAuth keys are refused on exchange records by the import rules: only send those
            // the administrator actually set, so that the rule can say so.
            for (key, value) in [
                ("authorization_url", &self.authorization_url),
                ("token_url", &self.token_url),
                ("revocation_url", &self.revocation_url),
                ("redirect_url", &self.redirect_url),
                ("client_id", &self.client_id),
                ("code_lifetime", &self.code_lifetime),
            ] {
                put(&mut m, key, value);
            }
            if !self.client_secret_env.trim().is_empty() || !self.client_id_env.trim().is_empty() {
                m.insert("client_secret".into(), Value::Null);
            }
            if !pkce {
                m.insert("pkce".into(), false.into());
            }
            if on_callback {
                m.insert("obtain_token_on_callback".into(), true.into());
            }
            if !client_auth.is_empty() && client_auth != "client_secret_post" {
                m.insert("client_auth".into(), text(client_auth));
            }
            if !self.authorization_params.trim().is_empty() {
                m.insert("authorization_params".into(), self.params()?.into());
            }
        } else {
            put(&mut m, "authorization_url", &self.authorization_url);
            put(&mut m, "token_url", &self.token_url);
            put(&mut m, "revocation_url", &self.revocation_url);
            put(&mut m, "redirect_url", &self.redirect_url);
            m.insert(
                "client_id".into(),
                env_or(&self.client_id_env, &self.client_id),
            );
            m.insert("client_secret".into(), env_or(&self.client_secret_env, ""));
            m.insert("authorization_params".into(), self.params()?.into());
            if !client_auth.is_empty() {
                m.insert("client_auth".into(), text(client_auth));
            }
            m.insert("pkce".into(), pkce.into());
            put(&mut m, "code_lifetime", &self.code_lifetime);
            m.insert("obtain_token_on_callback".into(), on_callback.into());
        }
        Ok(m)
    }

    /// `name=value` per line (or `name: value`), blank lines ignored.
    fn params(&self) -> Result<Mapping, FieldError> {
        let mut out = Mapping::new();
        for (n, line) in self.authorization_params.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(':')) else {
                return Err(FieldError {
                    field: "authorization_params",
                    label: label("authorization_params"),
                    message: format!(
                        "line {} `{line}` is not `name=value`: write one parameter per line, e.g. `ui_locales=en`",
                        n + 1
                    ),
                });
            };
            out.insert(text_value(key), text_value(value));
        }
        Ok(out)
    }
}

fn text_value(v: &str) -> Value {
    Value::String(v.trim().to_owned())
}

/// `{env: VAR}` when a variable is named, else the value, else `null`.
fn env_or(var: &str, value: &str) -> Value {
    if !var.trim().is_empty() {
        let mut env = Mapping::new();
        env.insert("env".into(), text_value(var));
        Value::Mapping(env)
    } else if !value.trim().is_empty() {
        text_value(value)
    } else {
        Value::Null
    }
}

/// One problem, on the field the administrator must change.
#[derive(Debug, serde::Serialize)]
struct FieldError {
    field: &'static str,
    label: &'static str,
    message: String,
}

/// The words on the form for each key of the file.
fn label(key: &str) -> &'static str {
    match key {
        "name" => "Name",
        "description" => "Description",
        "base_url" => "Base URL",
        "authorization_url" => "Authorization URL",
        "token_url" => "Token URL",
        "revocation_url" => "Revocation URL",
        "redirect_url" => "Redirect URL",
        "client_id" => "Client ID",
        "client_secret" => "Client secret",
        "scope" => "Scope",
        "authorization_params" => "Authorization parameters",
        "client_auth" => "Client authentication",
        "pkce" => "PKCE",
        "accept" => "Accept",
        "content_type" => "Content type",
        "code_lifetime" => "Code lifetime",
        "authorization_lifetime" => "Authorization lifetime",
        "user_specific" => "User-specific",
        "obtain_token_on_callback" => "Obtain token on callback",
        "issuer" => "Issuer",
        "exchange" | "exchange.source" => "Exchange source",
        "exchange.url" => "Exchange URL",
        _ => "Record",
    }
}

const FIELDS: &[&str] = &[
    "name",
    "description",
    "base_url",
    "authorization_url",
    "token_url",
    "revocation_url",
    "redirect_url",
    "client_id",
    "client_secret",
    "scope",
    "authorization_params",
    "client_auth",
    "pkce",
    "accept",
    "content_type",
    "code_lifetime",
    "authorization_lifetime",
    "user_specific",
    "obtain_token_on_callback",
    "issuer",
    "exchange.source",
    "exchange.url",
    "exchange",
];

/// An import error about the edited record (index 0 of the document) on its form field.
fn field_error(e: &ImportError) -> FieldError {
    let path = e
        .path
        .strip_prefix("web_applications[0]")
        .map(|p| p.trim_start_matches('.'));
    let field = path.and_then(|p| {
        FIELDS
            .iter()
            .find(|f| {
                p == **f || p.starts_with(&format!("{f}.")) || p.starts_with(&format!("{f}["))
            })
            .copied()
    });
    match field {
        Some(field) => FieldError {
            field,
            label: label(field),
            message: e.message.clone(),
        },
        None => FieldError {
            field: "record",
            label: "Record",
            message: e.message.clone(),
        },
    }
}

fn edit_href(name: &str) -> String {
    format!("/web-applications/{}/edit", encode_segment(name))
}

#[allow(clippy::too_many_arguments)]
fn page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    current_name: &str,
    form: &EditForm,
    secret_set: bool,
    errors: &[FieldError],
    moved: Option<&str>,
) -> Result<HttpResponse, WebError> {
    // Every field present (null when fine), so the strict templates can ask for any of them.
    let by_field: serde_json::Map<String, serde_json::Value> = FIELDS
        .iter()
        .chain(&["record"])
        .map(|f| {
            let message = errors
                .iter()
                .find(|e| e.field == *f)
                .map(|e| e.message.clone());
            (f.replace('.', "_"), json!(message))
        })
        .collect();
    let body = render(
        state,
        "edit_record",
        &format!("Edit {current_name} · Web applications"),
        Some(user),
        json!({
            "current_name": current_name,
            "action": edit_href(current_name),
            "back": format!("/web-applications/{}", encode_segment(current_name)),
            "form": form,
            "is_exchange": form.is_exchange(),
            "client_auth_basic": form.client_auth.trim() == "client_secret_basic",
            "secret_set": secret_set,
            "errors": errors,
            "err": by_field,
            "moved": moved,
        }),
    )?;
    Ok(html(status, body))
}

async fn load(
    state: &AppState,
    name: String,
) -> Result<(WebApplication, Option<String>), WebError> {
    state
        .with_conn(move |conn| {
            let record = records::get(conn, &name)?;
            let source = match record.exchange_source_id {
                Some(id) => records::name_of(conn, id)?,
                None => None,
            };
            Ok((record, source))
        })
        .await
}

async fn form(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    name: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    user.require_admin("Editing a web application")?;
    let (record, source) = load(&state, name.into_inner()).await?;
    let form = EditForm::from_record(&record, source);
    Ok(page(
        &state,
        &user,
        StatusCode::OK,
        &record.name,
        &form,
        record.client_secret_is_set(),
        &[],
        None,
    )?)
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
                    let names = match found.exchange_source_id {
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
    form: web::Form<EditForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    user.require_admin("Editing a web application")?;
    let (record, _) = load(&state, name.into_inner()).await?;
    let refuse = |errors: Vec<FieldError>| {
        page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            &record.name,
            &form,
            record.client_secret_is_set(),
            &errors,
            None,
        )
    };
    let new_secret = form.new_client_secret.trim().to_owned();
    if new_secret.chars().any(char::is_control) {
        return Ok(refuse(vec![FieldError {
            field: "client_secret",
            label: label("client_secret"),
            message: "the new client secret has a control character (a line break or tab): paste only the secret".to_owned(),
        }])?);
    }
    let mapping = match form.to_yaml() {
        Ok(m) => m,
        Err(e) => return Ok(refuse(vec![e])?),
    };
    let source = form
        .is_exchange()
        .then(|| form.exchange_source.trim().to_owned())
        .filter(|s| !s.is_empty());
    let text = document(&state, mapping, source).await?;
    let spec = match emsg_webapps::parse("the edit form", &text) {
        Ok(mut parsed) if !parsed.applications.is_empty() => parsed.applications.swap_remove(0),
        Ok(_) => return Err(WebError::Internal("the form held no record".to_owned()).into()),
        Err(errors) => return Ok(refuse(errors.iter().map(field_error).collect())?),
    };
    let secret = (!new_secret.is_empty()).then(|| Secret::new(new_secret));
    let (id, actor) = (record.id, user.id);
    let ring_state = state.clone();
    let new_name = spec.name.clone();
    let move_confirmed = form.confirm_move.is_some();
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
                &emsg_store::audit::Actor::User { id: actor },
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
                &record.name,
                &form,
                record.client_secret_is_set(),
                &[],
                Some(&explained),
            )?);
        }
        Ok(report) => report,
        Err(emsg_store::StoreError::Refused(errors)) => {
            return Ok(refuse(errors.iter().map(field_error).collect())?);
        }
        Err(emsg_store::StoreError::Invalid(message)) => {
            let (field, message) = match message.split_once(": ") {
                Some(("name", rest)) => ("name", rest.to_owned()),
                Some(("exchange source", rest)) => ("exchange.source", rest.to_owned()),
                Some(("exchange", rest)) => ("exchange", rest.to_owned()),
                _ => ("record", message.clone()),
            };
            return Ok(refuse(vec![FieldError {
                field,
                label: label(field),
                message,
            }])?);
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
