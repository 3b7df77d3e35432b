//! Reading and checking one record: which keys it may have (from the declaration in
//! [`crate::keys`]), and each field's value.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::lifetime::Lifetime;
use crate::locate::Path;
use crate::model::{Capture, ClientAuth, EXCHANGE, Exchange, Kind};
use crate::params::is_reserved;
use crate::problems::{Problems, closest, describe};
use crate::source::{SecretSource, ValueSource};
use crate::url_rules::{check_redirect_url, check_url};

pub(crate) const MAX_NAME_CHARS: usize = 100;
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The fields of one record and where they are.
pub(crate) struct Record<'a> {
    pub(crate) map: &'a Mapping,
    pub(crate) path: &'a Path,
    pub(crate) problems: &'a mut Problems,
    pub(crate) kind: Kind,
}

impl Record<'_> {
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

    /// A string field that must be present and not null. Absence is reported by
    /// `check_presence`, from the declaration.
    fn required_text(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None => None,
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

    pub(crate) fn name(&mut self) -> String {
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

    pub(crate) fn description(&mut self) -> String {
        let description = self.optional_text("description").unwrap_or_default();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            self.problems.at_value(
                self.path.key("description"),
                format!(
                    "the description is longer than {MAX_DESCRIPTION_CHARS} characters; shorten it"
                ),
            );
        }
        description
    }

    pub(crate) fn required_url(&mut self, key: &str) -> Option<String> {
        let url = self.required_text(key)?;
        self.checked(key, url, check_url)
    }

    pub(crate) fn optional_url(&mut self, key: &str) -> Option<String> {
        let url = self.optional_text(key)?;
        self.checked(key, url, check_url)
    }

    pub(crate) fn redirect_url(&mut self, key: &str) -> Option<String> {
        let url = self.required_text(key)?;
        self.checked(key, url, check_redirect_url)
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

    pub(crate) fn client_id(&mut self, key: &str) -> ValueSource {
        let Some(value) = self.map.get(key) else {
            return ValueSource::Unset;
        };
        ValueSource::from_yaml(value, key).unwrap_or_else(|message| {
            self.problems.at_value(self.path.key(key), message);
            ValueSource::Unset
        })
    }

    pub(crate) fn client_secret(&mut self, key: &str) -> SecretSource {
        let Some(value) = self.map.get(key) else {
            return SecretSource::Unset;
        };
        SecretSource::from_yaml(value, key).unwrap_or_else(|message| {
            self.problems.at_value(self.path.key(key), message);
            SecretSource::Unset
        })
    }

    /// Required and not blank on OAuth records; optional on exchange records, whose token's
    /// scope is the source's.
    pub(crate) fn scope(&mut self, key: &str) -> String {
        if self.kind == Kind::Exchange {
            return self.optional_text(key).unwrap_or_default();
        }
        let Some(scope) = self.required_text(key) else {
            return String::new();
        };
        if scope.trim().is_empty() {
            self.problems.at_value(
                self.path.key(key),
                "the scope is empty; write the scopes to request, separated by spaces \
                 (e.g. `read:vat write:vat`)",
            );
        } else if scope.chars().any(char::is_control) {
            self.problems.at_value(
                self.path.key(key),
                "the scope contains a control character; separate scopes with single spaces",
            );
        }
        scope
    }

    /// `accept` and `content_type` become HTTP header values: no line breaks, not empty.
    pub(crate) fn header_value(&mut self, key: &str) -> Option<String> {
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

    /// Sets `value` from a boolean field; absent or wrong leaves the default.
    pub(crate) fn flag(&mut self, key: &str, value: &mut bool) {
        match self.map.get(key) {
            None => {}
            Some(Value::Bool(written)) => *value = *written,
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be `true` or `false` (without quotes), not {}",
                        describe(other)
                    ),
                );
            }
        }
    }

    pub(crate) fn lifetime(&mut self, key: &str) -> Option<Lifetime> {
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

    /// Authorization codes are short-lived at every provider: 1 minute to 1 hour. Absent or
    /// wrong leaves the default in `value`.
    pub(crate) fn code_lifetime(&mut self, key: &str, value: &mut Lifetime) {
        if matches!(self.map.get(key), Some(Value::Null)) {
            self.problems.at_value(
                self.path.key(key),
                format!("`{key}` has no value; write a duration such as `10m`, or remove the key"),
            );
            return;
        }
        let Some(lifetime) = self.lifetime(key) else {
            return;
        };
        if !(60..=3600).contains(&lifetime.as_secs()) {
            self.problems.at_value(
                self.path.key(key),
                format!(
                    "`{key}` is {lifetime}; it must be between 1m and 1h \
                     (authorization codes live minutes, HMRC's 10m)"
                ),
            );
            return;
        }
        *value = lifetime;
    }

    pub(crate) fn client_auth(&mut self, key: &str) -> ClientAuth {
        let problem = match self.map.get(key) {
            None => return ClientAuth::default(),
            Some(Value::String(text)) => match text.parse() {
                Ok(auth) => return auth,
                Err(error) => format!("{error}"),
            },
            Some(other) => format!(
                "`{key}` must be `client_secret_post` or `client_secret_basic`, not {}",
                describe(other)
            ),
        };
        self.problems.at_value(self.path.key(key), problem);
        ClientAuth::default()
    }

    pub(crate) fn authorization_params(&mut self, key: &str) -> BTreeMap<String, String> {
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
            let Some(name) = self.parameter_name(name, &path, key) else {
                continue;
            };
            let at = path.key(name);
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

    /// A parameter name of `authorization_params` or `parameter_choices` (at `path`, the
    /// mapping of `key`): a string without spaces that the engine does not send itself.
    fn parameter_name<'v>(&mut self, name: &'v Value, path: &Path, key: &str) -> Option<&'v str> {
        let Some(name) = name.as_str() else {
            self.problems.at_value(
                path.clone(),
                format!(
                    "a parameter name is {}; names are strings such as `ui_locales`",
                    describe(name)
                ),
            );
            return None;
        };
        let at = path.key(name);
        if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            self.problems.at_key(
                at,
                "a parameter name is empty or contains spaces; write a name such as `ui_locales`",
            );
            return None;
        }
        if is_reserved(name) {
            self.problems.at_key(
                at,
                format!(
                    "`{name}` is sent by the engine itself (from the record's other fields \
                     or per request); remove it from {key}"
                ),
            );
            return None;
        }
        Some(name)
    }

    /// Per parameter, the values the Get authorization code dialog offers: a non-empty list
    /// of distinct single values (no spaces: each is one option of a choice).
    pub(crate) fn parameter_choices(&mut self, key: &str) -> BTreeMap<String, Vec<String>> {
        let mut choices = BTreeMap::new();
        let map = match self.map.get(key) {
            None => return choices,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a mapping of parameter names to lists of values, e.g. \
                         `{{ui_locales: [nb, nn, en, se]}}`, or `{{}}`; not {}",
                        describe(other)
                    ),
                );
                return choices;
            }
        };
        let path = self.path.key(key);
        for (name, value) in map {
            let Some(name) = self.parameter_name(name, &path, key) else {
                continue;
            };
            let at = path.key(name);
            let Value::Sequence(list) = value else {
                self.problems.at_value(
                    at,
                    format!(
                        "`{key}.{name}` must be a list of values such as `[nb, nn, en, se]`, \
                         not {}",
                        describe(value)
                    ),
                );
                continue;
            };
            if list.is_empty() {
                self.problems.at_value(
                    at,
                    format!(
                        "`{key}.{name}` offers no value; list at least one, or remove `{name}`"
                    ),
                );
                continue;
            }
            let mut values: Vec<String> = Vec::with_capacity(list.len());
            for (index, item) in list.iter().enumerate() {
                let here = at.index(index);
                let problem = match item {
                    Value::String(text)
                        if text.is_empty()
                            || text.chars().any(|c| c.is_control() || c.is_whitespace()) =>
                    {
                        format!(
                            "a value of `{key}.{name}` is empty or contains spaces; each value \
                             is one choice, such as `nb`"
                        )
                    }
                    Value::String(text) if values.contains(text) => {
                        format!("`{text}` is offered twice for `{name}`; keep one")
                    }
                    Value::String(text) => {
                        values.push(text.clone());
                        continue;
                    }
                    other => format!(
                        "a value of `{key}.{name}` must be a string, not {}; put it in quotes \
                         so nothing is converted",
                        describe(other)
                    ),
                };
                self.problems.at_value(here, problem);
            }
            choices.insert(name.to_owned(), values);
        }
        choices
    }

    /// Requests a second, 1 to 1000 (absent: no limit); the edit form's text too.
    pub(crate) fn rate_limit(&mut self, key: &str) -> Option<u32> {
        let written = match self.map.get(key)? {
            Value::Null => return None,
            Value::Number(n) => n.as_u64(),
            Value::String(text) if text.trim().is_empty() => return None,
            Value::String(text) => text.trim().parse::<u64>().ok(),
            _ => None,
        };
        let problem = match written {
            Some(n @ 1..=1000) => return u32::try_from(n).ok(),
            Some(n) => format!(
                "`{key}` is {n}; write the requests a second the provider allows, 1 to 1000 \
                 (HMRC: 3)"
            ),
            None => format!(
                "`{key}` must be a number of requests a second, e.g. `3`, not {}",
                self.map.get(key).map_or_else(String::new, describe)
            ),
        };
        self.problems.at_value(self.path.key(key), problem);
        None
    }

    /// The identifiers a connection captures: a list of known ones, each once.
    pub(crate) fn captures(&mut self, key: &str) -> Vec<Capture> {
        let known: Vec<&str> = Capture::ALL.iter().map(|c| c.as_str()).collect();
        let mut captures = Vec::new();
        let list = match self.map.get(key) {
            None => return captures,
            Some(Value::Sequence(list)) => list,
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a list of identifiers, e.g. `[nino]`, or `[]`; not {}",
                        describe(other)
                    ),
                );
                return captures;
            }
        };
        for (index, item) in list.iter().enumerate() {
            let at = self.path.key(key).index(index);
            let problem = match item {
                Value::String(text) => match text.parse::<Capture>() {
                    Ok(capture) if captures.contains(&capture) => {
                        format!("`{text}` is listed twice in `{key}`; keep one")
                    }
                    Ok(capture) => {
                        captures.push(capture);
                        continue;
                    }
                    Err(()) => {
                        let hint = closest(text, &known)
                            .map(|near| format!("did you mean `{near}`? "))
                            .unwrap_or_default();
                        format!(
                            "`{text}` is not an identifier emsg captures; {hint}it captures: {}",
                            known.join(", ")
                        )
                    }
                },
                other => format!(
                    "an identifier in `{key}` must be a string such as `nino`, not {}",
                    describe(other)
                ),
            };
            self.problems.at_value(at, problem);
        }
        captures
    }

    pub(crate) fn exchange(&mut self) -> Option<Exchange> {
        let path = self.path.key(EXCHANGE);
        let Some(Value::Mapping(map)) = self.map.get(EXCHANGE) else {
            let found = self.map.get(EXCHANGE).map(describe).unwrap_or_default();
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
            kind: self.kind,
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
