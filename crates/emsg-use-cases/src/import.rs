//! Import of a web-apps YAML file: parse it, check it whole against the database, then write it
//! all or nothing (or only report, for a dry run). The same use case for the Import page and
//! `emsg import`; they differ in who imports and which environment variables `{env: …}` may read.

use emsg_store::audit::Actor as AuditActor;
use emsg_store::import::ImportContext;
/// What an import did or would do, record by record.
pub use emsg_store::import::{ImportReport, RecordChange, RecordOutcome};
use emsg_webapps::{ImportErrors, PageEnvVars, TemplateSource};

use crate::{Actor, Context, UseCaseError};

/// Who imports, and so which variables the file's `{env: …}` references may read.
pub enum Importer {
    /// An administrator on the Import page or the API: only the variables the operator allowed
    /// (`EMSG_PAGE_ENV_VARS`).
    Administrator { actor: Actor, env_vars: PageEnvVars },
    /// The operator at the command line: every variable of the process.
    Operator,
}

/// A file to import: its name for the error messages, its bytes and where its body templates
/// are found.
pub struct ImportFile<T: TemplateSource + Send + 'static> {
    pub name: String,
    pub bytes: Vec<u8>,
    pub templates: T,
}

/// Imports `file` (or, with `dry_run`, reports what it would change). A file with errors comes
/// back as its located errors and changes nothing.
pub async fn import<T: TemplateSource + Send + 'static>(
    ctx: &Context,
    importer: Importer,
    file: ImportFile<T>,
    dry_run: bool,
) -> Result<Result<ImportReport, ImportErrors>, UseCaseError> {
    if let Importer::Administrator { actor, .. } = &importer {
        actor.require_admin("Importing web applications")?;
    }
    let parsed = match emsg_webapps::parse_bytes_with(&file.name, &file.bytes, &file.templates) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Err(errors)),
    };
    let ring = ctx.ring();
    let urls = ctx.engine().config().urls;
    let report = ctx
        .run(move |conn| {
            let env = |var: &str| std::env::var(var).ok();
            let (import_ctx, audit_actor) = match importer {
                Importer::Administrator { actor, env_vars } => (
                    ImportContext::page(env_vars, &env, urls),
                    actor.audit_actor(),
                ),
                Importer::Operator => (
                    ImportContext::command_line(&env, urls),
                    AuditActor::Operator,
                ),
            };
            Ok::<_, UseCaseError>(emsg_store::import::import(
                conn,
                &ring,
                &parsed,
                &import_ctx,
                &audit_actor,
                dry_run,
            ))
        })
        .await?;
    match report {
        Ok(report) => Ok(Ok(report)),
        Err(emsg_store::StoreError::Refused(errors)) => Ok(Err(errors)),
        Err(e) => Err(e.into()),
    }
}

/// How long a checked file waits for the administrator's Confirm.
pub const PENDING_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// A checked file kept, sealed, for the session `session_id` under the random `key` (replacing
/// the session's earlier one) until Confirm or [`PENDING_FOR`]: in the database, so Confirm may
/// reach another server node, and never sent back in the page.
pub async fn keep_pending(
    ctx: &Context,
    actor: &Actor,
    session_id: String,
    key: String,
    file_name: String,
    content: Vec<u8>,
) -> Result<(), UseCaseError> {
    actor.require_admin("Importing web applications")?;
    let ring = ctx.ring();
    ctx.run(move |conn| {
        let now = emsg_store::now();
        let keep_for = i64::try_from(PENDING_FOR.as_secs()).unwrap_or(600);
        emsg_store::pending_imports::keep(
            conn,
            &ring,
            &emsg_store::pending_imports::NewImport {
                key: &key,
                session_id: &session_id,
                file_name: &file_name,
                content: &content,
                created_at: now,
                expires_at: now + keep_for,
            },
        )?;
        Ok(())
    })
    .await
}

/// The file kept under `key` for the session `session_id`, taken (once): its name and bytes,
/// or `None` when it expired, was taken, or is another session's.
pub async fn take_pending(
    ctx: &Context,
    actor: &Actor,
    session_id: String,
    key: String,
) -> Result<Option<(String, Vec<u8>)>, UseCaseError> {
    actor.require_admin("Importing web applications")?;
    let ring = ctx.ring();
    ctx.run(move |conn| {
        Ok(emsg_store::pending_imports::take(
            conn,
            &ring,
            &key,
            &session_id,
            emsg_store::now(),
        )?)
    })
    .await
}
