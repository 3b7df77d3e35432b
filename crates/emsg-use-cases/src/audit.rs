//! The audit log, newest first, filtered by record, user, action and outcome, 50 entries a
//! page. Both roles read it; entries never hold a secret.
//!
//! A page is the entries older than the last one of the page before (`before`, an entry's id);
//! the page knows whether there is another by reading one entry more than it shows. Numbered
//! pages are gone: `page` is taken only as 1 (the first), so that old bookmarks still open.

use std::collections::HashMap;

use emsg_store::audit::{self, AuditEntry, AuditFilter};
use emsg_store::web_applications as records;
use serde::{Deserialize, Serialize};

use crate::{Context, UseCaseError};

/// Entries per page.
pub const PER_PAGE: i64 = 50;

/// The query string of both faces: names, not ids; empty values mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub record: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    /// The id of the last entry shown: the page goes on from the next older one.
    #[serde(default)]
    pub before: Option<String>,
    /// Only `1`, the first page: the log pages by `before` (see the module).
    #[serde(default)]
    pub page: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// One entry as shown: user and record by name.
#[derive(Debug, Serialize)]
pub struct AuditEntryView {
    pub at: String,
    /// The user's name, or `operator` / `system`.
    pub who: String,
    pub action: String,
    pub web_application: Option<String>,
    pub outcome: String,
    pub error_code: Option<String>,
    pub detail: String,
}

/// One page of the log with what the filters can choose from.
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Where this page began (`before` as asked); none on the first page.
    pub before: Option<i64>,
    /// The id to page on from (`before=`) when there are older entries.
    pub next_before: Option<i64>,
    pub records: Vec<String>,
    pub users: Vec<String>,
    pub actions: Vec<String>,
    pub outcomes: Vec<String>,
    pub record: Option<String>,
    pub user: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
}

impl AuditPage {
    /// The query of this page's first page: its filters, empty ones left out.
    pub fn first_page(&self) -> Vec<(&'static str, String)> {
        let kept = |value: &Option<String>| value.clone().unwrap_or_default();
        vec![
            ("record", kept(&self.record)),
            ("user", kept(&self.user)),
            ("action", kept(&self.action)),
            ("outcome", kept(&self.outcome)),
        ]
    }

    /// The query of the page after one whose last entry is `before`, the filters kept.
    pub fn page_before(&self, before: i64) -> Vec<(&'static str, String)> {
        let mut query = self.first_page();
        query.push(("before", before.to_string()));
        query
    }
}

/// The entries `query` asks for, newest first; an unknown record or user name matches nothing.
pub async fn search(ctx: &Context, query: AuditQuery) -> Result<AuditPage, UseCaseError> {
    if let Some(page) = non_empty(query.page.as_ref())
        && page != "1"
    {
        return Err(UseCaseError::Invalid(format!(
            "`page={page}` is not taken: the audit log pages by entry, not by number; follow \
             the page's Older entries link (the API's `next`), which asks for `before=ID`, the \
             id of the last entry shown"
        )));
    }
    let before = match non_empty(query.before.as_ref()) {
        None => None,
        Some(b) => Some(b.parse::<i64>().ok().filter(|b| *b >= 1).ok_or_else(|| {
            UseCaseError::Invalid(format!(
                "`before={b}` is not an entry id: it takes the id of the last entry shown, \
                 a whole number from 1"
            ))
        })?),
    };
    let record = non_empty(query.record.as_ref());
    let user = non_empty(query.user.as_ref());
    let action = non_empty(query.action.as_ref());
    let outcome = non_empty(query.outcome.as_ref());
    let (record2, user2, action2, outcome2) = (
        record.clone(),
        user.clone(),
        action.clone(),
        outcome.clone(),
    );
    let (entries, next_before, records, users, actions, outcomes) = ctx
        .run(move |conn| {
            // Ids and names only: a record's other columns (sealed secrets among them) are not
            // the log's business.
            let all = records::ids_and_names(conn)?;
            let record_names: HashMap<i64, String> = all
                .iter()
                .map(|(id, name)| (id.get(), name.clone()))
                .collect();
            let people = emsg_store::users::list(conn)?;
            let user_names: HashMap<i64, String> =
                people.iter().map(|u| (u.id, u.name.clone())).collect();
            // An unknown name matches nothing (id 0 is never used).
            let web_application_id = record2.as_ref().map(|name| {
                let key = records::name_key(name);
                all.iter()
                    .find(|(_, n)| records::name_key(n) == key)
                    .map_or(0, |(id, _)| id.get())
            });
            let user_id = user2.as_ref().map(|name| {
                people
                    .iter()
                    .find(|u| u.name.eq_ignore_ascii_case(name))
                    .map_or(0, |u| u.id)
            });
            let filter = AuditFilter {
                web_application_id,
                user_id,
                action: action2,
                outcome: outcome2,
                before,
            };
            let mut entries = audit::search(conn, &filter, PER_PAGE + 1)?;
            let more = entries.len() > PER_PAGE as usize;
            entries.truncate(PER_PAGE as usize);
            let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
            let (actions, outcomes) = audit::kinds(conn)?;
            let view = |e: &AuditEntry| AuditEntryView {
                at: emsg_store::format_utc(e.at),
                who: e
                    .user_id
                    .and_then(|id| user_names.get(&id).cloned())
                    .unwrap_or_else(|| e.actor.clone()),
                action: e.action.clone(),
                web_application: e.web_application_id.map(|id| {
                    record_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("(deleted record {id})"))
                }),
                outcome: e.outcome.clone(),
                error_code: e.error_code.clone(),
                detail: e.detail.clone(),
            };
            Ok::<_, UseCaseError>((
                entries.iter().map(view).collect::<Vec<_>>(),
                next_before,
                all.into_iter().map(|(_, name)| name).collect::<Vec<_>>(),
                people.iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
                actions,
                outcomes,
            ))
        })
        .await?;
    Ok(AuditPage {
        entries,
        before,
        next_before,
        records,
        users,
        actions,
        outcomes,
        record,
        user,
        action,
        outcome,
    })
}
