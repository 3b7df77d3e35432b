//! Importing web-application records: a plan of added / changed / unchanged records, then
//! all of it written in one transaction, or nothing.

use std::collections::HashMap;
use std::fmt;

use emsg_seal::{KeyRing, Secret};
use emsg_webapps::{
    EnvAccess, ImportError, ImportErrors, PageEnvVars, ParsedFile, SecretSource, UrlRules,
    ValueSource, WebApplicationSpec, WebServiceSpec, changed_fields,
};

use crate::audit::{self, Actor, AuditAction, NewAuditEntry};
use crate::clock::now;
use crate::db::{DbConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::ids::WebApplicationId;
use crate::moved::{self, MovedEndpoints};
use crate::processings;
use crate::web_applications::{self as records, WebApplication, name_key};
use crate::web_services::{self as services, WebService};
use diesel::prelude::*;

/// Who imports or edits, and so which `{env: …}` references may be read and which outbound
/// URLs are accepted. Built once by the command line or the server from the operator's
/// settings and handed to every import and edit.
pub struct ImportContext<'a> {
    pub access: EnvAccess,
    /// Reads a variable (the process environment, or a stand-in in tests).
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    pub urls: UrlRules,
}

impl<'a> ImportContext<'a> {
    /// The operator on the command line (`emsg import`, `serve`'s first-start import).
    pub fn command_line(lookup: &'a dyn Fn(&str) -> Option<String>, urls: UrlRules) -> Self {
        Self {
            access: EnvAccess::CommandLine,
            lookup,
            urls,
        }
    }

    /// An administrator on a page or the API: only the variables in `allowed` are read.
    pub fn page(
        allowed: PageEnvVars,
        lookup: &'a dyn Fn(&str) -> Option<String>,
        urls: UrlRules,
    ) -> Self {
        Self {
            access: EnvAccess::Page(allowed),
            lookup,
            urls,
        }
    }

    fn is_page(&self) -> bool {
        matches!(self.access, EnvAccess::Page(_))
    }
}

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
    /// The processings of the file, in its order.
    pub processings: Vec<RecordOutcome>,
    /// Stored processings the file no longer has: removed (messages under way keep their copy).
    pub removed_processings: Vec<String>,
    /// Things the administrator should know that did not stop the import (unset variables).
    pub warnings: Vec<String>,
    /// Stored records the file does not mention; they are left as they are.
    pub untouched: Vec<String>,
    /// Records whose endpoints move to another origin: their secret and tokens are dropped.
    pub moved: Vec<MovedEndpoints>,
    pub dry_run: bool,
}

impl ImportReport {
    pub fn count(&self, wanted: fn(&RecordChange) -> bool) -> usize {
        self.records.iter().filter(|r| wanted(&r.change)).count()
    }

    pub fn changes_anything(&self) -> bool {
        !self.removed_processings.is_empty()
            || self
                .records
                .iter()
                .chain(&self.services)
                .chain(&self.processings)
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
        for processing in &self.processings {
            let word = match processing.change {
                RecordChange::Added => "added    ",
                RecordChange::Changed(_) => "changed  ",
                RecordChange::Unchanged => "unchanged",
            };
            writeln!(f, "  {word}  processing {}", processing.name)?;
        }
        for name in &self.removed_processings {
            writeln!(f, "  removed    processing {name}")?;
        }
        for name in &self.untouched {
            writeln!(f, "  not in file, left as is  {name}")?;
        }
        for moved in &self.moved {
            writeln!(f, "endpoints moved: {}", moved.explain())?;
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
    /// The secret was read from a variable for a page: it stays with the provider it was
    /// configured for, so it is not kept when the endpoints move.
    secret_from_page_env: bool,
}

struct Planned<'a> {
    spec: &'a WebApplicationSpec,
    existing: Option<&'a WebApplication>,
    resolved: Resolved,
    change: RecordChange,
    moved: Option<MovedEndpoints>,
}

/// Refuses what the importer may not ask for, every problem at once with its place in the
/// file: outbound URLs the rules refuse, and `{env: …}` references it may not read.
fn check_file(
    parsed: &ParsedFile,
    stored: &HashMap<String, &WebApplication>,
    ctx: &ImportContext<'_>,
) -> Result<()> {
    let mut errors: Vec<ImportError> = Vec::new();
    for (index, spec) in parsed.applications.iter().enumerate() {
        let existing = stored.get(&name_key(&spec.name)).copied();
        for (key, url) in spec.outbound_urls() {
            if let Err(message) = ctx.urls.check_outbound(url) {
                errors.push(parsed.error_at(&format!("web_applications[{index}].{key}"), message));
            }
        }
        for (field, message) in env_refusals(spec, existing, ctx) {
            let path = format!("web_applications[{index}].{field}");
            errors.push(parsed.error_at(&path, format!("record `{}`: {message}", spec.name)));
        }
    }
    for (index, service) in parsed.services.iter().enumerate() {
        if let Some(url) = &service.base_url
            && let Err(message) = ctx.urls.check_outbound(url)
        {
            errors.push(parsed.error_at(&format!("web_services[{index}].base_url"), message));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(StoreError::Refused(ImportErrors(errors)))
    }
}

/// The `{env: …}` references of `spec` that `ctx` may not read, by field. On a page, a
/// reference the record already has is kept as it is without being read, so it is no reason
/// to refuse; emsg's own settings are refused whoever asks.
fn env_refusals(
    spec: &WebApplicationSpec,
    existing: Option<&WebApplication>,
    ctx: &ImportContext<'_>,
) -> Vec<(&'static str, String)> {
    let id_var = match &spec.client_id {
        ValueSource::Env { var } => Some(var),
        _ => None,
    };
    let secret_var = match &spec.client_secret {
        SecretSource::Env { var } => Some(var),
        _ => None,
    };
    let stored_id = existing.and_then(|r| r.client_id_env.as_ref());
    let stored_secret = existing.and_then(|r| r.client_secret_env.as_ref());
    let mut refusals = Vec::new();
    for (field, var, stored) in [
        ("client_id", id_var, stored_id),
        ("client_secret", secret_var, stored_secret),
    ] {
        let Some(var) = var else { continue };
        let refusal = match ctx.access.check(var) {
            Ok(()) => None,
            Err(message) if message.contains("EMSG_*") => Some(message),
            Err(_) if stored == Some(var) => None,
            Err(message) => Some(message),
        };
        if let Some(message) = refusal {
            refusals.push((field, message));
        }
    }
    refusals
}

/// The web services of `row` after the import: those of the file that name it, and the
/// stored ones the file does not mention.
fn services_after<'a>(
    parsed: &'a ParsedFile,
    stored: &'a [WebService],
    row: &WebApplication,
    spec: &WebApplicationSpec,
) -> Vec<&'a WebServiceSpec> {
    let key = name_key(&spec.name);
    let in_file: std::collections::HashSet<String> =
        parsed.services.iter().map(|s| name_key(&s.name)).collect();
    parsed
        .services
        .iter()
        .filter(|s| name_key(&s.web_application) == key)
        .chain(
            stored
                .iter()
                .filter(|s| s.web_application_id == row.id && !in_file.contains(&s.name_key))
                .map(|s| &s.spec),
        )
        .collect()
}

/// Whether `spec` moves `row`'s endpoints to new origins, and what that drops.
fn moved_endpoints(
    conn: &mut DbConnection,
    row: &WebApplication,
    stored_services: &[WebService],
    spec: &WebApplicationSpec,
    services_after: &[&WebServiceSpec],
    resolved: &Resolved,
) -> Result<Option<MovedEndpoints>> {
    let origins = moved::new_origins(row, stored_services, spec, services_after);
    if origins.is_empty() {
        return Ok(None);
    }
    Ok(Some(MovedEndpoints {
        name: spec.name.clone(),
        origins,
        // A secret read for a page from a variable is dropped too: it is the old provider's.
        secret_dropped: (row.client_secret_is_set() || resolved.client_secret.is_some())
            && !keeps_secret(resolved),
        connections: crate::connections::count_authorized(conn, row.id)?,
    }))
}

/// A secret that comes with the change is kept when it is the operator's or was typed by the
/// administrator; one read from a variable for a page belongs to the old provider.
fn keeps_secret(resolved: &Resolved) -> bool {
    resolved.client_secret.is_some() && !resolved.secret_from_page_env
}

/// Imports `parsed` (already validated): writes every added or changed record in one
/// transaction, or, with `dry_run`, only reports what it would do.
pub fn import(
    conn: &mut DbConnection,
    ring: &KeyRing,
    parsed: &ParsedFile,
    ctx: &ImportContext<'_>,
    actor: &Actor,
    dry_run: bool,
) -> Result<ImportReport> {
    write_transaction(conn, |conn| {
        let stored = records::list(conn)?;
        let names = records::names_by_id(&stored);
        let by_key: HashMap<String, &WebApplication> =
            stored.iter().map(|r| (r.name_key.clone(), r)).collect();
        check_file(parsed, &by_key, ctx)?;
        let stored_services = services::list(conn)?;
        let mut report = ImportReport {
            dry_run,
            ..ImportReport::default()
        };
        let mut plan = Vec::with_capacity(parsed.applications.len());
        for spec in &parsed.applications {
            let existing = by_key.get(&name_key(&spec.name)).copied();
            let resolved = resolve(spec, existing, ctx, &mut report.warnings);
            let change = match existing {
                None => RecordChange::Added,
                Some(row) => compare(row, spec, &resolved, &names, ring)?,
            };
            report.records.push(RecordOutcome {
                name: spec.name.clone(),
                change: change.clone(),
            });
            let moved = match existing {
                Some(row) => {
                    let after = services_after(parsed, &stored_services, row, spec);
                    moved_endpoints(conn, row, &stored_services, spec, &after, &resolved)?
                }
                None => None,
            };
            report.moved.extend(moved.clone());
            plan.push(Planned {
                spec,
                existing,
                resolved,
                change,
                moved,
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
        let service_plan = plan_services(parsed, &stored_services, &mut report)?;
        let processing_plan = processings::plan(conn, &parsed.processings)?;
        report.processings = parsed
            .processings
            .iter()
            .zip(&processing_plan.outcomes)
            .map(|(spec, written)| RecordOutcome {
                name: spec.name.clone(),
                change: match written {
                    processings::Written::Added => RecordChange::Added,
                    processings::Written::Changed => RecordChange::Changed(vec!["steps".into()]),
                    processings::Written::Unchanged => RecordChange::Unchanged,
                },
            })
            .collect();
        report.removed_processings = processing_plan.removed.clone();
        check_exchanges_after(&stored, &names, parsed)?;
        if dry_run || !report.changes_anything() {
            return Ok(report);
        }
        let ids = write(conn, ring, &plan, actor)?;
        write_services(conn, &service_plan, &ids, actor)?;
        processings::write(conn, &parsed.processings, &processing_plan, now())?;
        Ok(report)
    })
}

/// An exchange record must be user-specific when its source is, also when only one of the two is
/// in the file: otherwise one user's token of the source would become the company's.
fn check_exchanges_after(
    stored: &[WebApplication],
    names: &HashMap<WebApplicationId, String>,
    parsed: &ParsedFile,
) -> Result<()> {
    // name key → (name, user-specific, the source's name key), as the import would leave them.
    let mut after: HashMap<String, (String, bool, Option<String>)> = stored
        .iter()
        .map(|r| {
            let source = r
                .exchange_source_id()
                .and_then(|id| names.get(&id))
                .map(|n| name_key(n));
            (
                r.name_key.clone(),
                (r.name.clone(), r.user_specific, source),
            )
        })
        .collect();
    for spec in &parsed.applications {
        let source = spec.exchange.as_ref().map(|e| name_key(&e.source));
        after.insert(
            name_key(&spec.name),
            (spec.name.clone(), spec.user_specific, source),
        );
    }
    let in_file: std::collections::HashSet<String> = parsed
        .applications
        .iter()
        .map(|s| name_key(&s.name))
        .collect();
    for (key, (name, user_specific, source)) in &after {
        let Some((source_name, true, _)) = source.as_ref().and_then(|s| after.get(s)) else {
            continue;
        };
        if !user_specific {
            let place = if in_file.contains(key) {
                "in this file"
            } else {
                "in the database, not in this file"
            };
            return Err(StoreError::Invalid(format!(
                "user_specific: `{source_name}` is user-specific, so `{name}` ({place}), which \
                 exchanges its token, must be user-specific too; nothing was imported. Add \
                 `{name}` to the file with `user_specific: true`, or edit it first"
            )));
        }
    }
    Ok(())
}

fn resolve(
    spec: &WebApplicationSpec,
    existing: Option<&WebApplication>,
    ctx: &ImportContext<'_>,
    warnings: &mut Vec<String>,
) -> Resolved {
    let has_stored = |field: &str| match (field, existing) {
        ("client_id", Some(row)) => row.client_id.is_some(),
        (_, Some(row)) => row.client_secret_is_set(),
        (_, None) => false,
    };
    let mut from_env = |field: &str, var: &str| {
        // Refused references were reported before anything was resolved; one that is still
        // here unreadable is a reference the record already has, kept without being read.
        if ctx.access.check(var).is_err() {
            warnings.push(format!(
                "{}: {field}: ${var} is not read from a page (the operator has not allowed it), so the {field} stays as it is (now: {}); `emsg import` on the server reads it.",
                spec.name,
                if has_stored(field) { "set" } else { "not set" }
            ));
            return None;
        }
        let value = (ctx.lookup)(var).filter(|v| !v.is_empty());
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
    let secret_from_page_env = ctx.is_page()
        && client_secret.is_some()
        && matches!(spec.client_secret, SecretSource::Env { .. });
    Resolved {
        client_id,
        client_secret,
        secret_from_page_env,
    }
}

fn compare(
    row: &WebApplication,
    spec: &WebApplicationSpec,
    resolved: &Resolved,
    names: &HashMap<WebApplicationId, String>,
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
) -> Result<HashMap<String, WebApplicationId>> {
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
                    records::seal_client_secret(conn, ring, id, Some(secret))?;
                }
                id
            }
        };
        if let (Some(moved), Some(row)) = (&item.moved, item.existing) {
            moved::apply(conn, row, moved, keeps_secret(&item.resolved), actor, now)?;
        }
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
                .is_some_and(|r| r.exchange_source_id().is_some())
        {
            records::set_exchange_source(conn, id, source)?;
        }
        let detail = match &item.change {
            RecordChange::Changed(fields) => format!("changed by import: {}", fields.join(", ")),
            _ => "added by import".to_owned(),
        };
        entries.push(
            NewAuditEntry::ok(actor.clone(), AuditAction::Import, detail).on_web_application(id),
        );
    }
    audit::record(conn, &entries)?;
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
    record_ids: &HashMap<String, WebApplicationId>,
    actor: &Actor,
) -> Result<()> {
    let now = now();
    let mut entries = Vec::new();
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
        entries.push(
            NewAuditEntry::ok(actor.clone(), AuditAction::Import, detail)
                .on_web_application(record),
        );
    }
    audit::record(conn, &entries)?;
    Ok(())
}

/// What an edit on the page did: the keys that changed (never their values) and the warnings
/// of the import rules (an unset environment variable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EditReport {
    pub changed: Vec<String>,
    pub warnings: Vec<String>,
    /// The endpoints move to another origin: what that drops. When the move was not
    /// confirmed, nothing was written and the page asks first.
    pub moved: Option<MovedEndpoints>,
    /// Nothing was written: the move needs the administrator's confirmation.
    pub needs_confirmation: bool,
}

/// Writes `spec` (validated by `emsg_webapps::parse`, like an import) over the stored record
/// `id`, and `new_secret` when one was typed (`None` keeps the stored secret). The same
/// comparison as an import decides what changed; nothing is written when nothing did. One
/// audit entry names the changed keys. Renaming is allowed; a name another record has is not.
///
/// Endpoints that move to another origin drop the stored secret (unless `new_secret` is
/// typed) and the connections' tokens; without `move_confirmed` such an edit writes nothing
/// and answers what it would drop (`needs_confirmation`).
#[allow(clippy::too_many_arguments)]
pub fn edit(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: WebApplicationId,
    spec: &WebApplicationSpec,
    new_secret: Option<&Secret>,
    ctx: &ImportContext<'_>,
    actor: &Actor,
    move_confirmed: bool,
) -> Result<EditReport> {
    write_transaction(conn, |conn| {
        let row = records::by_id(conn, id)?
            .ok_or_else(|| StoreError::Invalid(format!("web application {id} no longer exists")))?;
        let mut refused: Vec<ImportError> = Vec::new();
        let at = |field: &str, message: String| ImportError {
            file: "the edit form".to_owned(),
            line: 1,
            column: 1,
            path: format!("web_applications[0].{field}"),
            message,
        };
        for (key, url) in spec.outbound_urls() {
            if let Err(message) = ctx.urls.check_outbound(url) {
                refused.push(at(key, message));
            }
        }
        for (field, message) in env_refusals(spec, Some(&row), ctx) {
            refused.push(at(field, message));
        }
        if !refused.is_empty() {
            return Err(StoreError::Refused(ImportErrors(refused)));
        }
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
                if source.id == id {
                    "this record itself"
                } else {
                    "an exchange record"
                }
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
        if let Some(old_source) = row.exchange_source_id()
            && let Some(name) = records::name_of(conn, old_source)?
        {
            names.insert(old_source, name);
        }
        let mut report = EditReport::default();
        let mut resolved = resolve(spec, Some(&row), ctx, &mut report.warnings);
        if let Some(secret) = new_secret {
            resolved.client_secret = Some(secret.clone());
            resolved.secret_from_page_env = false;
        }
        let stored_services = services::list(conn)?;
        let services_after: Vec<&WebServiceSpec> = stored_services
            .iter()
            .filter(|s| s.web_application_id == id)
            .map(|s| &s.spec)
            .collect();
        report.moved = moved_endpoints(
            conn,
            &row,
            &stored_services,
            spec,
            &services_after,
            &resolved,
        )?;
        if report.moved.is_some() && !move_confirmed {
            report.needs_confirmation = true;
            return Ok(report);
        }
        let mut changed = match compare(&row, spec, &resolved, &names, ring)? {
            RecordChange::Changed(fields) => fields,
            _ => Vec::new(),
        };
        // A new source record under the same name is a change `to_spec` cannot see.
        if source.as_ref().map(|s| s.id) != row.exchange_source_id()
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
            records::seal_client_secret(conn, ring, id, Some(secret))?;
        }
        records::set_exchange_source(conn, id, source.map(|s| s.id))?;
        if let Some(moved) = &report.moved {
            moved::apply(conn, &row, moved, keeps_secret(&resolved), actor, now())?;
        }
        let detail = format!(
            "edited on the Web applications page: {}",
            changed.join(", ")
        );
        audit::record(
            conn,
            &[NewAuditEntry::ok(actor.clone(), AuditAction::Edit, detail).on_web_application(id)],
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
    let processings: Vec<_> = processings::list(conn)?
        .into_iter()
        .map(|p| p.spec)
        .collect();
    text.push_str(&emsg_webapps::export_processings(&processings));
    Ok(text)
}
