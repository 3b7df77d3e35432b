//! The records as YAML in the web-apps.yaml format (secrets only as their environment
//! reference), and one line of each for a list.

use emsg_store::web_applications as records;

use crate::{Actor, Context, UseCaseError};

/// Every record and web service as a web-apps.yaml file.
pub async fn export(ctx: &Context, admin: &Actor) -> Result<String, UseCaseError> {
    admin.require_admin("Exporting web applications")?;
    ctx.run(|conn| Ok(emsg_store::import::export(conn)?)).await
}

/// One record as web-apps.yaml, with what the YAML leaves out of its client secret.
pub struct ExportedRecord {
    pub yaml: String,
    pub client_secret_set: bool,
    /// The environment variable the client secret comes from, when it does.
    pub client_secret_env: Option<String>,
}

/// The record named `name` (case does not matter).
pub async fn export_one(
    ctx: &Context,
    actor: &Actor,
    name: String,
) -> Result<ExportedRecord, UseCaseError> {
    actor.require_actions()?;
    ctx.run(move |conn| {
        let all = records::list(conn)?;
        let names = records::names_by_id(&all);
        let record = records::get(conn, &name)?;
        let spec = record.to_spec(&names);
        Ok(ExportedRecord {
            yaml: emsg_webapps::export(std::slice::from_ref(&spec)),
            client_secret_set: record.client_secret_is_set(),
            client_secret_env: record.client_secret_env.clone(),
        })
    })
    .await
}

/// A record in a list: its name, scope and client secret's state.
pub struct Summary {
    pub name: String,
    pub scope: String,
    /// Takes its token from another record's (NO Altinn): no client secret of its own.
    pub exchange: bool,
    pub client_secret_set: bool,
}

/// Every record, in the store's order.
pub async fn summaries(ctx: &Context, actor: &Actor) -> Result<Vec<Summary>, UseCaseError> {
    actor.require_actions()?;
    ctx.run(|conn| {
        Ok(records::list(conn)?
            .iter()
            .map(|record| Summary {
                name: record.name.clone(),
                scope: record.scope.clone(),
                exchange: record.is_exchange(),
                client_secret_set: record.client_secret_is_set(),
            })
            .collect())
    })
    .await
}
