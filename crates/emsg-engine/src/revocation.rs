//! RFC 7009 token revocation, sent with the record's client authentication.
//!
//! Written here rather than through the `oauth2` crate, which refuses plain-http revocation
//! URLs even on loopback, where the interoperability tests run their provider.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use emsg_seal::Secret;
use emsg_webapps::ClientAuth;
use url::form_urlencoded;

use crate::error::{ProviderFailure, ProviderFailureKind};
use crate::http::HttpFailure;
use crate::oauth::Credentials;

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub async fn revoke(
    http: &reqwest::Client,
    rules: emsg_webapps::UrlRules,
    url: &str,
    client_auth: ClientAuth,
    credentials: &Credentials,
    refresh_token: &Secret,
) -> Result<(), ProviderFailure> {
    rules
        .check_destination(url)
        .map_err(|message| ProviderFailure {
            kind: ProviderFailureKind::Rejected,
            code: Some("destination_refused".to_owned()),
            message,
        })?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", refresh_token.expose())
        .append_pair("token_type_hint", "refresh_token");
    let mut request = http.post(url).header(
        reqwest::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded",
    );
    match client_auth {
        ClientAuth::ClientSecretPost => {
            form.append_pair("client_id", &credentials.client_id)
                .append_pair("client_secret", credentials.client_secret.expose());
        }
        ClientAuth::ClientSecretBasic => {
            // RFC 6749 §2.3.1: both parts form-encoded before base64.
            let pair = format!(
                "{}:{}",
                encode(&credentials.client_id),
                encode(credentials.client_secret.expose())
            );
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode(pair)),
            );
        }
    }
    let transient = |message: String| ProviderFailure {
        kind: ProviderFailureKind::Transient,
        code: None,
        message,
    };
    let response = request
        .body(form.finish())
        .send()
        .await
        .map_err(|e| transient(HttpFailure::from_reqwest(&e).to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_server_error() {
        return Err(transient(
            HttpFailure::ServerError(status.as_u16()).to_string(),
        ));
    }
    let bytes = response.bytes().await.unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let text = |key: &str| {
        body.get(key)
            .and_then(serde_json::Value::as_str)
            .map(|v| v.chars().take(200).collect::<String>())
    };
    Err(ProviderFailure {
        kind: ProviderFailureKind::Rejected,
        code: text("error"),
        message: text("error_description").unwrap_or_else(|| {
            format!("the revocation endpoint answered HTTP {}", status.as_u16())
        }),
    })
}
