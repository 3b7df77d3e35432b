//! The records of `web-apps.yaml` as Rust values.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

/// The key whose presence makes a record an exchange record.
pub const EXCHANGE: &str = "exchange";

use crate::error::ImportError;
use crate::lifetime::Lifetime;
use crate::processing::ProcessingSpec;
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
    /// Per authorization parameter, the values the Get authorization code dialog offers
    /// (`ui_locales: [nb, nn, en, se]`); the record's own value of it is preselected.
    pub parameter_choices: BTreeMap<String, Vec<String>>,
    pub client_auth: ClientAuth,
    pub pkce: bool,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub code_lifetime: Lifetime,
    pub authorization_lifetime: Option<Lifetime>,
    pub user_specific: bool,
    pub obtain_token_on_callback: bool,
    /// The identifiers a user gives when connecting, kept with the connection.
    pub captures: Vec<Capture>,
    /// Requests a second the provider allows the application (HMRC: 3), held across every
    /// node and shared by the records with the same token host and client ID.
    pub rate_limit: Option<u32>,
    pub issuer: Option<String>,
    pub exchange: Option<Exchange>,
}

impl WebApplicationSpec {
    pub fn is_exchange(&self) -> bool {
        self.exchange.is_some()
    }

    pub fn kind(&self) -> Kind {
        if self.is_exchange() {
            Kind::Exchange
        } else {
            Kind::OAuth
        }
    }
}

/// Every field at the value a file that leaves it out gets.
impl Default for WebApplicationSpec {
    fn default() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            base_url: String::new(),
            authorization_url: None,
            token_url: None,
            revocation_url: None,
            redirect_url: None,
            client_id: ValueSource::Unset,
            client_secret: SecretSource::Unset,
            scope: String::new(),
            authorization_params: BTreeMap::new(),
            parameter_choices: BTreeMap::new(),
            client_auth: ClientAuth::default(),
            pkce: true,
            accept: None,
            content_type: None,
            code_lifetime: Lifetime::TEN_MINUTES,
            authorization_lifetime: None,
            user_specific: false,
            obtain_token_on_callback: false,
            captures: Vec::new(),
            rate_limit: None,
            issuer: None,
            exchange: None,
        }
    }
}

/// The two kinds of record: OAuth records get their tokens from the provider, exchange records
/// by presenting another record's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    OAuth,
    Exchange,
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

    pub const fn as_str(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretPost => "client_secret_post",
            ClientAuth::ClientSecretBasic => "client_secret_basic",
        }
    }

    /// What the method does, in words for a choice on a page.
    pub const fn words(self) -> &'static str {
        match self {
            ClientAuth::ClientSecretPost => "client_secret_post (in the request body)",
            ClientAuth::ClientSecretBasic => "client_secret_basic (HTTP Basic header)",
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

/// An identifier a connection captures when a user connects: asked for on the page, checked,
/// and kept with the connection (the APIs behind the record identify the taxpayer by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capture {
    /// The UK National Insurance number (HMRC's Income Tax APIs).
    Nino,
}

impl Capture {
    pub const ALL: [Capture; 1] = [Capture::Nino];

    pub const fn as_str(self) -> &'static str {
        match self {
            Capture::Nino => "nino",
        }
    }
}

impl fmt::Display for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Capture {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Capture::ALL
            .into_iter()
            .find(|capture| capture.as_str() == text)
            .ok_or(())
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
    pub processings: Vec<ProcessingSpec>,
    /// The line where each processing starts.
    pub processing_lines: Vec<u32>,
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
                .or_else(|| start("processings[", &self.processing_lines))
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
