//! The records of `web-apps.yaml` as Rust values.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::error::ImportError;
use crate::lifetime::Lifetime;
use crate::service::WebServiceSpec;
use crate::source::{SecretSource, ValueSource};

/// One web application as written in the file.
///
/// Exchange-type records (`exchange` is `Some`) get their token from the source record, so the
/// OAuth fields of such a record always hold their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct WebApplicationSpec {
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub revocation_url: Option<String>,
    pub redirect_url: Option<String>,
    pub client_id: ValueSource,
    pub client_secret: SecretSource,
    pub scope: String,
    pub authorization_params: BTreeMap<String, String>,
    pub client_auth: ClientAuth,
    pub pkce: bool,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub code_lifetime: Lifetime,
    pub authorization_lifetime: Option<Lifetime>,
    pub user_specific: bool,
    pub obtain_token_on_callback: bool,
    pub issuer: Option<String>,
    pub exchange: Option<Exchange>,
}

impl WebApplicationSpec {
    pub fn is_exchange(&self) -> bool {
        self.exchange.is_some()
    }
}

/// How an exchange-type record gets its token: by presenting the source record's access token
/// at `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The name of the OAuth record in the same file whose token is exchanged.
    pub source: String,
    pub url: String,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClientAuth {
    /// Client ID and secret in the form body of the token request.
    #[default]
    ClientSecretPost,
    /// Client ID and secret in an HTTP Basic `Authorization` header.
    ClientSecretBasic,
}

impl ClientAuth {
    pub const ALL: [ClientAuth; 2] = [ClientAuth::ClientSecretPost, ClientAuth::ClientSecretBasic];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::ClientSecretBasic => "client_secret_basic",
        }
    }
}

impl fmt::Display for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a client authentication method; write `client_secret_post` or `client_secret_basic`"
)]
pub struct UnknownClientAuth(pub String);

impl FromStr for ClientAuth {
    type Err = UnknownClientAuth;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ClientAuth::ALL
            .into_iter()
            .find(|auth| auth.as_str() == text)
            .ok_or_else(|| UnknownClientAuth(text.to_owned()))
    }
}

/// A successfully parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    pub applications: Vec<WebApplicationSpec>,
    /// The line where each record starts, in the same order, for messages.
    pub lines: Vec<u32>,
    pub services: Vec<WebServiceSpec>,
    /// The line where each web service starts.
    pub service_lines: Vec<u32>,
    /// The file's name as given to the parser, for messages about it after parsing.
    pub file: String,
    /// Where the fields checked after parsing (URLs, `{env: …}` references) are, by field path
    /// (`web_applications[2].token_url`): line and column.
    pub places: HashMap<String, (u32, u32)>,
}

impl ParsedFile {
    /// An error about the field at `path` (`web_applications[2].token_url`), located in the
    /// file when the parser saw it there, else at the start of the record or web service.
    pub fn error_at(&self, path: &str, message: impl Into<String>) -> ImportError {
        let (line, column) = self.places.get(path).copied().unwrap_or_else(|| {
            let start = |prefix: &str, lines: &[u32]| {
                path.strip_prefix(prefix)
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|index| index.parse::<usize>().ok())
                    .and_then(|index| lines.get(index).copied())
            };
            let line = start("web_applications[", &self.lines)
                .or_else(|| start("web_services[", &self.service_lines))
                .unwrap_or(1);
            (line, 1)
        });
        ImportError {
            file: self.file.clone(),
            line,
            column,
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// The fields of a record that name a host emsg sends requests to (with secrets or tokens),
/// by their key in the file: everything but `redirect_url`, where the browser returns.
pub const OUTBOUND_URL_KEYS: [&str; 6] = [
    "base_url",
    "authorization_url",
    "token_url",
    "revocation_url",
    "issuer",
    "exchange.url",
];

impl WebApplicationSpec {
    /// The outbound URLs of the record that are set, with their key ([`OUTBOUND_URL_KEYS`]).
    pub fn outbound_urls(&self) -> Vec<(&'static str, &str)> {
        let mut urls = vec![("base_url", self.base_url.as_str())];
        for (key, url) in [
            ("authorization_url", &self.authorization_url),
            ("token_url", &self.token_url),
            ("revocation_url", &self.revocation_url),
            ("issuer", &self.issuer),
        ] {
            if let Some(url) = url {
                urls.push((key, url.as_str()));
            }
        }
        if let Some(exchange) = &self.exchange {
            urls.push(("exchange.url", exchange.url.as_str()));
        }
        urls
    }
}

/// Every key of a record, in the order of the struct and of the export.
pub(crate) const KEYS: [&str; 21] = [
    "name",
    "description",
    "base_url",
    "authorization_url",
    "token_url",
    "revocation_url",
    "redirect_url",
    "client_id",
    "client_secret",
    "scope",
    "authorization_params",
    "client_auth",
    "pkce",
    "accept",
    "content_type",
    "code_lifetime",
    "authorization_lifetime",
    "user_specific",
    "obtain_token_on_callback",
    "issuer",
    "exchange",
];

/// Keys an exchange-type record must not have: its token comes from the source record.
pub(crate) const OAUTH_ONLY_KEYS: [&str; 11] = [
    "authorization_url",
    "token_url",
    "revocation_url",
    "redirect_url",
    "client_id",
    "client_secret",
    "pkce",
    "client_auth",
    "code_lifetime",
    "obtain_token_on_callback",
    "authorization_params",
];

/// Keys an OAuth record must have (besides `name` and `base_url`, which every record needs).
pub(crate) const OAUTH_REQUIRED_KEYS: [&str; 6] = [
    "authorization_url",
    "token_url",
    "redirect_url",
    "client_id",
    "client_secret",
    "scope",
];
