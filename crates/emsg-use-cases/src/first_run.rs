//! What the server does when it starts on a new database: import web-apps.yaml into it and make
//! the first administrator, as the system. Nodes starting together on one empty database: one
//! does each, the others find it done.

use std::time::Duration;

use emsg_seal::Secret;
use emsg_store::audit::Actor as AuditActor;
use emsg_store::import::{ImportContext, ImportReport};
use emsg_store::users::{self, Role, User};
use emsg_store::web_applications as records;
use emsg_webapps::{ImportErrors, TemplateSource};

use crate::import::ImportFile;
use crate::{Context, UseCaseError};

/// Tries of a write another node (or SQLite's one writer) may be holding up, 100 ms apart.
const ATTEMPTS: usize = 50;
const PAUSE: Duration = Duration::from_millis(100);

/// Whether the database holds any web application yet.
pub async fn has_web_applications(ctx: &Context) -> Result<bool, UseCaseError> {
    ctx.run(|conn| Ok(!records::list(conn)?.is_empty())).await
}

/// How the web applications came into the empty database.
pub enum FirstImport {
    Imported(ImportReport),
    /// Another node starting at the same time imported them first.
    ByAnotherNode,
}

/// Imports `file` (the operator's: its `{env: …}` references may read any variable) into the
/// empty database. A file with errors comes back as its located errors.
pub async fn import_into_empty<T: TemplateSource + Send + 'static>(
    ctx: &Context,
    file: ImportFile<T>,
) -> Result<Result<FirstImport, ImportErrors>, UseCaseError> {
    let parsed = match emsg_webapps::parse_bytes_with(&file.name, &file.bytes, &file.templates) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Err(errors)),
    };
    let ring = ctx.ring();
    let urls = ctx.engine().config().urls;
    let shown = file.name;
    ctx.run(move |conn| {
        let env = |var: &str| std::env::var(var).ok();
        let import_ctx = ImportContext::command_line(&env, urls);
        let mut attempt = 0;
        loop {
            let imported = emsg_store::import::import(
                conn,
                &ring,
                &parsed,
                &import_ctx,
                &AuditActor::System,
                false,
            );
            match imported {
                Ok(report) => return Ok(Ok(FirstImport::Imported(report))),
                Err(_) if !records::list(conn)?.is_empty() => {
                    return Ok(Ok(FirstImport::ByAnotherNode));
                }
                Err(e) if attempt >= ATTEMPTS => {
                    return Err(UseCaseError::Internal(format!("importing {shown}: {e}")));
                }
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(PAUSE);
                }
            }
        }
    })
    .await
}

/// Makes the first administrator, `admin`, with a one-time password (to be shown once), when
/// there is no user at all; none when there are users (another node may have made them).
pub async fn first_administrator(ctx: &Context) -> Result<Option<(User, Secret)>, UseCaseError> {
    ctx.run(|conn| {
        let mut attempt = 0;
        while users::count(conn)? == 0 {
            match users::add_with_one_time_password(
                conn,
                "admin",
                Role::Administrator,
                &AuditActor::System,
            ) {
                Ok(added) => return Ok(Some(added)),
                // Another node starting at the same moment made the first administrator (and
                // printed its password on its own terminal), or holds SQLite's write lock now.
                Err(e) if attempt >= ATTEMPTS => return Err(e.into()),
                Err(_) => {
                    attempt += 1;
                    std::thread::sleep(PAUSE);
                }
            }
        }
        Ok(None)
    })
    .await
}
