//! Processings as stored: the processing as web-apps.yaml wrote it (JSON), read back with the
//! file's own reader, replaced as a whole by each import.

use diesel::prelude::*;
use emsg_webapps::ProcessingSpec;

use crate::db::DbConnection;
use crate::error::{Result, StoreError};
use crate::schema::processings;
use crate::web_applications::name_key;

/// One stored processing.
#[derive(Debug, Clone, PartialEq)]
pub struct Processing {
    pub name: String,
    pub spec: ProcessingSpec,
}

/// Reads a processing from its stored JSON (also a message's copy of it).
pub fn read_spec(name: &str, written: &str) -> Result<ProcessingSpec> {
    let mut spec: ProcessingSpec = serde_json::from_str(written).map_err(|e| {
        StoreError::Invalid(format!(
            "the stored processing `{name}` cannot be read ({e}); import web-apps.yaml again"
        ))
    })?;
    spec.written = written.to_owned();
    Ok(spec)
}

/// Every processing, by name.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Processing>> {
    let rows: Vec<(String, String)> = processings::table
        .order(processings::name_key)
        .select((processings::name, processings::spec))
        .load(conn)?;
    rows.into_iter()
        .map(|(name, spec)| {
            Ok(Processing {
                spec: read_spec(&name, &spec)?,
                name,
            })
        })
        .collect()
}

/// The processing named `name` (case ignored).
pub fn get(conn: &mut DbConnection, name: &str) -> Result<Option<Processing>> {
    let row: Option<(String, String)> = processings::table
        .filter(processings::name_key.eq(name_key(name)))
        .select((processings::name, processings::spec))
        .first(conn)
        .optional()?;
    row.map(|(name, spec)| {
        Ok(Processing {
            spec: read_spec(&name, &spec)?,
            name,
        })
    })
    .transpose()
}

/// What an import does to one processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Added,
    Changed,
    Unchanged,
}

/// What an import would do: each processing of the file, and the stored ones it removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub outcomes: Vec<Written>,
    pub removed: Vec<String>,
}

/// Whether two written processings say the same (key order aside: an export writes keys in
/// another order than the file had them).
fn same(stored: &str, file: &str) -> bool {
    let read = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    stored == file || read(stored).is_some_and(|value| Some(value) == read(file))
}

/// Compares the file's processings with the stored ones; writes nothing.
pub fn plan(conn: &mut DbConnection, specs: &[ProcessingSpec]) -> Result<Plan> {
    let stored: Vec<(String, String, String)> = processings::table
        .select((processings::name, processings::name_key, processings::spec))
        .load(conn)?;
    let keys: Vec<String> = specs.iter().map(|s| name_key(&s.name)).collect();
    let removed = stored
        .iter()
        .filter(|(_, key, _)| !keys.contains(key))
        .map(|(name, _, _)| name.clone())
        .collect();
    let outcomes = specs
        .iter()
        .zip(&keys)
        .map(
            |(spec, key)| match stored.iter().find(|(_, k, _)| k == key) {
                None => Written::Added,
                Some((name, _, written)) if same(written, &spec.written) && *name == spec.name => {
                    Written::Unchanged
                }
                Some(_) => Written::Changed,
            },
        )
        .collect();
    Ok(Plan { outcomes, removed })
}

/// Makes the stored processings those of the file, as `plan` said. Messages under way keep
/// their own copy, so a change never alters a filing that has started. Runs inside the
/// import's transaction.
pub fn write(
    conn: &mut DbConnection,
    specs: &[ProcessingSpec],
    plan: &Plan,
    now: i64,
) -> Result<()> {
    let scheduled: Vec<(String, i64)> = specs
        .iter()
        .filter_map(|spec| {
            let every = spec.schedule.as_ref()?.every();
            Some((
                name_key(&spec.name),
                i64::try_from(every.as_millis()).unwrap_or(i64::MAX),
            ))
        })
        .collect();
    crate::schedules::sync(conn, &scheduled, now.saturating_mul(1000))?;
    for name in &plan.removed {
        diesel::delete(processings::table.filter(processings::name_key.eq(name_key(name))))
            .execute(conn)?;
    }
    for (spec, outcome) in specs.iter().zip(&plan.outcomes) {
        let key = name_key(&spec.name);
        match outcome {
            Written::Unchanged => {}
            Written::Added => {
                diesel::insert_into(processings::table)
                    .values((
                        processings::name.eq(&spec.name),
                        processings::name_key.eq(&key),
                        processings::spec.eq(&spec.written),
                        processings::created_at.eq(now),
                        processings::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            Written::Changed => {
                diesel::update(processings::table.filter(processings::name_key.eq(&key)))
                    .set((
                        processings::name.eq(&spec.name),
                        processings::spec.eq(&spec.written),
                        processings::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}
