//! Which fields of a record differ between two versions, for import previews and the audit log.

use crate::model::{KEYS, WebApplicationSpec};

/// The keys whose values differ between `old` and `new`, in the order of the format.
///
/// `client_secret` counts as changed only when its kind (unset, inline, environment) or its
/// environment variable changes: two inline secrets are never compared, so the result cannot
/// reveal anything about their values.
pub fn changed_fields(old: &WebApplicationSpec, new: &WebApplicationSpec) -> Vec<&'static str> {
    let differs = [
        old.name != new.name,
        old.description != new.description,
        old.base_url != new.base_url,
        old.authorization_url != new.authorization_url,
        old.token_url != new.token_url,
        old.revocation_url != new.revocation_url,
        old.redirect_url != new.redirect_url,
        old.client_id != new.client_id,
        old.client_secret.shape() != new.client_secret.shape(),
        old.scope != new.scope,
        old.authorization_params != new.authorization_params,
        old.client_auth != new.client_auth,
        old.pkce != new.pkce,
        old.accept != new.accept,
        old.content_type != new.content_type,
        old.code_lifetime != new.code_lifetime,
        old.authorization_lifetime != new.authorization_lifetime,
        old.user_specific != new.user_specific,
        old.obtain_token_on_callback != new.obtain_token_on_callback,
        old.issuer != new.issuer,
        old.exchange != new.exchange,
    ];
    KEYS.iter()
        .zip(differs)
        .filter(|(_, differs)| *differs)
        .map(|(key, _)| *key)
        .collect()
}
