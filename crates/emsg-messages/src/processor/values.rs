//! A message's values (its fields and what its steps extracted) and reading an answer for them:
//! extraction, a verdict, a condition.

use std::collections::BTreeMap;

use emsg_processing::Source;
use emsg_processing::{Judgement, Response, extract};
use emsg_webapps::{Call, Condition};

use crate::send::Answer;

/// Name → text, fields and extracted values together (extracted names never repeat a field:
/// the import refuses that).
pub(crate) type Known = BTreeMap<String, String>;

pub(crate) fn known(fields: &str, extracted: &str) -> Result<Known, String> {
    let mut known: Known = serde_json::from_str(fields)
        .map_err(|e| format!("the message's fields cannot be read: {e}"))?;
    let more: Known = serde_json::from_str(extracted)
        .map_err(|e| format!("the message's extracted values cannot be read: {e}"))?;
    known.extend(more);
    Ok(known)
}

pub(crate) fn response(answer: &Answer) -> Response<'_> {
    Response {
        status: answer.status,
        headers: &answer.headers,
        body: &answer.body,
    }
}

/// Reads every value `extract` names out of the answer; the error names the first missing one.
pub(crate) fn read_all(
    extract_map: &BTreeMap<String, Source>,
    answer: &Answer,
) -> Result<Known, String> {
    let response = response(answer);
    extract_map
        .iter()
        .map(|(name, source)| {
            extract(source, &response)
                .map(|value| (name.clone(), value))
                .map_err(|e| format!("`{name}` could not be read: {e}"))
        })
        .collect()
}

/// [`read_all`], then each value the call splits replaced by its parts (both kept: the whole
/// for the history, the parts for the requests).
pub(crate) fn read_and_split(
    call: &Call,
    extract_map: &BTreeMap<String, Source>,
    answer: &Answer,
) -> Result<Known, String> {
    let mut read = read_all(extract_map, answer)?;
    for (name, split) in &call.split {
        if let Some(value) = read.get(name).cloned() {
            read.extend(split.apply(name, &value)?);
        }
    }
    Ok(read)
}

/// What the call's verdict says of the answer; `None` when it declares none.
pub(crate) fn judge(call: &Call, answer: &Answer) -> Option<Result<Judgement, String>> {
    let verdict = call.verdict.as_ref()?;
    Some(
        verdict
            .judge(&response(answer))
            .map_err(|e| format!("the verdict could not be read: {e}")),
    )
}

/// Whether the condition holds for the answer.
pub(crate) fn holds(condition: &Condition, answer: &Answer) -> bool {
    if condition
        .status
        .is_some_and(|status| status != answer.status)
    {
        return false;
    }
    match (&condition.from, &condition.equals) {
        (None, _) => true,
        (Some(source), None) => extract(source, &response(answer)).is_ok(),
        (Some(source), Some(wanted)) => {
            extract(source, &response(answer)).is_ok_and(|found| &found == wanted)
        }
    }
}

/// `a = 1, b = 2` for the history (values are identifiers and references, never secrets).
pub(crate) fn listed(values: &Known) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k} = {}", emsg_webapps::shorten(v, 80)))
        .collect::<Vec<_>>()
        .join(", ")
}
