//! The `oauth2` crate's client, configured from a web-application record, and the reading of
//! its answers: tokens out, failures classified.

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RedirectUrl, RequestTokenError, StandardRevocableToken, StandardTokenResponse,
    TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};

use emsg_seal::Secret;
use emsg_store::connections::Tokens;
use emsg_store::web_applications::WebApplication;
use emsg_webapps::ClientAuth;

use crate::error::{EngineError, ProviderFailure, ProviderFailureKind};
use crate::http::HttpFailure;

/// The ID token, when the provider sends one (OpenID Connect).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

type Client<Auth, Revocation, Token> = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    Auth,
    EndpointNotSet,
    EndpointNotSet,
    Revocation,
    Token,
>;

pub type AuthorizeClient = Client<EndpointSet, EndpointNotSet, EndpointNotSet>;
pub type TokenClient = Client<EndpointNotSet, EndpointNotSet, EndpointSet>;

/// What an action needs of a record before it may talk to the provider.
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// The client ID and secret, or a message saying which is missing and how to set it.
pub fn credentials(
    record: &WebApplication,
    secret: Option<Secret>,
) -> Result<Credentials, EngineError> {
    let how = |field: &str, env: &Option<String>| match env {
        Some(var) => format!(
            "the {field} of {} is not set: set the environment variable {var} and run `emsg import` again, \
             or an administrator types it on the Web applications page",
            record.name
        ),
        None => format!(
            "the {field} of {} is not set: an administrator sets it on the Web applications page or in web-apps.yaml",
            record.name
        ),
    };
    let client_id = record
        .client_id
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| EngineError::NotConfigured(how("client ID", &record.client_id_env)))?;
    let client_secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| {
        EngineError::NotConfigured(how("client secret", &record.client_secret_env))
    })?;
    Ok(Credentials {
        client_id,
        client_secret,
    })
}

fn url_error(record: &WebApplication, field: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::NotConfigured(format!(
        "the {field} of {} is not usable ({error}); fix the record and import it again",
        record.name
    ))
}

fn required<'a>(
    record: &WebApplication,
    field: &str,
    value: &'a Option<String>,
) -> Result<&'a str, EngineError> {
    value.as_deref().ok_or_else(|| {
        EngineError::WrongKind(format!(
            "{} has no {field}: it is an exchange-type record",
            record.name
        ))
    })
}

fn redirect(record: &WebApplication) -> Result<RedirectUrl, EngineError> {
    // Used exactly as recorded: the provider compares it character for character.
    RedirectUrl::new(required(record, "redirect URL", &record.redirect_url)?.to_owned())
        .map_err(|e| url_error(record, "redirect URL", e))
}

pub fn auth_type(record: &WebApplication) -> AuthType {
    match record.client_auth() {
        ClientAuth::ClientSecretBasic => AuthType::BasicAuth,
        ClientAuth::ClientSecretPost => AuthType::RequestBody,
    }
}

pub fn authorize_client(
    record: &WebApplication,
    client_id: &str,
) -> Result<AuthorizeClient, EngineError> {
    let auth =
        AuthUrl::new(required(record, "authorization URL", &record.authorization_url)?.to_owned())
            .map_err(|e| url_error(record, "authorization URL", e))?;
    Ok(oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(auth)
        .set_redirect_uri(redirect(record)?))
}

pub fn token_client(
    record: &WebApplication,
    credentials: &Credentials,
) -> Result<TokenClient, EngineError> {
    let token = TokenUrl::new(required(record, "token URL", &record.token_url)?.to_owned())
        .map_err(|e| url_error(record, "token URL", e))?;
    Ok(
        oauth2::Client::new(ClientId::new(credentials.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                credentials.client_secret.expose().to_owned(),
            ))
            .set_auth_type(auth_type(record))
            .set_token_uri(token)
            .set_redirect_uri(redirect(record)?),
    )
}

/// The tokens of a successful answer; refuses token types other than Bearer.
pub fn tokens(response: &TokenResponse, now: i64) -> Result<Tokens, ProviderFailure> {
    if response.access_token().secret().is_empty() {
        return Err(ProviderFailure {
            kind: ProviderFailureKind::Transient,
            code: None,
            message: "the provider's answer carries an empty access token".to_owned(),
        });
    }
    let token_type = match response.token_type() {
        BasicTokenType::Bearer => "Bearer".to_owned(),
        BasicTokenType::Extension(other) if other.eq_ignore_ascii_case("bearer") => {
            "Bearer".to_owned()
        }
        other => {
            return Err(ProviderFailure {
                kind: ProviderFailureKind::Rejected,
                code: Some("unsupported_token_type".to_owned()),
                message: format!(
                    "the provider issued a token of type `{}`; emsg sends Bearer tokens only",
                    token_type_name(other)
                ),
            });
        }
    };
    Ok(Tokens {
        access_token: Secret::new(response.access_token().secret().clone()),
        // An empty refresh token is no refresh token: the stored one is kept.
        refresh_token: response
            .refresh_token()
            .filter(|t| !t.secret().is_empty())
            .map(|t| Secret::new(t.secret().clone())),
        token_type,
        granted_scope: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        access_expires_at: response
            .expires_in()
            .map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
    })
}

fn token_type_name(kind: &BasicTokenType) -> String {
    match kind {
        BasicTokenType::Bearer => "bearer".to_owned(),
        BasicTokenType::Mac => "mac".to_owned(),
        BasicTokenType::Extension(other) => other.chars().take(40).collect(),
    }
}

/// Sorts a failed token or revocation request into dead grant / rejected / transient.
pub fn classify<T>(error: &RequestTokenError<HttpFailure, T>) -> ProviderFailure
where
    T: oauth2::ErrorResponse + ErrorParts + 'static,
{
    match error {
        RequestTokenError::ServerResponse(response) => {
            let (code, description) = response.parts();
            let kind = match code.as_str() {
                "invalid_grant" => ProviderFailureKind::Dead,
                // HMRC's answer to a second refresh while the first runs: wait, then look again.
                "invalid_request"
                    if description.as_deref().is_some_and(|d| {
                        d.to_ascii_lowercase().contains("already in progress")
                    }) =>
                {
                    ProviderFailureKind::Transient
                }
                "temporarily_unavailable" | "server_error" => ProviderFailureKind::Transient,
                _ => ProviderFailureKind::Rejected,
            };
            let message = description
                .map(|d| d.chars().take(300).collect())
                .unwrap_or_else(|| "no description given".to_owned());
            ProviderFailure {
                kind,
                code: Some(code),
                message,
            }
        }
        // A destination the outbound rules refuse is a setup problem: retrying cannot help.
        RequestTokenError::Request(failure @ HttpFailure::Refused(_)) => ProviderFailure {
            kind: ProviderFailureKind::Rejected,
            code: Some("destination_refused".to_owned()),
            message: failure.to_string(),
        },
        RequestTokenError::Request(failure) => ProviderFailure {
            kind: ProviderFailureKind::Transient,
            code: None,
            message: failure.to_string(),
        },
        // The body is never shown: a malformed answer may still contain a token.
        RequestTokenError::Parse(parse, _) => ProviderFailure {
            kind: ProviderFailureKind::Transient,
            code: None,
            message: format!(
                "the provider's answer could not be read (at `{}`)",
                parse.path()
            ),
        },
        RequestTokenError::Other(other) => ProviderFailure {
            kind: ProviderFailureKind::Transient,
            code: None,
            message: other.chars().take(200).collect(),
        },
    }
}

/// The error code and description of an OAuth error answer.
pub trait ErrorParts {
    fn parts(&self) -> (String, Option<String>);
}

impl ErrorParts for BasicErrorResponse {
    fn parts(&self) -> (String, Option<String>) {
        let code = match self.error() {
            BasicErrorResponseType::InvalidClient => "invalid_client".to_owned(),
            BasicErrorResponseType::InvalidGrant => "invalid_grant".to_owned(),
            BasicErrorResponseType::InvalidRequest => "invalid_request".to_owned(),
            BasicErrorResponseType::InvalidScope => "invalid_scope".to_owned(),
            BasicErrorResponseType::UnauthorizedClient => "unauthorized_client".to_owned(),
            BasicErrorResponseType::UnsupportedGrantType => "unsupported_grant_type".to_owned(),
            BasicErrorResponseType::Extension(other) => other.chars().take(60).collect(),
        };
        (code, self.error_description().cloned())
    }
}
