//! Import of a web-apps YAML file: parse it, check it whole against the database, then write it
//! all or nothing (or only report, for a dry run). The same use case for the Import page and
//! `emsg import`; they differ in who imports and which environment variables `{env: …}` may read.

use emsg_store::audit::Actor as AuditActor;
use emsg_store::import::{ImportContext, ImportReport};
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
                    AuditActor::User { id: actor.id.get() },
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
