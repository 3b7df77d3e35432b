//! Endpoints that move to another origin. The client secret and the tokens of a record were
//! given to its provider; a record whose outbound URLs (token, revocation, exchange,
//! authorization, issuer, base URL, its web services' base URLs) now name a host it did not
//! name before would send them there. So such a change drops the sealed secret and makes every
//! connection authorize again, in the transaction of the change, with audit entries.

use std::collections::BTreeSet;

use emsg_webapps::{WebApplicationSpec, WebServiceSpec};

use crate::audit::{self, Actor, AuditAction, NewAuditEntry};
use crate::connections;
use crate::db::DbConnection;
use crate::error::Result;
use crate::pending;
use crate::web_applications::{self as records, WebApplication};
use crate::web_services::WebService;

/// A record whose endpoints move to origins it did not use before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedEndpoints {
    pub name: String,
    /// The new origins (`https://host[:port]`), sorted.
    pub origins: Vec<String>,
    /// Whether a stored client secret is dropped (none is kept when a new one comes with the
    /// change from the operator or is typed by the administrator).
    pub secret_dropped: bool,
    /// How many connections must be authorized again.
    pub connections: i64,
}

impl MovedEndpoints {
    /// What happens, in the words of the page and the command line.
    pub fn explain(&self) -> String {
        let mut parts = Vec::new();
        if self.secret_dropped {
            parts.push("its client secret is deleted: set it again".to_owned());
        }
        if self.connections > 0 {
            parts.push(format!(
                "its {} connection(s) lose their tokens and must be authorized again",
                self.connections
            ));
        }
        if parts.is_empty() {
            parts.push("it holds no secret or token to move".to_owned());
        }
        format!(
            "{}: the endpoints move to {}, which the record did not use before, so {}",
            self.name,
            self.origins.join(", "),
            parts.join(", and ")
        )
    }
}

/// `scheme://host:port` of a URL, or the text itself when it does not parse.
pub(crate) fn origin(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.to_owned())
}

/// The origins of a record's outbound URLs and of the base URLs of its web services.
fn origins<'a>(
    urls: impl IntoIterator<Item = &'a str>,
    services: impl IntoIterator<Item = &'a WebServiceSpec>,
    record_base_url: &str,
) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = urls.into_iter().map(origin).collect();
    set.extend(
        services
            .into_iter()
            .map(|s| origin(s.base_url(record_base_url))),
    );
    set
}

/// The origins `spec` (with the web services `services_after`) uses that `row` (with the
/// stored web services of the record) did not.
pub(crate) fn new_origins(
    row: &WebApplication,
    stored_services: &[WebService],
    spec: &WebApplicationSpec,
    services_after: &[&WebServiceSpec],
) -> Vec<String> {
    let before_specs: Vec<&WebServiceSpec> = stored_services
        .iter()
        .filter(|s| s.web_application_id == row.id)
        .map(|s| &s.spec)
        .collect();
    let old_urls = [
        Some(row.base_url.as_str()),
        row.authorization_url.as_deref(),
        row.token_url.as_deref(),
        row.revocation_url.as_deref(),
        row.issuer.as_deref(),
        row.exchange_url.as_deref(),
    ];
    let before = origins(old_urls.into_iter().flatten(), before_specs, &row.base_url);
    let after = origins(
        spec.outbound_urls().into_iter().map(|(_, url)| url),
        services_after.iter().copied(),
        &spec.base_url,
    );
    after.difference(&before).cloned().collect()
}

/// Drops the secret (unless `keep_secret`) and the tokens of record `row` whose endpoints
/// moved to `origins`, and writes the audit entries. Part of the caller's transaction.
pub(crate) fn apply(
    conn: &mut DbConnection,
    row: &WebApplication,
    moved: &MovedEndpoints,
    keep_secret: bool,
    actor: &Actor,
    now: i64,
) -> Result<()> {
    if !keep_secret {
        records::set_client_secret_sealed(conn, row.id, None)?;
    }
    pending::forget_record(conn, row.id)?;
    let message = format!(
        "The endpoints of this web application moved to {}: authorize again (Get authorization \
         code) so that no token is sent to a host it was not issued for.",
        moved.origins.join(", ")
    );
    let ids = connections::require_reauthorization(conn, row.id, &message, now)?;
    let mut entries = vec![
        NewAuditEntry::ok(actor.clone(), AuditAction::EndpointsMoved, moved.explain())
            .on_web_application(row.id),
    ];
    let per_connection = format!(
        "tokens deleted, reauthorization required: the endpoints moved to {}",
        moved.origins.join(", ")
    );
    entries.extend(ids.iter().map(|id| {
        NewAuditEntry::ok(
            actor.clone(),
            AuditAction::EndpointsMoved,
            per_connection.clone(),
        )
        .on_web_application(row.id)
        .on_connection(*id)
    }));
    audit::record(conn, &entries)?;
    Ok(())
}
