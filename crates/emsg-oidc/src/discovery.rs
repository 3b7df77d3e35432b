//! The issuer's OpenID Provider metadata (OpenID Connect Discovery 1.0), read from
//! `{issuer}/.well-known/openid-configuration`.

use serde::Deserialize;

use crate::error::{IdTokenError, echo};
use crate::fetch;

/// The parts of the discovery document emsg uses; other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// RFC 9207: the provider names itself (`iss`) in every authorization response, so an
    /// answer without `iss` did not come from it.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Fetches and checks the discovery document of `issuer`.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    destination: &(dyn Fn(&str) -> Result<(), String> + Send + Sync),
    issuer: &str,
) -> Result<Discovery, IdTokenError> {
    let error = |reason: String| IdTokenError::Discovery {
        issuer: issuer.to_owned(),
        reason,
    };
    let url = fetch::checked_url(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
    .map_err(error)?;
    destination(url.as_str()).map_err(error)?;
    let body = fetch::get_json(client, &url).await.map_err(error)?;
    let discovery: Discovery = serde_json::from_slice(&body).map_err(|e| {
        error(format!(
            "GET {url} did not answer a discovery document: {e}"
        ))
    })?;
    // OpenID Connect Discovery 1.0 section 4.3: anything else lets one issuer impersonate
    // another.
    if discovery.issuer != issuer {
        return Err(error(format!(
            "the document names issuer {:?}, not the requested one",
            echo(&discovery.issuer)
        )));
    }
    fetch::checked_url(&discovery.jwks_uri)
        .map_err(|reason| error(format!("its jwks_uri is unusable: {reason}")))?;
    Ok(discovery)
}
