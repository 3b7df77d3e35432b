//! Web-application records as stored: every field of the file, the client secret sealed.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use emsg_seal::{Aad, KeyRing, Secret};
use emsg_webapps::{
    Capture, ClientAuth, Exchange, Lifetime, SecretSource, ValueSource, WebApplicationSpec,
};

use crate::audit::{self, Actor, AuditAction, NewAuditEntry};
use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::ids::WebApplicationId;
use crate::schema::web_applications;

/// One web application. The sealed client secret is private: read it with
/// [`WebApplication::client_secret`], which needs the key ring.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = web_applications)]
pub struct WebApplication {
    pub id: WebApplicationId,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub base_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub revocation_url: Option<String>,
    pub redirect_url: Option<String>,
    pub client_id: Option<String>,
    pub client_id_env: Option<String>,
    client_secret_sealed: Option<Vec<u8>>,
    pub client_secret_env: Option<String>,
    pub scope: String,
    authorization_params: String,
    client_auth: String,
    pub pkce: bool,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    code_lifetime_secs: i64,
    authorization_lifetime_secs: Option<i64>,
    pub user_specific: bool,
    pub obtain_token_on_callback: bool,
    pub issuer: Option<String>,
    #[diesel(column_name = exchange_source_id)]
    exchange_source: Option<i64>,
    pub exchange_url: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// JSON list of identifier names (`["nino"]`).
    captures: String,
    /// JSON mapping of parameter names to lists of values.
    parameter_choices: String,
    rate_limit: Option<i32>,
}

impl std::fmt::Debug for WebApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebApplication")
            .field("id", &self.id)
            .field("name", &self.name)
            .field(
                "client_secret",
                &if self.client_secret_is_set() {
                    "set"
                } else {
                    "not set"
                },
            )
            .finish_non_exhaustive()
    }
}

pub const CLIENT_SECRET_AAD_TABLE: &str = "web_applications";
pub const CLIENT_SECRET_AAD_COLUMN: &str = "client_secret_sealed";

pub(crate) fn client_secret_aad(id: WebApplicationId) -> Aad<'static> {
    Aad::new(CLIENT_SECRET_AAD_TABLE, CLIENT_SECRET_AAD_COLUMN, id.get())
}

/// The name as compared for uniqueness: trimmed, lower case.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl WebApplication {
    /// An exchange record's source: the record whose token it exchanges.
    pub fn exchange_source_id(&self) -> Option<WebApplicationId> {
        self.exchange_source.map(WebApplicationId::new)
    }

    pub fn client_secret_is_set(&self) -> bool {
        self.client_secret_sealed.is_some()
    }

    /// The client secret in plain text, for the token request only.
    pub fn client_secret(&self, ring: &KeyRing) -> Result<Option<Secret>> {
        self.client_secret_sealed
            .as_deref()
            .map(|sealed| ring.open_secret(sealed, &client_secret_aad(self.id)))
            .transpose()
            .map_err(StoreError::from)
    }

    pub fn authorization_params(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.authorization_params).unwrap_or_default()
    }

    /// Per authorization parameter, the values Get authorization code offers.
    /// Requests a second the provider allows the application, when it limits them.
    pub fn rate_limit(&self) -> Option<u32> {
        self.rate_limit.and_then(|n| u32::try_from(n).ok())
    }

    pub fn parameter_choices(&self) -> BTreeMap<String, Vec<String>> {
        serde_json::from_str(&self.parameter_choices).unwrap_or_default()
    }

    /// The identifiers a user gives when connecting (names this build does not know are
    /// skipped: the import refuses them, so only a newer emsg could have written one).
    pub fn captures(&self) -> Vec<Capture> {
        serde_json::from_str::<Vec<String>>(&self.captures)
            .unwrap_or_default()
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect()
    }

    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
            .parse()
            .unwrap_or(ClientAuth::ClientSecretPost)
    }

    pub fn code_lifetime(&self) -> Lifetime {
        lifetime(self.code_lifetime_secs).unwrap_or(Lifetime::TEN_MINUTES)
    }

    pub fn authorization_lifetime(&self) -> Option<Lifetime> {
        self.authorization_lifetime_secs.and_then(lifetime)
    }

    pub fn is_exchange(&self) -> bool {
        self.exchange_url.is_some()
    }

    /// The record as the file would say it: secrets only as their environment reference.
    pub fn to_spec(&self, names_by_id: &HashMap<WebApplicationId, String>) -> WebApplicationSpec {
        WebApplicationSpec {
            name: self.name.clone(),
            description: self.description.clone(),
            base_url: self.base_url.clone(),
            authorization_url: self.authorization_url.clone(),
            token_url: self.token_url.clone(),
            revocation_url: self.revocation_url.clone(),
            redirect_url: self.redirect_url.clone(),
            client_id: match (&self.client_id_env, &self.client_id) {
                (Some(var), _) => ValueSource::Env { var: var.clone() },
                (None, Some(value)) => ValueSource::Inline(value.clone()),
                (None, None) => ValueSource::Unset,
            },
            client_secret: match &self.client_secret_env {
                Some(var) => SecretSource::Env { var: var.clone() },
                None => SecretSource::Unset,
            },
            scope: self.scope.clone(),
            authorization_params: self.authorization_params(),
            parameter_choices: self.parameter_choices(),
            rate_limit: self.rate_limit(),
            client_auth: self.client_auth(),
            pkce: self.pkce,
            accept: self.accept.clone(),
            content_type: self.content_type.clone(),
            code_lifetime: self.code_lifetime(),
            authorization_lifetime: self.authorization_lifetime(),
            user_specific: self.user_specific,
            obtain_token_on_callback: self.obtain_token_on_callback,
            captures: self.captures(),
            issuer: self.issuer.clone(),
            exchange: match (self.exchange_source_id(), &self.exchange_url) {
                (Some(source), Some(url)) => Some(Exchange {
                    source: names_by_id.get(&source).cloned().unwrap_or_default(),
                    url: url.clone(),
                }),
                _ => None,
            },
        }
    }
}

fn lifetime(secs: i64) -> Option<Lifetime> {
    u64::try_from(secs).ok().and_then(Lifetime::from_secs)
}

fn secs(lifetime: Lifetime) -> i64 {
    i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)
}

/// All records, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<WebApplication>> {
    Ok(web_applications::table
        .select(WebApplication::as_select())
        .order(web_applications::name_key)
        .load(conn)?)
}

/// Every record's id and name, by name: what the audit log shows and filters by, without the
/// records' other columns.
pub fn ids_and_names(conn: &mut DbConnection) -> Result<Vec<(WebApplicationId, String)>> {
    Ok(web_applications::table
        .select((web_applications::id, web_applications::name))
        .order(web_applications::name_key)
        .load(conn)?)
}

diesel::alias!(web_applications as every_record: EveryRecord);

/// One page of record names (by name), optionally only those whose name contains `filter`
/// (ignoring case), and how many names match in all. Reads the names only: no secrets, no other
/// columns, so the list on the page costs the same with 10 records or 10,000.
pub fn names_page(
    conn: &mut DbConnection,
    filter: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<String>, i64)> {
    let pattern = filter
        .map(name_key)
        .filter(|f| !f.is_empty())
        .map(|f| format!("%{}%", escape_like(&f)));
    let (names, total) = match &pattern {
        Some(pattern) => {
            let matching = || {
                web_applications::table.filter(
                    web_applications::name_key
                        .like(pattern.clone())
                        .escape('\\'),
                )
            };
            (
                matching()
                    .select(web_applications::name)
                    .order(web_applications::name_key)
                    .offset(offset)
                    .limit(limit)
                    .load(conn)?,
                matching().count().get_result(conn)?,
            )
        }
        // SQLite re-prepares a statement whose LIMIT or OFFSET is a bound parameter on every
        // run; the unfiltered list (every page view) steps a cursor instead: the statement is
        // cached, and SQLite reads only the rows up to the end of the page.
        None if matches!(conn, DbConnection::Sqlite(_)) => {
            let skip = usize::try_from(offset).unwrap_or(0);
            let take = usize::try_from(limit).unwrap_or(0);
            let names = web_applications::table
                .select(web_applications::name)
                .order(web_applications::name_key)
                .load_iter::<String, diesel::connection::DefaultLoadingMode>(conn)?
                .skip(skip)
                .take(take)
                .collect::<std::result::Result<Vec<_>, _>>()?;
            (names, web_applications::table.count().get_result(conn)?)
        }
        // Elsewhere the page and the count in one statement: the count is a subquery the
        // database runs once, the page reads only its own rows.
        None => {
            let rows: Vec<(String, Option<i64>)> = web_applications::table
                .select((web_applications::name, every_record.count().single_value()))
                .order(web_applications::name_key)
                .offset(offset)
                .limit(limit)
                .load(conn)?;
            let total = match rows.first() {
                Some((_, total)) => total.unwrap_or(0),
                None => web_applications::table.count().get_result(conn)?,
            };
            (rows.into_iter().map(|(name, _)| name).collect(), total)
        }
    };
    Ok((names, total))
}

/// The row of `generations` counting changes of the record names (a record added or renamed).
pub const NAMES_GENERATION: &str = "web_application_names";

/// Marks the record names as changed, in the caller's transaction: from its commit on, every
/// node sees a new [`names_generation`] and reads the names again. Called by whatever adds or
/// renames records (the import, a record's edit).
pub fn names_changed(conn: &mut DbConnection) -> Result<()> {
    use crate::schema::generations;
    diesel::update(generations::table.find(NAMES_GENERATION))
        .set(generations::value.eq(generations::value + 1))
        .execute(conn)?;
    Ok(())
}

/// The current generation of the record names (see [`names_changed`]).
pub fn names_generation(conn: &mut DbConnection) -> Result<i64> {
    use crate::schema::generations;
    Ok(generations::table
        .find(NAMES_GENERATION)
        .select(generations::value)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// `%`, `_` and `\` taken literally in a LIKE pattern with `ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The name of the record with this id (an exchange record's source), if it exists.
pub fn name_of(conn: &mut DbConnection, id: WebApplicationId) -> Result<Option<String>> {
    Ok(web_applications::table
        .find(id)
        .select(web_applications::name)
        .get_result(conn)
        .optional()?)
}

/// The record with this name (ignoring case and surrounding spaces).
///
/// Lookups by a unique key here and in the other tables use `get_result`, not `first`: `first`
/// adds `LIMIT ?`, and SQLite re-prepares a statement whose LIMIT is a bound parameter on every
/// run (it may plan differently for another limit), which cost the pages a sixth of their CPU.
pub fn find(conn: &mut DbConnection, name: &str) -> Result<Option<WebApplication>> {
    Ok(web_applications::table
        .filter(web_applications::name_key.eq(name_key(name)))
        .select(WebApplication::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConnection, name: &str) -> Result<WebApplication> {
    find(conn, name)?.ok_or_else(|| StoreError::UnknownWebApplication(name.to_owned()))
}

pub fn by_id(conn: &mut DbConnection, id: WebApplicationId) -> Result<Option<WebApplication>> {
    Ok(web_applications::table
        .find(id)
        .select(WebApplication::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn names_by_id(records: &[WebApplication]) -> HashMap<WebApplicationId, String> {
    records.iter().map(|r| (r.id, r.name.clone())).collect()
}

/// The columns a spec sets (everything but the id, the secret and the exchange source).
pub(crate) fn write_spec(
    conn: &mut DbConnection,
    id: Option<WebApplicationId>,
    spec: &WebApplicationSpec,
    client_id: Option<&str>,
    now: i64,
) -> Result<WebApplicationId> {
    use web_applications as w;
    let json =
        |value: serde_json::Result<String>| value.map_err(|e| StoreError::Invalid(e.to_string()));
    let params = json(serde_json::to_string(&spec.authorization_params))?;
    let choices = json(serde_json::to_string(&spec.parameter_choices))?;
    let captures: Vec<&str> = spec.captures.iter().map(|c| c.as_str()).collect();
    let captures = json(serde_json::to_string(&captures))?;
    let client_id_env = match &spec.client_id {
        ValueSource::Env { var } => Some(var.as_str()),
        _ => None,
    };
    let client_secret_env = match &spec.client_secret {
        SecretSource::Env { var } => Some(var.as_str()),
        _ => None,
    };
    let values = (
        w::name.eq(&spec.name),
        w::name_key.eq(name_key(&spec.name)),
        w::description.eq(&spec.description),
        w::base_url.eq(&spec.base_url),
        w::authorization_url.eq(&spec.authorization_url),
        w::token_url.eq(&spec.token_url),
        w::revocation_url.eq(&spec.revocation_url),
        w::redirect_url.eq(&spec.redirect_url),
        w::client_id.eq(client_id),
        w::client_id_env.eq(client_id_env),
        w::client_secret_env.eq(client_secret_env),
        w::scope.eq(&spec.scope),
        w::authorization_params.eq(params),
        w::client_auth.eq(spec.client_auth.as_str()),
        w::pkce.eq(spec.pkce),
        w::accept.eq(&spec.accept),
    );
    let more = (
        w::content_type.eq(&spec.content_type),
        w::code_lifetime_secs.eq(secs(spec.code_lifetime)),
        w::authorization_lifetime_secs.eq(spec.authorization_lifetime.map(secs)),
        w::user_specific.eq(spec.user_specific),
        w::obtain_token_on_callback.eq(spec.obtain_token_on_callback),
        w::captures.eq(captures),
        w::parameter_choices.eq(choices),
        w::rate_limit.eq(spec.rate_limit.and_then(|n| i32::try_from(n).ok())),
        w::issuer.eq(&spec.issuer),
        w::exchange_url.eq(spec.exchange.as_ref().map(|e| e.url.as_str())),
        w::updated_at.eq(now),
    );
    match id {
        Some(id) => {
            diesel::update(w::table.find(id))
                .set((values, more))
                .execute(conn)?;
            Ok(id)
        }
        None => Ok(diesel::insert_into(w::table)
            .values((values, more, w::created_at.eq(now)))
            .returning(w::id)
            .get_result(conn)?),
    }
}

pub(crate) fn set_exchange_source(
    conn: &mut DbConnection,
    id: WebApplicationId,
    source: Option<WebApplicationId>,
) -> Result<()> {
    diesel::update(web_applications::table.find(id))
        .set(web_applications::exchange_source_id.eq(source))
        .execute(conn)?;
    Ok(())
}

/// Clears the sealed client secret of record `id` (`None`), without a key ring.
pub(crate) fn set_client_secret_sealed(
    conn: &mut DbConnection,
    id: WebApplicationId,
    sealed: Option<Vec<u8>>,
) -> Result<()> {
    diesel::update(web_applications::table.find(id))
        .set(web_applications::client_secret_sealed.eq(sealed))
        .execute(conn)?;
    Ok(())
}

/// An administrator's client secret for record `id`: sealed and stored with its audit entry
/// (`set-client-secret`, with `detail`), in one transaction.
pub fn set_client_secret(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: WebApplicationId,
    secret: &Secret,
    actor: &Actor,
    detail: &str,
) -> Result<()> {
    audit::with_entry(
        conn,
        |conn| seal_client_secret(conn, ring, id, Some(secret)),
        |()| {
            NewAuditEntry::ok(actor.clone(), AuditAction::SetClientSecret, detail)
                .on_web_application(id)
        },
    )
}

/// Seals and stores the client secret of record `id` (or clears it with `None`), without an
/// audit entry: for an import or an edit, whose transaction writes the entry of the whole change.
pub fn seal_client_secret(
    conn: &mut DbConnection,
    ring: &KeyRing,
    id: WebApplicationId,
    secret: Option<&Secret>,
) -> Result<()> {
    let sealed = secret.map(|s| ring.seal_secret(s, &client_secret_aad(id)));
    diesel::update(web_applications::table.find(id))
        .set(web_applications::client_secret_sealed.eq(sealed))
        .execute(conn)?;
    Ok(())
}
