//! Importing web-application records: a plan of added / changed / unchanged records, then
//! all of it written in one transaction, or nothing.

use std::collections::HashMap;
use std::fmt;

use emsg_seal::{KeyRing, Secret};
use emsg_webapps::{
    ParsedFile, SecretSource, ValueSource, WebApplicationSpec, WebServiceSpec, changed_fields,
};

use crate::audit::{self, Actor, NewAuditEntry};
use crate::clock::now;
use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::web_applications::{self as records, WebApplication, name_key};
use crate::web_services::{self as services, WebService};
use diesel::Connection;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordChange {
    Added,
    /// The keys of the file whose values differ from the stored record.
    Changed(Vec<String>),
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    pub name: String,
    pub change: RecordChange,
}

/// What an import did, or would do (`dry_run`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub records: Vec<RecordOutcome>,
    /// The web services of the file, in its order.
    pub services: Vec<RecordOutcome>,
    /// Things the administrator should know that did not stop the import (unset variables).
    pub warnings: Vec<String>,
    /// Stored records the file does not mention; they are left as they are.
    pub untouched: Vec<String>,
    pub dry_run: bool,
}

impl ImportReport {
    pub fn count(&self, wanted: fn(&RecordChange) -> bool) -> usize {
        self.records.iter().filter(|r| wanted(&r.change)).count()
    }

    pub fn changes_anything(&self) -> bool {
        self.records
            .iter()
            .chain(&self.services)
            .any(|r| r.change != RecordChange::Unchanged)
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for record in &self.records {
            match &record.change {
                RecordChange::Added => writeln!(f, "  added      {}", record.name)?,
                RecordChange::Changed(fields) => {
                    writeln!(f, "  changed    {} ({})", record.name, fields.join(", "))?
                }
                RecordChange::Unchanged => writeln!(f, "  unchanged  {}", record.name)?,
            }
        }
        for service in &self.services {
            match &service.change {
                RecordChange::Added => writeln!(f, "  added      web service {}", service.name)?,
                RecordChange::Changed(fields) => writeln!(
                    f,
                    "  changed    web service {} ({})",
                    service.name,
                    fields.join(", ")
                )?,
                RecordChange::Unchanged => {
                    writeln!(f, "  unchanged  web service {}", service.name)?
                }
            }
        }
        for name in &self.untouched {
            writeln!(f, "  not in file, left as is  {name}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        let (added, changed, unchanged) = (
            self.count(|c| *c == RecordChange::Added),
            self.count(|c| matches!(c, RecordChange::Changed(_))),
            self.count(|c| *c == RecordChange::Unchanged),
        );
        let verb = if self.dry_run { "would be" } else { "were" };
        if self.changes_anything() {
            write!(
                f,
                "{added} added, {changed} changed, {unchanged} unchanged ({verb} written)"
            )?;
            if self.dry_run {
                write!(f, "; nothing was written (dry run)")?;
            }
            Ok(())
        } else {
            write!(
                f,
                "nothing to change: all {unchanged} records are already as the file says"
            )
        }
    }
}

/// Where a record's client ID and secret values come from on this import.
struct Resolved {
    /// `None`: keep what is stored.
    client_id: Option<String>,
    client_secret: Option<Secret>,
}

struct Planned<'a> {
    spec: &'a WebApplicationSpec,
    existing: Option<&'a WebApplication>,
    resolved: Resolved,
    change: RecordChange,
}

/// Imports `parsed` (already validated): writes every added or changed record in one
/// transaction, or, with `dry_run`, only reports what it would do.
pub fn import(
    conn: &mut DbConnection,
    ring: &KeyRing,
    parsed: &ParsedFile,
    env: &dyn Fn(&str) -> Option<String>,
    actor: &Actor,
    dry_run: bool,
) -> Result<ImportReport> {
    conn.transaction(|conn| {
        let stored = records::list(conn)?;
        let names = records::names_by_id(&stored);
        let by_key: HashMap<String, &WebApplication> =
            stored.iter().map(|r| (r.name_key.clone(), r)).collect();
        let mut report = ImportReport {
            dry_run,
            ..ImportReport::default()
        };
        let mut plan = Vec::with_capacity(parsed.applications.len());
        for spec in &parsed.applications {
            let existing = by_key.get(&name_key(&spec.name)).copied();
            let resolved = resolve(spec, existing, env, &mut report.warnings);
            let change = match existing {
                None => RecordChange::Added,
                Some(row) => compare(row, spec, &resolved, &names, ring)?,
            };
            report.records.push(RecordOutcome {
                name: spec.name.clone(),
                change: change.clone(),
            });
            plan.push(Planned {
                spec,
                existing,
                resolved,
                change,
            });
        }
        let in_file: std::collections::HashSet<String> = parsed
            .applications
            .iter()
            .map(|s| name_key(&s.name))
            .collect();
        report.untouched = stored
            .iter()
            .filter(|r| !in_file.contains(&r.name_key))
            .map(|r| r.name.clone())
            .collect();
        let stored_services = services::list(conn)?;
        let service_plan = plan_services(parsed, &stored_services, &mut report)?;
        if dry_run || !report.changes_anything() {
            return Ok(report);
        }
        let ids = write(conn, ring, &plan, actor)?;
        write_services(conn, &service_plan, &ids, actor)?;
        Ok(report)
    })
}

fn resolve(
    spec: &WebApplicationSpec,
    existing: Option<&WebApplication>,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Resolved {
    let has_stored = |field: &str| match (field, existing) {
        ("client_id", Some(row)) => row.client_id.is_some(),
        (_, Some(row)) => row.client_secret_is_set(),
        (_, None) => false,
    };
    let mut from_env = |field: &str, var: &str| {
        let value = env(var).filter(|v| !v.is_empty());
        if value.is_none() {
            warnings.push(format!(
                "{}: {field}: ${var} is not set, so the {field} stays as it is (now: {}). Set {var} and \
                 import again, or type it on the admin page; actions that need it refuse until then.",
                spec.name,
                if has_stored(field) { "set" } else { "not set" }
            ));
        }
        value
    };
    let client_id = match &spec.client_id {
        ValueSource::Inline(value) if !value.is_empty() => Some(value.clone()),
        ValueSource::Env { var } => from_env("client_id", var),
        _ => None,
    };
    let client_secret = match &spec.client_secret {
        SecretSource::Inline(secret) if !secret.is_empty() => Some(secret.clone()),
        SecretSource::Env { var } => from_env("client_secret", var).map(Secret::new),
        _ => None,
    };
    Resolved {
        client_id,
        client_secret,
    }
}

fn compare(
    row: &WebApplication,
    spec: &WebApplicationSpec,
    resolved: &Resolved,
    names: &HashMap<i64, String>,
    ring: &KeyRing,
) -> Result<RecordChange> {
    let mut fields: Vec<String> = changed_fields(&row.to_spec(names), spec)
        .into_iter()
        .filter(|f| !matches!(*f, "client_id" | "client_secret"))
        .map(str::to_owned)
        .collect();
    let id_env = match &spec.client_id {
        ValueSource::Env { var } => Some(var),
        _ => None,
    };
    let id_value_changes = resolved
        .client_id
        .as_ref()
        .is_some_and(|v| Some(v) != row.client_id.as_ref());
    if id_env != row.client_id_env.as_ref() || id_value_changes {
        fields.push("client_id".to_owned());
    }
    let secret_env = match &spec.client_secret {
        SecretSource::Env { var } => Some(var),
        _ => None,
    };
    let secret_value_changes = match &resolved.client_secret {
        Some(new) => row.client_secret(ring)?.as_ref() != Some(new),
        None => false,
    };
    if secret_env != row.client_secret_env.as_ref() || secret_value_changes {
        fields.push("client_secret".to_owned());
    }
    Ok(if fields.is_empty() {
        RecordChange::Unchanged
    } else {
        RecordChange::Changed(fields)
    })
}

fn write(
    conn: &mut DbConnection,
    ring: &KeyRing,
    plan: &[Planned<'_>],
    actor: &Actor,
) -> Result<HashMap<String, i64>> {
    let now = now();
    let mut ids = HashMap::with_capacity(plan.len());
    for item in plan {
        let id = match (&item.change, item.existing) {
            (RecordChange::Unchanged, Some(row)) => row.id,
            (_, existing) => {
                let client_id = item
                    .resolved
                    .client_id
                    .as_deref()
                    .or(existing.and_then(|r| r.client_id.as_deref()));
                let id =
                    records::write_spec(conn, existing.map(|r| r.id), item.spec, client_id, now)?;
                if let Some(secret) = &item.resolved.client_secret {
                    records::set_client_secret(conn, ring, id, Some(secret))?;
                }
                id
            }
        };
        ids.insert(name_key(&item.spec.name), id);
    }
    if plan.iter().any(|i| i.change != RecordChange::Unchanged) {
        records::names_changed(conn)?;
    }
    let mut entries = Vec::new();
    for item in plan.iter().filter(|i| i.change != RecordChange::Unchanged) {
        let id = ids[&name_key(&item.spec.name)];
        let source = item
            .spec
            .exchange
            .as_ref()
            .and_then(|e| ids.get(&name_key(&e.source)).copied());
        // A new record is inserted without a source: only write one when there is one to write.
        if source.is_some()
            || item
                .existing
                .is_some_and(|r| r.exchange_source_id.is_some())
        {
            records::set_exchange_source(conn, id, source)?;
        }
        let detail = match &item.change {
            RecordChange::Changed(fields) => format!("changed by import: {}", fields.join(", ")),
            _ => "added by import".to_owned(),
        };
        entries.push((id, detail));
    }
    let new_entries: Vec<NewAuditEntry<'_>> = entries
        .iter()
        .map(|(id, detail)| NewAuditEntry {
            actor: actor.clone(),
            action: "import",
            web_application_id: Some(*id),
            connection_id: None,
            outcome: "ok",
            error_code: None,
            detail,
        })
        .collect();
    audit::record_many(conn, &new_entries)?;
    Ok(ids)
}

struct PlannedService<'a> {
    spec: &'a WebServiceSpec,
    existing: Option<i64>,
    change: RecordChange,
}

fn plan_services<'a>(
    parsed: &'a ParsedFile,
    stored: &[WebService],
    report: &mut ImportReport,
) -> Result<Vec<PlannedService<'a>>> {
    let by_key: HashMap<&str, &WebService> =
        stored.iter().map(|s| (s.name_key.as_str(), s)).collect();
    let mut plan = Vec::with_capacity(parsed.services.len());
    for spec in &parsed.services {
        if spec.body_template.is_some() && spec.body.is_none() {
            return Err(StoreError::Invalid(format!(
                "the body template of web service `{}` was not read; import the file with \
                 `emsg import`, which reads templates/messages/",
                spec.name
            )));
        }
        let existing = by_key.get(name_key(&spec.name).as_str()).copied();
        let change = match existing {
            None => RecordChange::Added,
            Some(row) => match services::changed_fields(&row.spec, spec) {
                fields if fields.is_empty() => RecordChange::Unchanged,
                fields => RecordChange::Changed(fields),
            },
        };
        report.services.push(RecordOutcome {
            name: spec.name.clone(),
            change: change.clone(),
        });
        plan.push(PlannedService {
            spec,
            existing: existing.map(|s| s.id),
            change,
        });
    }
    Ok(plan)
}

fn write_services(
    conn: &mut DbConnection,
    plan: &[PlannedService<'_>],
    record_ids: &HashMap<String, i64>,
    actor: &Actor,
) -> Result<()> {
    let now = now();
    let mut details = Vec::new();
    for item in plan.iter().filter(|i| i.change != RecordChange::Unchanged) {
        let record = record_ids
            .get(&name_key(&item.spec.web_application))
            .copied()
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "web service `{}` names the web application `{}`, which is not in the file",
                    item.spec.name, item.spec.web_application
                ))
            })?;
        services::write_spec(conn, item.existing, item.spec, record, now)?;
        let detail = match &item.change {
            RecordChange::Changed(fields) => format!(
                "web service {} changed by import: {}",
                item.spec.name,
                fields.join(", ")
            ),
            _ => format!("web service {} added by import", item.spec.name),
        };
        details.push((record, detail));
    }
    let entries: Vec<NewAuditEntry<'_>> = details
        .iter()
        .map(|(record, detail)| NewAuditEntry {
            actor: actor.clone(),
            action: "import",
            web_application_id: Some(*record),
            connection_id: None,
            outcome: "ok",
            error_code: None,
            detail,
        })
        .collect();
    audit::record_many(conn, &entries)?;
    Ok(())
}

/// What an edit on the page did: the keys that changed (never their values) and the warnings
/// of the import rules (an unset environment variable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditReport {
    pub changed: Vec<String>,
    pub warnings: Vec<String>,
}

/// Writes `spec` (validated by `emsg_webapps::parse`, like an import) over the stored record
/// `id`, and `new_secret` when one was typed (`None` keeps the stored secret). The same
/// comparison as an import decides what changed; nothing is written when nothing did. One
/// audit entry names the changed keys. Renaming is allowed; a name another record has is not.
pub fn edit(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: i64,
    spec: &WebApplicationSpec,
    new_secret: Option<&Secret>,
    env: &dyn Fn(&str) -> Option<String>,
    actor: &Actor,
) -> Result<EditReport> {
    conn.transaction(|conn| {
        let row = records::by_id(conn, id)?
            .ok_or_else(|| StoreError::Invalid(format!("web application {id} no longer exists")))?;
        if let Some(other) = records::find(conn, &spec.name)?.filter(|r| r.id != id) {
            return Err(StoreError::Invalid(format!(
                "name: another web application is already named `{}`; choose another name",
                other.name
            )));
        }
        let source = match &spec.exchange {
            Some(exchange) => Some(records::find(conn, &exchange.source)?.ok_or_else(|| {
                StoreError::Invalid(format!(
                    "exchange source: no web application is named `{}`; name an OAuth record from the list",
                    exchange.source
                ))
            })?),
            None => None,
        };
        if let Some(source) = &source
            && (source.id == id || source.is_exchange())
        {
            return Err(StoreError::Invalid(format!(
                "exchange source: `{}` is {}; name an OAuth record",
                source.name,
                if source.id == id { "this record itself" } else { "an exchange record" }
            )));
        }
        // One user's token of a user-specific source must never become everyone's token.
        if let Some(source) = &source
            && source.user_specific
            && !spec.user_specific
        {
            return Err(StoreError::Invalid(format!(
                "user_specific: `{}` is user-specific, so this record, which exchanges its \
                 token, must be user-specific too",
                source.name
            )));
        }
        if spec.user_specific {
            use crate::schema::web_applications as table;
            let shared: Vec<String> = table::table
                .filter(table::exchange_source_id.eq(id))
                .filter(table::user_specific.eq(false))
                .select(table::name)
                .load(conn)?;
            if !shared.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "user_specific: {} take(s) this record's token by exchange and is not \
                     user-specific; make it user-specific first",
                    shared.join(", ")
                )));
            }
        }
        if spec.exchange.is_some() {
            let dependants: i64 = crate::schema::web_applications::table
                .filter(crate::schema::web_applications::exchange_source_id.eq(id))
                .count()
                .get_result(conn)?;
            if dependants > 0 {
                return Err(StoreError::Invalid(format!(
                    "exchange: {dependants} exchange record(s) take their token from this record, \
                     so it cannot become an exchange record; change those first"
                )));
            }
        }
        let mut names = HashMap::new();
        if let Some(old_source) = row.exchange_source_id
            && let Some(name) = records::name_of(conn, old_source)?
        {
            names.insert(old_source, name);
        }
        let mut report = EditReport::default();
        let mut resolved = resolve(spec, Some(&row), env, &mut report.warnings);
        if let Some(secret) = new_secret {
            resolved.client_secret = Some(secret.clone());
        }
        let mut changed = match compare(&row, spec, &resolved, &names, ring)? {
            RecordChange::Changed(fields) => fields,
            _ => Vec::new(),
        };
        // A new source record under the same name is a change `to_spec` cannot see.
        if source.as_ref().map(|s| s.id) != row.exchange_source_id
            && !changed.iter().any(|f| f == "exchange")
        {
            changed.push("exchange".to_owned());
        }
        if changed.is_empty() {
            return Ok(report);
        }
        let client_id = resolved.client_id.as_deref().or(row.client_id.as_deref());
        records::write_spec(conn, Some(id), spec, client_id, now())?;
        // The edit may rename the record.
        records::names_changed(conn)?;
        if let Some(secret) = &resolved.client_secret {
            records::set_client_secret(conn, ring, id, Some(secret))?;
        }
        records::set_exchange_source(conn, id, source.map(|s| s.id))?;
        let detail = format!("edited on the Web applications page: {}", changed.join(", "));
        audit::record(
            conn,
            &NewAuditEntry {
                actor: actor.clone(),
                action: "edit",
                web_application_id: Some(id),
                connection_id: None,
                outcome: "ok",
                error_code: None,
                detail: &detail,
            },
        )?;
        report.changed = changed;
        Ok(report)
    })
}

/// The stored records as `web-apps.yaml`: never a secret, only where it comes from.
pub fn export(conn: &mut DbConnection) -> Result<String> {
    let stored = records::list(conn)?;
    let names = records::names_by_id(&stored);
    let specs: Vec<WebApplicationSpec> = stored.iter().map(|r| r.to_spec(&names)).collect();
    let services: Vec<WebServiceSpec> = services::list(conn)?.into_iter().map(|s| s.spec).collect();
    let mut text = emsg_webapps::export(&specs);
    text.push_str(&emsg_webapps::export_services(&services));
    Ok(text)
}
