//! Reading and checking one web service of the `web_services` list.

use std::collections::{BTreeMap, HashSet};

use serde_yaml::{Mapping, Value};

use crate::amount::Amount;
use crate::locate::Path;
use crate::placeholders::{is_field_name, placeholders};
use crate::problems::{Problems, closest, describe};
use crate::service::{
    Check, CheckRule, FieldKind, FieldSpec, FraudPrevention, Method, ResponseType, WebServiceSpec,
};
use crate::url_rules::check_url;

const KEYS: [&str; 15] = [
    "name",
    "description",
    "web_application",
    "method",
    "base_url",
    "url",
    "headers",
    "accept",
    "content_type",
    "body_template",
    "success_statuses",
    "response_type",
    "fields",
    "checks",
    "fraud_prevention",
];

/// Headers the sender sets itself; a service may not set or override them.
const RESERVED_HEADERS: [&str; 6] = [
    "authorization",
    "host",
    "content-length",
    "accept",
    "content-type",
    "transfer-encoding",
];

/// A mapping being read, where it is, and where its problems go.
struct Node<'a> {
    map: &'a Mapping,
    path: Path,
    problems: &'a mut Problems,
}

pub(crate) fn read_service(value: &Value, path: &Path, problems: &mut Problems) -> WebServiceSpec {
    let mut spec = WebServiceSpec {
        name: String::new(),
        description: String::new(),
        web_application: String::new(),
        method: Method::Get,
        base_url: None,
        url: String::new(),
        headers: BTreeMap::new(),
        accept: None,
        content_type: None,
        body_template: None,
        body: None,
        success_statuses: vec![200],
        response_type: ResponseType::Json,
        fields: Vec::new(),
        checks: Vec::new(),
        fraud_prevention: None,
    };
    let Value::Mapping(map) = value else {
        problems.at_value(
            path.clone(),
            format!(
                "each web service must be a mapping of fields (`name: ...`, `url: ...`), not {}",
                describe(value)
            ),
        );
        return spec;
    };
    let mut node = Node {
        map,
        path: path.clone(),
        problems,
    };
    node.check_keys(&KEYS, "web service");
    spec.name = node.name();
    spec.description = node.text("description", false).unwrap_or_default();
    spec.web_application = node.text("web_application", true).unwrap_or_default();
    spec.method = node
        .word("method", &Method::ALL, Method::as_str)
        .unwrap_or(Method::Get);
    spec.base_url = node.base_url();
    spec.url = node.url();
    spec.headers = node.headers();
    spec.accept = node.header_value("accept");
    spec.content_type = node.header_value("content_type");
    spec.body_template = node.body_template(spec.method);
    spec.success_statuses = node.statuses();
    spec.response_type = node
        .word("response_type", &ResponseType::ALL, ResponseType::as_str)
        .unwrap_or_default();
    spec.fraud_prevention = node.word(
        "fraud_prevention",
        &FraudPrevention::ALL,
        FraudPrevention::as_str,
    );
    spec.fields = node.fields();
    spec.checks = node.checks(&spec.fields);
    node.check_placeholders(&spec);
    spec
}

impl Node<'_> {
    fn check_keys(&mut self, accepted: &[&str], what: &str) {
        for key in self.map.keys() {
            let Some(key) = key.as_str() else {
                self.problems.at_value(
                    self.path.clone(),
                    format!("a key of this {what} is {}; keys are words", describe(key)),
                );
                continue;
            };
            if accepted.contains(&key) {
                continue;
            }
            let hint = closest(key, accepted)
                .map(|near| format!("did you mean `{near}`? "))
                .unwrap_or_default();
            self.problems.at_key(
                self.path.key(key),
                format!(
                    "unknown key `{key}` in a {what}; {hint}accepted keys are: {}",
                    accepted.join(", ")
                ),
            );
        }
    }

    fn text(&mut self, key: &str, required: bool) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) if required => {
                self.problems
                    .at_value(self.path.key(key), format!("missing `{key}`; fill it in"));
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if required && text.trim().is_empty() => {
                self.problems
                    .at_value(self.path.key(key), format!("`{key}` is blank; fill it in"));
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a string, not {}; put it in quotes",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    fn name(&mut self) -> String {
        let Some(name) = self.text("name", true) else {
            return String::new();
        };
        if name.trim() != name || name.chars().any(char::is_control) || name.chars().count() > 100 {
            self.problems.at_value(
                self.path.key("name"),
                "the name must be at most 100 characters, without control characters or \
                 leading and trailing spaces",
            );
            return String::new();
        }
        name
    }

    /// A word from a closed list, such as a method or a response type.
    fn word<T: Copy>(&mut self, key: &str, all: &[T], word: fn(T) -> &'static str) -> Option<T> {
        let text = match self.map.get(key) {
            None | Some(Value::Null) if key == "method" => {
                self.problems.at_value(
                    self.path.key(key),
                    "missing `method`; write GET, POST, PUT or DELETE",
                );
                return None;
            }
            None | Some(Value::Null) => return None,
            Some(Value::String(text)) => text.as_str(),
            Some(other) => {
                self.problems.at_value(
                    self.path.key(key),
                    format!("`{key}` must be a word, not {}", describe(other)),
                );
                return None;
            }
        };
        if let Some(found) = all.iter().copied().find(|t| word(*t) == text) {
            return Some(found);
        }
        let words: Vec<&str> = all.iter().map(|t| word(*t)).collect();
        let hint = closest(text, &words)
            .or_else(|| words.iter().copied().find(|w| w.eq_ignore_ascii_case(text)))
            .map(|near| format!("did you mean `{near}`? "))
            .unwrap_or_default();
        self.problems.at_value(
            self.path.key(key),
            format!(
                "`{text}` is not accepted for `{key}`; {hint}write one of: {}",
                words.join(", ")
            ),
        );
        None
    }

    fn base_url(&mut self) -> Option<String> {
        let url = self.text("base_url", false)?;
        match check_url(&url) {
            Ok(()) => Some(url),
            Err(message) => {
                self.problems.at_value(self.path.key("base_url"), message);
                None
            }
        }
    }

    fn url(&mut self) -> String {
        let Some(url) = self.text("url", true) else {
            return String::new();
        };
        let problem = if !url.starts_with('/') || url.starts_with("//") {
            "`url` is a path below the web application's base URL and must start with a single \
             `/` (for example `/organisations/vat/{{vrn}}/obligations`); outbound hosts come \
             only from web applications"
        } else if outside_placeholders(&url).any(|c| c.is_whitespace() || c.is_control()) {
            "`url` contains a space or a control character; percent-encode it or use a field"
        } else if outside_placeholders(&url).any(|c| c == '#') {
            "`url` contains a fragment (`#`), which is never sent to a server; remove it"
        } else if url
            .split('?')
            .next()
            .unwrap_or_default()
            .split('/')
            .any(|s| {
                matches!(
                    s.to_ascii_lowercase().replace("%2e", ".").as_str(),
                    "." | ".."
                )
            })
        {
            "`url` contains a `.` or `..` segment, which would remove a part of the path; \
             write the path as it is sent"
        } else {
            return url;
        };
        self.problems.at_value(self.path.key("url"), problem);
        String::new()
    }

    fn headers(&mut self) -> BTreeMap<String, String> {
        let mut headers = BTreeMap::new();
        let map = match self.map.get("headers") {
            None | Some(Value::Null) => return headers,
            Some(Value::Mapping(map)) => map,
            Some(other) => {
                self.problems.at_value(
                    self.path.key("headers"),
                    format!(
                        "`headers` must be a mapping of header names to values, not {}",
                        describe(other)
                    ),
                );
                return headers;
            }
        };
        for (name, value) in map {
            let Some(name) = name.as_str() else {
                self.problems.at_value(
                    self.path.key("headers"),
                    "header names must be words such as `X-Request-Id`",
                );
                continue;
            };
            let at = self.path.key("headers").key(name);
            let lower = name.to_ascii_lowercase();
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                self.problems.at_key(
                    at,
                    format!("`{name}` is not a header name; use letters, digits and `-`"),
                );
            } else if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("gov-") {
                self.problems.at_key(
                    at,
                    format!(
                        "`{name}` is set by emsg itself (the token, Accept, Content-Type and \
                         the fraud-prevention headers); use `accept`, `content_type` or \
                         `fraud_prevention` instead"
                    ),
                );
            } else {
                match value {
                    Value::String(text) if !text.chars().any(char::is_control) => {
                        headers.insert(name.to_owned(), text.clone());
                    }
                    other => self.problems.at_value(
                        at,
                        format!(
                            "the value of header `{name}` must be a string on one line, not {}",
                            describe(other)
                        ),
                    ),
                }
            }
        }
        headers
    }

    fn header_value(&mut self, key: &str) -> Option<String> {
        let value = self.text(key, false)?;
        if value.trim().is_empty() || value.chars().any(char::is_control) {
            self.problems.at_value(
                self.path.key(key),
                format!("`{key}` must be one media type on one line, such as `application/json`"),
            );
            return None;
        }
        Some(value)
    }

    fn body_template(&mut self, method: Method) -> Option<String> {
        let file = self.text("body_template", false)?;
        let problem = if method == Method::Get {
            "a GET request has no body; remove `body_template` or use POST or PUT"
        } else if file.is_empty()
            || file.starts_with('.')
            || !file
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            "`body_template` is a file name under templates/messages/ such as \
             `vat-return.json.hbs`: letters, digits, `.`, `-` and `_`, no folders"
        } else if !file.ends_with(".hbs") {
            "`body_template` must name a Handlebars file ending in `.hbs`"
        } else {
            return Some(file);
        };
        self.problems
            .at_value(self.path.key("body_template"), problem);
        None
    }

    fn statuses(&mut self) -> Vec<u16> {
        let at = self.path.key("success_statuses");
        let list = match self.map.get("success_statuses") {
            None | Some(Value::Null) => return vec![200],
            Some(Value::Sequence(list)) if !list.is_empty() => list,
            Some(other) => {
                self.problems.at_value(
                    at,
                    format!(
                        "`success_statuses` must be a non-empty list of HTTP statuses such as \
                         `[200]` or `[201]`, not {}",
                        describe(other)
                    ),
                );
                return vec![200];
            }
        };
        let mut statuses = Vec::new();
        for (index, item) in list.iter().enumerate() {
            match item.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(status) if (200..300).contains(&status) => statuses.push(status),
                _ => self.problems.at_value(
                    at.index(index),
                    format!(
                        "{} is not a success status; write a 2xx status such as 200 or 201 \
                         (other statuses are reported as business or technical errors)",
                        describe(item)
                    ),
                ),
            }
        }
        statuses
    }

    fn fields(&mut self) -> Vec<FieldSpec> {
        let at = self.path.key("fields");
        let list = match self.map.get("fields") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Sequence(list)) => list,
            Some(other) => {
                self.problems.at_value(
                    at,
                    format!(
                        "`fields` must be a list (`- {{name: vrn, type: vrn}}`), not {}",
                        describe(other)
                    ),
                );
                return Vec::new();
            }
        };
        let mut fields: Vec<FieldSpec> = Vec::new();
        for (index, item) in list.iter().enumerate() {
            let path = at.index(index);
            let Value::Mapping(map) = item else {
                self.problems.at_value(
                    path,
                    format!(
                        "each field is a mapping such as `{{name: vrn, type: vrn}}`, not {}",
                        describe(item)
                    ),
                );
                continue;
            };
            let mut field = Node {
                map,
                path: path.clone(),
                problems: self.problems,
            };
            if let Some(spec) = field.field() {
                if fields.iter().any(|f| f.name == spec.name) {
                    field.problems.at_value(
                        path.key("name"),
                        format!("the field `{}` is declared twice; keep one", spec.name),
                    );
                } else {
                    fields.push(spec);
                }
            }
        }
        fields
    }

    fn field(&mut self) -> Option<FieldSpec> {
        let name = self.text("name", true)?;
        if !is_field_name(&name) {
            self.problems.at_value(
                self.path.key("name"),
                format!(
                    "`{name}` cannot be a field name; use letters, digits and `_`, starting \
                     with a letter (templates refer to it as `{{{{name}}}}`)"
                ),
            );
            return None;
        }
        let label = self.text("label", false).unwrap_or_default();
        let required = self.flag("required").unwrap_or(true);
        let kind_name = self.text("type", true)?;
        let (kind, extra): (FieldKind, &[&str]) = match kind_name.as_str() {
            "text" => (
                FieldKind::Text {
                    max_chars: self.count("max_chars").unwrap_or(200),
                },
                &["max_chars"],
            ),
            "one_of" => (
                FieldKind::OneOf {
                    values: self.words("values")?,
                },
                &["values"],
            ),
            "date" => (FieldKind::Date, &[]),
            "vrn" => (FieldKind::Vrn, &[]),
            "nino" => (FieldKind::Nino, &[]),
            "organisation_number" => (FieldKind::OrganisationNumber, &[]),
            "period_key" => (FieldKind::PeriodKey, &[]),
            "amount" => {
                let min = self.amount("min")?;
                let max = self.amount("max")?;
                if min > max {
                    self.problems.at_value(
                        self.path.key("min"),
                        format!("`min` ({min}) is above `max` ({max}); swap them"),
                    );
                }
                (
                    FieldKind::Amount {
                        min,
                        max,
                        whole_pounds: self.flag("whole_pounds").unwrap_or(false),
                    },
                    &["min", "max", "whole_pounds"],
                )
            }
            "boolean" => (
                FieldKind::Boolean {
                    must_be: self.flag("must_be"),
                },
                &["must_be"],
            ),
            other => {
                let hint = closest(other, &FieldKind::NAMES)
                    .map(|near| format!("did you mean `{near}`? "))
                    .unwrap_or_default();
                self.problems.at_value(
                    self.path.key("type"),
                    format!(
                        "`{other}` is not a field type; {hint}write one of: {}",
                        FieldKind::NAMES.join(", ")
                    ),
                );
                return None;
            }
        };
        let mut accepted = vec!["name", "label", "type", "required"];
        accepted.extend_from_slice(extra);
        self.check_keys(&accepted, &format!("`{kind_name}` field"));
        Some(FieldSpec {
            name,
            label,
            kind,
            required,
        })
    }

    fn flag(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key)? {
            Value::Null => None,
            Value::Bool(value) => Some(*value),
            other => {
                self.problems.at_value(
                    self.path.key(key),
                    format!("`{key}` must be `true` or `false`, not {}", describe(other)),
                );
                None
            }
        }
    }

    fn count(&mut self, key: &str) -> Option<usize> {
        let value = self.map.get(key)?;
        match value.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if (1..=100_000).contains(&n) => Some(n),
            _ => {
                self.problems.at_value(
                    self.path.key(key),
                    format!(
                        "`{key}` must be a whole number from 1 to 100000, not {}",
                        describe(value)
                    ),
                );
                None
            }
        }
    }

    fn words(&mut self, key: &str) -> Option<Vec<String>> {
        let words: Option<Vec<String>> = match self.map.get(key) {
            Some(Value::Sequence(list)) if !list.is_empty() => {
                list.iter().map(|v| v.as_str().map(str::to_owned)).collect()
            }
            _ => None,
        };
        if words.is_none() {
            self.problems.at_value(
                self.path.key(key),
                format!("`{key}` must be a non-empty list of strings, such as `[O, F]`"),
            );
        }
        words
    }

    fn amount(&mut self, key: &str) -> Option<Amount> {
        let parsed = match self.map.get(key) {
            Some(Value::String(text)) => text.parse::<Amount>().map_err(|e| e.to_string()),
            Some(Value::Number(n)) => n.to_string().parse::<Amount>().map_err(|e| e.to_string()),
            Some(other) => Err(format!(
                "`{key}` must be an amount such as `-9999999999999.99`, not {}",
                describe(other)
            )),
            None => Err(format!(
                "missing `{key}`; amount fields need `min` and `max`"
            )),
        };
        parsed
            .map_err(|message| self.problems.at_value(self.path.key(key), message))
            .ok()
    }

    fn checks(&mut self, fields: &[FieldSpec]) -> Vec<Check> {
        let at = self.path.key("checks");
        let list = match self.map.get("checks") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Sequence(list)) => list,
            Some(other) => {
                self.problems.at_value(
                    at,
                    format!("`checks` must be a list, not {}", describe(other)),
                );
                return Vec::new();
            }
        };
        let amounts: HashSet<&str> = fields
            .iter()
            .filter(|f| matches!(f.kind, FieldKind::Amount { .. }))
            .map(|f| f.name.as_str())
            .collect();
        let mut checks = Vec::new();
        for (index, item) in list.iter().enumerate() {
            let path = at.index(index);
            let parsed = serde_yaml::from_value::<Check>(item.clone());
            let check = match parsed {
                Ok(check) => check,
                Err(error) => {
                    self.problems.at_value(
                        path,
                        format!(
                            "a check is `{{field: totalVatDue, equals: sum, of: [vatDueSales, \
                             vatDueAcquisitions]}}` (equals: sum or absolute_difference): {error}"
                        ),
                    );
                    continue;
                }
            };
            for name in std::iter::once(&check.field).chain(&check.of) {
                if !amounts.contains(name.as_str()) {
                    self.problems.at_value(
                        path.clone(),
                        format!("`{name}` is not an amount field of this web service"),
                    );
                }
            }
            let arity_ok = match check.equals {
                CheckRule::Sum => check.of.len() >= 2,
                CheckRule::AbsoluteDifference => check.of.len() == 2,
            };
            if !arity_ok {
                self.problems.at_value(
                    path.key("of"),
                    "`sum` needs two or more fields in `of`; `absolute_difference` exactly two",
                );
            }
            checks.push(check);
        }
        checks
    }

    /// Every `{{field}}` of the URL and the header values must be a declared field.
    fn check_placeholders(&mut self, spec: &WebServiceSpec) {
        let mut places: Vec<(Path, &str)> = vec![(self.path.key("url"), spec.url.as_str())];
        for (name, value) in &spec.headers {
            places.push((self.path.key("headers").key(name), value.as_str()));
        }
        for (path, text) in places {
            if let Err(message) = check_template(text, spec) {
                self.problems.at_value(path, message);
            }
        }
    }
}

/// Checks a template of `spec` (its URL, a header value or its body): the template language
/// and that each field used is declared.
pub(crate) fn check_template(text: &str, spec: &WebServiceSpec) -> Result<(), String> {
    for name in placeholders(text)? {
        if spec.field(&name).is_none() {
            let declared: Vec<&str> = spec.fields.iter().map(|f| f.name.as_str()).collect();
            let hint = closest(&name, &declared)
                .map(|near| format!("did you mean `{near}`? "))
                .unwrap_or_default();
            return Err(format!(
                "`{{{{{name}}}}}` is not a field of this web service; {hint}declare it under \
                 `fields`"
            ));
        }
    }
    Ok(())
}

/// The characters of `text` outside `{{…}}`, where spaces belong to the template language.
fn outside_placeholders(text: &str) -> impl Iterator<Item = char> + '_ {
    let mut depth = 0usize;
    let mut previous = '\0';
    text.chars().filter(move |&c| {
        let keep = depth == 0 && c != '{';
        if c == '{' && previous == '{' {
            depth += 1;
        } else if c == '}' && previous == '}' && depth > 0 {
            depth -= 1;
        }
        previous = c;
        keep || c.is_control()
    })
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}
