//! Web services as stored: the spec from web-apps.yaml (as JSON) and its body template's text.

use std::collections::HashMap;

use diesel::prelude::*;
use emsg_webapps::WebServiceSpec;

use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::ids::WebApplicationId;
use crate::schema::web_services;
use crate::web_applications::name_key;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = web_services)]
struct Row {
    id: i64,
    name: String,
    name_key: String,
    web_application_id: WebApplicationId,
    spec: String,
    body: Option<String>,
    updated_at: i64,
}

/// One stored web service.
#[derive(Debug, Clone, PartialEq)]
pub struct WebService {
    pub id: i64,
    pub name: String,
    pub name_key: String,
    pub web_application_id: WebApplicationId,
    /// The spec with its body template's text in `body`.
    pub spec: WebServiceSpec,
    pub updated_at: i64,
}

impl TryFrom<Row> for WebService {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self> {
        let mut spec: WebServiceSpec = serde_json::from_str(&row.spec).map_err(|e| {
            StoreError::Invalid(format!(
                "the stored web service `{}` cannot be read ({e}); import web-apps.yaml again",
                row.name
            ))
        })?;
        spec.body = row.body;
        Ok(Self {
            id: row.id,
            name: row.name,
            name_key: row.name_key,
            web_application_id: row.web_application_id,
            spec,
            updated_at: row.updated_at,
        })
    }
}

/// All web services, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<WebService>> {
    web_services::table
        .select(Row::as_select())
        .order(web_services::name_key)
        .load(conn)?
        .into_iter()
        .map(WebService::try_from)
        .collect()
}

/// The names of all web services, by name: what a list's filter offers, without reading and
/// parsing every service's specification.
pub fn names(conn: &mut DbConnection) -> Result<Vec<String>> {
    Ok(web_services::table
        .select(web_services::name)
        .order(web_services::name_key)
        .load(conn)?)
}

pub fn find(conn: &mut DbConnection, name: &str) -> Result<Option<WebService>> {
    web_services::table
        .filter(web_services::name_key.eq(name_key(name)))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(WebService::try_from)
        .transpose()
}

pub fn get(conn: &mut DbConnection, name: &str) -> Result<WebService> {
    find(conn, name)?.ok_or_else(|| StoreError::UnknownWebService(name.to_owned()))
}

/// The spec as stored (without the body, which has its own column).
pub(crate) fn spec_json(spec: &WebServiceSpec) -> Result<String> {
    serde_json::to_string(spec)
        .map_err(|e| StoreError::Invalid(format!("web service `{}`: {e}", spec.name)))
}

/// Inserts or updates the service `spec` for the web application `web_application_id`.
pub(crate) fn write_spec(
    conn: &mut DbConnection,
    existing: Option<i64>,
    spec: &WebServiceSpec,
    web_application_id: WebApplicationId,
    now: i64,
) -> Result<i64> {
    let json = spec_json(spec)?;
    match existing {
        Some(id) => {
            diesel::update(web_services::table.find(id))
                .set((
                    web_services::name.eq(&spec.name),
                    web_services::web_application_id.eq(web_application_id),
                    web_services::spec.eq(&json),
                    web_services::body.eq(&spec.body),
                    web_services::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(id)
        }
        None => Ok(diesel::insert_into(web_services::table)
            .values((
                web_services::name.eq(&spec.name),
                web_services::name_key.eq(name_key(&spec.name)),
                web_services::web_application_id.eq(web_application_id),
                web_services::spec.eq(&json),
                web_services::body.eq(&spec.body),
                web_services::created_at.eq(now),
                web_services::updated_at.eq(now),
            ))
            .returning(web_services::id)
            .get_result(conn)?),
    }
}

/// The keys of the file whose values differ between `stored` and `new`, body included.
pub(crate) fn changed_fields(stored: &WebServiceSpec, new: &WebServiceSpec) -> Vec<String> {
    let as_map = |spec: &WebServiceSpec| -> HashMap<String, serde_json::Value> {
        match serde_json::to_value(spec) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => HashMap::new(),
        }
    };
    let (old, new_map) = (as_map(stored), as_map(new));
    let mut keys: Vec<String> = new_map
        .iter()
        .filter(|(key, value)| old.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .collect();
    if stored.body != new.body && !keys.iter().any(|k| k == "body_template") {
        keys.push("body_template".to_owned());
    }
    keys.sort();
    keys
}
