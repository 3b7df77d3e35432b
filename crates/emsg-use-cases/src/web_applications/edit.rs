//! Edit a record (administrators): the record as its form shows it, and the edited record
//! written over it by the same rules as an import, with what changed in words. Moving the
//! endpoints to another host is written only once the administrator confirmed what it drops.

use std::collections::HashMap;

use emsg_seal::Secret;
use emsg_store::StoreError;
use emsg_store::WebApplicationId;
use emsg_store::import::ImportContext;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_webapps::{ImportErrors, PageEnvVars, WebApplicationSpec};

use crate::{Actor, Context, UseCaseError};

/// A record as its edit form starts: the stored row and its `web-apps.yaml` form.
pub struct Editing {
    pub record: WebApplication,
    pub spec: WebApplicationSpec,
}

/// The record `name` with its specification as stored (its exchange source by name).
pub async fn editing(ctx: &Context, actor: &Actor, name: String) -> Result<Editing, UseCaseError> {
    actor.require_admin("Editing a web application")?;
    ctx.run(move |conn| {
        let record = records::get(conn, &name)?;
        let mut names = HashMap::new();
        if let Some(id) = record.exchange_source_id()
            && let Some(source) = records::name_of(conn, id)?
        {
            names.insert(id, source);
        }
        let spec = record.to_spec(&names);
        Ok(Editing { record, spec })
    })
    .await
}

/// The stored record `name` as a `web-apps.yaml` document, if there is one: an edited exchange
/// record is checked with its source beside it, as an import file would hold them.
pub async fn exported(
    ctx: &Context,
    actor: &Actor,
    name: String,
) -> Result<Option<String>, UseCaseError> {
    actor.require_admin("Editing a web application")?;
    ctx.run(move |conn| {
        let Some(found) = records::find(conn, &name)? else {
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
    .await
}

/// An edit of record `id`: the record as checked by `emsg_webapps::parse`, a new client secret
/// when one was typed (none keeps the stored one), the variables `{env: …}` may read, and
/// whether the administrator confirmed moving the endpoints.
pub struct Edit {
    pub id: WebApplicationId,
    pub spec: WebApplicationSpec,
    pub new_secret: Option<Secret>,
    pub env_vars: PageEnvVars,
    pub move_confirmed: bool,
}

/// What an edit did, or why it wrote nothing.
pub enum Edited {
    /// Written: the keys that changed, and the sentence for the page.
    Saved {
        changed: Vec<String>,
        message: String,
    },
    /// Nothing was written: the endpoints move to another host, which drops what this says.
    NeedsConfirmation { moved: String },
    /// Nothing was written: the record's errors, located as an import's are.
    Refused(ImportErrors),
    /// Nothing was written: the store refused a value of `field` (`name`, `exchange.source`,
    /// `exchange`, or `record` for the record as a whole).
    FieldRefused {
        field: &'static str,
        message: String,
    },
}

/// Writes `edit` over its record as `actor`, audited as theirs.
pub async fn edit(ctx: &Context, actor: &Actor, edit: Edit) -> Result<Edited, UseCaseError> {
    actor.require_admin("Editing a web application")?;
    let ring = ctx.ring();
    let urls = ctx.engine().config().urls;
    let audit_actor = actor.audit_actor();
    let result = ctx
        .run(move |conn| {
            let env = |var: &str| std::env::var(var).ok();
            let import_ctx = ImportContext::page(edit.env_vars, &env, urls);
            Ok::<_, UseCaseError>(emsg_store::import::edit(
                conn,
                &ring,
                edit.id,
                &edit.spec,
                edit.new_secret.as_ref(),
                &import_ctx,
                &audit_actor,
                edit.move_confirmed,
            ))
        })
        .await?;
    let report = match result {
        Ok(report) if report.needs_confirmation => {
            return Ok(Edited::NeedsConfirmation {
                moved: report
                    .moved
                    .as_ref()
                    .map(emsg_store::moved::MovedEndpoints::explain)
                    .unwrap_or_default(),
            });
        }
        Ok(report) => report,
        Err(StoreError::Refused(errors)) => return Ok(Edited::Refused(errors)),
        Err(StoreError::Invalid(message)) => {
            let (field, message) = match message.split_once(": ") {
                Some(("name", rest)) => ("name", rest.to_owned()),
                Some(("exchange source", rest)) => ("exchange.source", rest.to_owned()),
                Some(("exchange", rest)) => ("exchange", rest.to_owned()),
                _ => ("record", message.clone()),
            };
            return Ok(Edited::FieldRefused { field, message });
        }
        Err(e) => return Err(e.into()),
    };
    let mut message = if report.changed.is_empty() {
        "Nothing changed: the record already says that.".to_owned()
    } else {
        format!("Saved. Changed: {}.", report.changed.join(", "))
    };
    if let Some(moved) = &report.moved {
        message.push(' ');
        message.push_str(&moved.explain());
        message.push('.');
    }
    for warning in &report.warnings {
        message.push(' ');
        message.push_str(warning);
    }
    Ok(Edited::Saved {
        changed: report.changed,
        message,
    })
}
