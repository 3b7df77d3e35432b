//! Reading and checking one record: which keys it may have, and each field's value.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::lifetime::Lifetime;
use crate::locate::Path;
use crate::model::{
    ClientAuth, Exchange, KEYS, OAUTH_ONLY_KEYS, OAUTH_REQUIRED_KEYS, WebApplicationSpec,
};
use crate::source::{SecretSource, ValueSource};
use crate::url_rules::{check_redirect_url, check_url};
use crate::validate::{Problems, closest, describe};

pub(crate) const MAX_NAME_CHARS: usize = 100;
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1000;
const DEFAULT_CODE_LIFETIME: Lifetime = Lifetime::TEN_MINUTES;

/// Parameters the engine itself sends in every authorization request; letting the file set
/// them would break the flow (or its protection against forged callbacks).
const RESERVED_AUTHORIZATION_PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
];

/// The fields of one record and where they are.
struct Record<'a> {
    map: &'a Mapping,
    path: &'a Path,
    problems: &'a mut Problems,
}

/// Reads one record. Problems are collected in `problems`; the returned spec then holds
/// defaults in place of the bad values and is only used for the checks across records.
pub(crate) fn read_record(
    value: &Value,
    path: &Path,
    problems: &mut Problems,
) -> WebApplicationSpec {
    let Value::Mapping(map) = value else {
        problems.at_value(
            path.clone(),
            format!(
                "each record must be a mapping of fields (`name: ...`, `base_url: ...`), not {}",
                describe(value)
            ),
        );
        return empty_spec();
    };
    let mut record = Record {
        map,
        path,
        problems,
    };
    record.check_keys();
    let name = record.name();
    let base_url = record.required_url("base_url").unwrap_or_default();
    let is_exchange = map.contains_key("exchange");
    if is_exchange {
        record.forbid_oauth_keys();
    } else {
        record.require_oauth_keys();
    }
    let description = record.optional_text("description").unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        record.problems.at_value(
            path.key("description"),
            format!(
                "the description is longer than {MAX_DESCRIPTION_CHARS} characters; shorten it"
            ),
        );
    }
    let mut spec = empty_spec();
    spec.name = name;
    spec.description = description;
    spec.base_url = base_url;
    spec.accept = record.header_value("accept");
    spec.content_type = record.header_value("content_type");
    spec.authorization_lifetime = record.lifetime("authorization_lifetime");
    spec.user_specific = record.boolean("user_specific", false);
    spec.issuer = record.optional_url("issuer");
    if is_exchange {
        spec.exchange = record.exchange();
        spec.scope = record.optional_text("scope").unwrap_or_default();
        return spec;
    }
    spec.authorization_url = record.required_url("authorization_url");
    spec.token_url = record.required_url("token_url");
    spec.revocation_url = record.optional_url("revocation_url");
    spec.redirect_url = record.redirect_url();
    spec.client_id = record.client_id();
    spec.client_secret = record.client_secret();
    spec.scope = record.scope();
    spec.authorization_params = record.authorization_params();
    spec.client_auth = record.client_auth();
    spec.pkce = record.boolean("pkce", true);
    spec.code_lifetime = record.code_lifetime();
    spec.obtain_token_on_callback = record.boolean("obtain_token_on_callback", false);
    spec
}

/// A record with every field at its default; the base for reading and a placeholder after
/// errors.
fn empty_spec() -> WebApplicationSpec {
    WebApplicationSpec {
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
        client_auth: ClientAuth::default(),
        pkce: true,
        accept: None,
        content_type: None,
        code_lifetime: DEFAULT_CODE_LIFETIME,
        authorization_lifetime: None,
        user_specific: false,
        obtain_token_on_callback: false,
        issuer: None,
        exchange: None,
    }
}

impl Record<'_> {
    fn check_keys(&mut self) {
        for key in self.map.keys() {
            let Some(key) = key.as_str() else {
                self.problems.at_value(
                    self.path.clone(),
                    format!(
                        "a key of this record is {}; keys are field names such as `name`",
                        describe(key)
                    ),
                );
                continue;
            };
            if KEYS.contains(&key) {
                continue;
            }
            let hint = if key == "<<" {
                "merge keys (`<<`) are not supported, write each field out; ".to_owned()
            } else if let Some(near) = closest(key, &KEYS) {
                format!("did you mean `{near}`? ")
            } else {
                String::new()
            };
            self.problems.at_key(
                self.path.key(key),
                format!(
                    "unknown key `{key}`; {hint}accepted keys are: {}",
                    KEYS.join(", ")
                ),
            );
        }
    }

    fn forbid_oauth_keys(&mut self) {
        for key in OAUTH_ONLY_KEYS {
            if self.map.contains_key(key) {
                self.problems.at_key(
                    self.path.key(key),
                    format!(
                        "exchange-type records get their token from the source record; \
                         remove `{key}`"
                    ),
                );
            }
        }
    }

    fn require_oauth_keys(&mut self) {
        for key in OAUTH_REQUIRED_KEYS {
            if !self.map.contains_key(key) {
                let hint = match key {
                    "client_id" | "client_secret" => format!(
                        " (write `{key}: null` to type it on the admin page, or \
                         `{key}: {{env: VARIABLE}}`)"
                    ),
                    _ => String::new(),
                };
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "missing `{key}`{hint}; OAuth records (those without `exchange`) need \
                         authorization_url, token_url, redirect_url, client_id, client_secret \
                         and scope"
                    ),
                );
            }
        }
    }

    /// A string field that may be absent or null; other kinds are errors, never converted.
    fn optional_text(&mut self, key: &str) -> Option<String> {
        match self.map.get(key)? {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a string, not {}; put it in quotes if it looks like a \
                         number or a boolean",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// A string field that must be present and not null. Absence was reported already for the
    /// OAuth keys; `name` and `base_url` report it here.
    fn required_text(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None => {
                if !OAUTH_REQUIRED_KEYS.contains(&key) {
                    self.problems.at_value(
                        self.path.key(key),
                        format!("missing `{key}`; every record needs `name` and `base_url`"),
                    );
                }
                None
            }
            Some(Value::Null) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!("`{key}` has no value; fill it in"),
                );
                None
            }
            Some(_) => self.optional_text(key),
        }
    }

    fn name(&mut self) -> String {
        let Some(name) = self.required_text("name") else {
            return String::new();
        };
        let problem = if name.trim().is_empty() {
            Some("the name is blank; give the web application a name".to_owned())
        } else if name.chars().any(char::is_control) {
            Some(
                "the name contains a control character (such as a tab or a line break); remove it"
                    .to_owned(),
            )
        } else if name.trim() != name {
            Some("the name has leading or trailing spaces; remove them".to_owned())
        } else if name.chars().all(|c| c == '.') {
            // `/web-applications/{name}` with `.` or `..` is a path segment that removes itself.
            Some(
                "a name made only of dots cannot be a page's address (`/web-applications/..`); \
                 use a word"
                    .to_owned(),
            )
        } else if name.chars().count() > MAX_NAME_CHARS {
            Some(format!(
                "the name is longer than {MAX_NAME_CHARS} characters; shorten it"
            ))
        } else {
            None
        };
        match problem {
            Some(message) => {
                self.problems.at_value(self.path.key("name"), message);
                String::new()
            }
            None => name,
        }
    }

    fn required_url(&mut self, key: &str) -> Option<String> {
        let url = self.required_text(key)?;
        self.checked(key, url, check_url)
    }

    fn optional_url(&mut self, key: &str) -> Option<String> {
        let url = self.optional_text(key)?;
        self.checked(key, url, check_url)
    }

    fn redirect_url(&mut self) -> Option<String> {
        let url = self.required_text("redirect_url")?;
        self.checked("redirect_url", url, check_redirect_url)
    }

    fn checked(
        &mut self,
        key: &str,
        url: String,
        check: fn(&str) -> Result<(), String>,
    ) -> Option<String> {
        match check(&url) {
            Ok(()) => Some(url),
            Err(message) => {
                self.problems.at_value(self.path.key(key), message);
                None
            }
        }
    }

    fn client_id(&mut self) -> ValueSource {
        let Some(value) = self.map.get("client_id") else {
            return ValueSource::Unset;
        };
        ValueSource::from_yaml(value, "client_id").unwrap_or_else(|message| {
            self.problems.at_value(self.path.key("client_id"), message);
            ValueSource::Unset
        })
    }

    fn client_secret(&mut self) -> SecretSource {
        let Some(value) = self.map.get("client_secret") else {
            return SecretSource::Unset;
        };
        SecretSource::from_yaml(value, "client_secret").unwrap_or_else(|message| {
            self.problems
                .at_value(self.path.key("client_secret"), message);
            SecretSource::Unset
        })
    }

    fn scope(&mut self) -> String {
        let Some(scope) = self.required_text("scope") else {
            return String::new();
        };
        if scope.trim().is_empty() {
            self.problems.at_value(
                self.path.key("scope"),
                "the scope is empty; write the scopes to request, separated by spaces \
                 (e.g. `read:vat write:vat`)",
            );
        } else if scope.chars().any(char::is_control) {
            self.problems.at_value(
                self.path.key("scope"),
                "the scope contains a control character; separate scopes with single spaces",
            );
        }
        scope
    }

    /// `accept` and `content_type` become HTTP header values: no line breaks, not empty.
    fn header_value(&mut self, key: &str) -> Option<String> {
        let value = self.optional_text(key)?;
        let problem = if value.trim().is_empty() {
            "is empty; write a media type such as `application/json`, or `null`"
        } else if value.chars().any(char::is_control) {
            "contains a control character (such as a line break); write a single media type"
        } else {
            return Some(value);
        };
        self.problems
            .at_value(self.path.key(key), format!("`{key}` {problem}"));
        None
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        match self.map.get(key) {
            None => default,
            Some(Value::Bool(value)) => *value,
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be `true` or `false` (without quotes), not {}",
                        describe(other)
                    ),
                );
                default
            }
        }
    }

    fn lifetime(&mut self, key: &str) -> Option<Lifetime> {
        match self.map.get(key)? {
            Value::Null => None,
            Value::String(text) => match Lifetime::parse(text) {
                Ok(lifetime) => Some(lifetime),
                Err(error) => {
                    self.problems
                        .at_value(self.path.key(key), format!("`{key}`: {error}"));
                    None
                }
            },
            other => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a duration with a unit such as `10m`, `4h` or `548d`, \
                         not {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// Authorization codes are short-lived at every provider: 1 minute to 1 hour.
    fn code_lifetime(&mut self) -> Lifetime {
        let key = "code_lifetime";
        if matches!(self.map.get(key), Some(Value::Null)) {
            self.problems.at_value(
                self.path.key(key),
                "`code_lifetime` has no value; write a duration such as `10m`, or remove the key",
            );
            return DEFAULT_CODE_LIFETIME;
        }
        let Some(lifetime) = self.lifetime(key) else {
            return DEFAULT_CODE_LIFETIME;
        };
        if !(60..=3600).contains(&lifetime.as_secs()) {
            self.problems.at_value(
                self.path.key(key),
                format!(
                    "`code_lifetime` is {lifetime}; it must be between 1m and 1h \
                     (authorization codes live minutes, HMRC's 10m)"
                ),
            );
            return DEFAULT_CODE_LIFETIME;
        }
        lifetime
    }

    fn client_auth(&mut self) -> ClientAuth {
        let problem = match self.map.get("client_auth") {
            None => return ClientAuth::default(),
            Some(Value::String(text)) => match text.parse() {
                Ok(auth) => return auth,
                Err(error) => format!("{error}"),
            },
            Some(other) => format!(
                "`client_auth` must be `client_secret_post` or `client_secret_basic`, not {}",
                describe(other)
            ),
        };
        self.problems
            .at_value(self.path.key("client_auth"), problem);
        ClientAuth::default()
    }

    fn authorization_params(&mut self) -> BTreeMap<String, String> {
        let key = "authorization_params";
        let mut params = BTreeMap::new();
        let map = match self.map.get(key) {
            None => return params,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a mapping of names to strings, e.g. \
                         `{{ui_locales: en, acr_values: idporten-loa-substantial}}`, or `{{}}`; \
                         not {}",
                        describe(other)
                    ),
                );
                return params;
            }
        };
        let path = self.path.key(key);
        for (name, value) in map {
            let Some(name) = name.as_str() else {
                self.problems.at_value(
                    path.clone(),
                    format!(
                        "a parameter name is {}; names are strings such as `ui_locales`",
                        describe(name)
                    ),
                );
                continue;
            };
            let at = path.key(name);
            if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
                self.problems.at_key(
                    at,
                    "a parameter name is empty or contains spaces; write a name such as `ui_locales`",
                );
                continue;
            }
            if RESERVED_AUTHORIZATION_PARAMS.contains(&name) {
                self.problems.at_key(
                    at,
                    format!(
                        "`{name}` is sent by the engine itself (from the record's other fields \
                         or per request); remove it from {key}"
                    ),
                );
                continue;
            }
            match value {
                Value::String(text) => {
                    params.insert(name.to_owned(), text.clone());
                }
                other => self.problems.at_value(
                    at,
                    format!(
                        "`{key}.{name}` must be a string, not {}; put the value in quotes so \
                         nothing is converted",
                        describe(other)
                    ),
                ),
            }
        }
        params
    }

    fn exchange(&mut self) -> Option<Exchange> {
        let path = self.path.key("exchange");
        let Some(Value::Mapping(map)) = self.map.get("exchange") else {
            let found = self.map.get("exchange").map(describe).unwrap_or_default();
            self.problems.at_value(
                path,
                format!(
                    "`exchange` must be a mapping `{{source: <name of the OAuth record>, url: \
                     <exchange URL>}}`, not {found}; remove the key for an OAuth record"
                ),
            );
            return None;
        };
        let mut inner = Record {
            map,
            path: &path,
            problems: &mut *self.problems,
        };
        for key in map.keys() {
            let shown = key.as_str().unwrap_or("(not a plain word)");
            if !matches!(shown, "source" | "url") {
                inner.problems.at_key(
                    path.key(shown),
                    format!("unknown key `{shown}` in `exchange`; accepted keys are: source, url"),
                );
            }
        }
        let source = match inner.map.get("source") {
            None => {
                inner.problems.at_value(
                    path.key("source"),
                    "missing `exchange.source`; name the OAuth record whose token is exchanged",
                );
                None
            }
            Some(_) => inner.required_text("source"),
        };
        if source.as_deref().is_some_and(|s| s.trim().is_empty()) {
            inner.problems.at_value(
                path.key("source"),
                "`exchange.source` is blank; name the OAuth record whose token is exchanged",
            );
        }
        let url = match inner.map.get("url") {
            None => {
                inner.problems.at_value(
                    path.key("url"),
                    "missing `exchange.url`; write the URL that exchanges the source token",
                );
                None
            }
            Some(_) => inner.required_url("url"),
        };
        Some(Exchange {
            source: source.unwrap_or_default(),
            url: url.unwrap_or_default(),
        })
    }
}
