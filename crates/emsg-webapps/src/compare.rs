//! Which fields of a record differ between two versions, for import previews and the audit log.

use crate::keys::KEYS;
use crate::model::WebApplicationSpec;

/// The keys whose values differ between `old` and `new`, in the order of the format.
///
/// `client_secret` counts as changed only when its kind (unset, inline, environment) or its
/// environment variable changes: two inline secrets are never compared (their values are
/// [`crate::FieldValue::Hidden`]), so the result cannot reveal anything about their values.
pub fn changed_fields(old: &WebApplicationSpec, new: &WebApplicationSpec) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|key| key.value(old) != key.value(new))
        .map(|key| key.name)
        .collect()
}
