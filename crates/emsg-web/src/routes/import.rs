//! `/import` (administrators): upload a web-apps YAML file → a dry run of what would be added,
//! changed (which fields), left unchanged and not in the file, with warnings → Confirm → the
//! result. Errors are listed with line and column and nothing is written. The uploaded text
//! waits in the database (sealed, `emsg_use_cases::import::keep_pending`) for 10 minutes under a random
//! key bound to the session, so Confirm may reach another `serve` node; it is never sent back in
//! the page.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use emsg_use_cases::import::{
    ImportFile, ImportReport, Importer, RecordChange, RecordOutcome, import, keep_pending,
    take_pending,
};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::PageUser;
use crate::error::{PageError, WebError};
use crate::pages::render;
use crate::respond::html;
use crate::session::{SessionUser, random_token};
use crate::state::AppState;

/// The largest file accepted.
pub const MAX_UPLOAD: usize = 1024 * 1024;

/// Keeps a checked file for the session (replacing its earlier one); returns the key for Confirm.
async fn keep(
    state: &AppState,
    user: &SessionUser,
    file: String,
    bytes: Vec<u8>,
) -> Result<String, WebError> {
    let key = random_token()?;
    let session_id = user.session_id.clone();
    keep_pending(
        &state.ctx,
        &user.actor(),
        session_id,
        key.clone(),
        file,
        bytes,
    )
    .await?;
    Ok(key)
}

/// The file kept under `key` for this session, taken (single use).
async fn take(
    state: &AppState,
    user: &SessionUser,
    key: String,
) -> Result<Option<(String, Vec<u8>)>, WebError> {
    let session_id = user.session_id.clone();
    Ok(take_pending(&state.ctx, &user.actor(), session_id, key).await?)
}

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/import", web::get().to(form_page))
        .route("/import", web::post().to(check))
        .route("/import/confirm", web::post().to(confirm));
}

fn page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    data: Value,
) -> Result<HttpResponse, PageError> {
    let body = render(state, "import", "Import web applications", Some(user), data)?;
    Ok(html(status, body))
}

async fn form_page(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    user.require_admin("Importing web applications")?;
    page(&state, &user, StatusCode::OK, json!({ "stage": "form" }))
}

/// The fields of the upload form.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    file_name: Option<String>,
    file: Vec<u8>,
    text: String,
}

async fn read_upload(mut payload: Multipart) -> Result<Upload, WebError> {
    let mut upload = Upload::default();
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field
            .map_err(|e| WebError::BadRequest(format!("the upload could not be read: {e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| WebError::BadRequest(format!("the upload could not be read: {e}")))?;
            total += chunk.len();
            if total > MAX_UPLOAD {
                return Err(WebError::BadRequest(format!(
                    "the upload is larger than {} KiB: split the file",
                    MAX_UPLOAD / 1024
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => upload.csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => {
                upload.file_name = file_name.filter(|n| !n.is_empty());
                upload.file = bytes;
            }
            "text" => upload.text = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    Ok(upload)
}

fn row(outcome: &RecordOutcome) -> Value {
    match &outcome.change {
        RecordChange::Added => json!({ "name": outcome.name, "change": "added", "fields": "" }),
        RecordChange::Changed(fields) => {
            json!({ "name": outcome.name, "change": "changed", "fields": fields.join(", ") })
        }
        RecordChange::Unchanged => {
            json!({ "name": outcome.name, "change": "unchanged", "fields": "" })
        }
    }
}

fn report_json(report: &ImportReport) -> Value {
    let rows: Vec<Value> = report
        .records
        .iter()
        .map(row)
        .chain(report.untouched.iter().map(
            |name| json!({ "name": name, "change": "not in file", "fields": "left as it is" }),
        ))
        .collect();
    let service_rows: Vec<Value> = report.services.iter().map(row).collect();
    json!({
        "rows": rows,
        "service_rows": service_rows,
        "warnings": report.warnings,
        "added": report.count(|c| *c == RecordChange::Added),
        "changed": report.count(|c| matches!(c, RecordChange::Changed(_))),
        "unchanged": report.count(|c| *c == RecordChange::Unchanged),
        "untouched": report.untouched.len(),
        "moved": report.moved.iter().map(|m| m.explain()).collect::<Vec<_>>(),
        "changes_anything": report.changes_anything(),
    })
}

/// Parses and imports (or dry-runs) `bytes`; errors come back as the page's error list.
async fn run(
    state: &AppState,
    user: &SessionUser,
    file: String,
    bytes: Vec<u8>,
    dry_run: bool,
) -> Result<Result<ImportReport, Vec<Value>>, WebError> {
    let importer = Importer::Administrator {
        actor: user.actor(),
        env_vars: state.page_env_vars(),
    };
    let file = ImportFile {
        name: file,
        bytes,
        templates: emsg_webapps::MessageTemplates::default_folder(),
    };
    Ok(import(&state.ctx, importer, file, dry_run)
        .await?
        .map_err(|errors| {
            errors
                .iter()
                .map(|e| {
                    json!({ "line": e.line, "column": e.column, "path": e.path, "message": e.message })
                })
                .collect()
        }))
}

async fn check(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    payload: Multipart,
) -> Result<HttpResponse, PageError> {
    user.require_admin("Importing web applications")?;
    let upload = read_upload(payload).await?;
    user.check_csrf(upload.csrf.as_deref())?;
    let (file, bytes) = if !upload.file.is_empty() {
        (
            upload
                .file_name
                .unwrap_or_else(|| "uploaded file".to_owned()),
            upload.file,
        )
    } else if !upload.text.trim().is_empty() {
        ("pasted text".to_owned(), upload.text.into_bytes())
    } else {
        return page(
            &state,
            &user,
            StatusCode::BAD_REQUEST,
            json!({ "stage": "form", "problem": "Choose a YAML file, or paste its text, then select Check file." }),
        );
    };
    match run(&state, &user, file.clone(), bytes.clone(), true).await? {
        Err(errors) => page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "stage": "form", "file": file, "errors": errors }),
        ),
        Ok(report) => {
            let changes = report.changes_anything();
            let key = if changes {
                Some(keep(&state, &user, file.clone(), bytes).await?)
            } else {
                None
            };
            page(
                &state,
                &user,
                StatusCode::OK,
                json!({ "stage": "dry_run", "file": file, "report": report_json(&report), "key": key }),
            )
        }
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    key: String,
}

async fn confirm(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    user.require_admin("Importing web applications")?;
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    let Some((file, bytes)) = take(&state, &user, form.key).await? else {
        return page(
            &state,
            &user,
            StatusCode::CONFLICT,
            json!({ "stage": "form", "problem": "The checked file is no longer waiting (it is kept for 10 minutes, once): upload it again." }),
        );
    };
    match run(&state, &user, file.clone(), bytes, false).await? {
        Err(errors) => page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "stage": "form", "file": file, "errors": errors }),
        ),
        Ok(report) => {
            tracing::info!(
                file = %file,
                records = report.records.len(),
                user = %user.name,
                "imported web applications from the Import page"
            );
            page(
                &state,
                &user,
                StatusCode::OK,
                json!({ "stage": "done", "file": file, "report": report_json(&report) }),
            )
        }
    }
}
