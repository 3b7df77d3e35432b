//! Web services: data-driven API calls made through a web application (HMRC VAT obligations,
//! a VAT return, Altinn instance creation…), as written in the `web_services` list.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::amount::Amount;

/// One web service. Its serde form is the file's form, so it is also how the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebServiceSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The web application whose connection (token, Accept, content type, base URL) is used.
    pub web_application: String,
    pub method: Method,
    /// The API host when it is not the web application's base URL (ID-porten's token is used
    /// at Skatteetaten's API host, say).
    #[serde(default)]
    pub base_url: Option<String>,
    /// A path template below the base URL, such as
    /// `/organisations/vat/{{vrn}}/obligations?from={{from}}&to={{to}}`.
    pub url: String,
    /// Extra request headers; values may use `{{field}}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Overrides the web application's Accept.
    #[serde(default)]
    pub accept: Option<String>,
    /// Overrides the web application's content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// A file under `templates/messages/`.
    #[serde(default)]
    pub body_template: Option<String>,
    /// The template's text, read at import; never written to the file.
    #[serde(default, skip_serializing)]
    pub body: Option<String>,
    #[serde(default = "default_success")]
    pub success_statuses: Vec<u16>,
    #[serde(default)]
    pub response_type: ResponseType,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub fraud_prevention: Option<FraudPrevention>,
}

fn default_success() -> Vec<u16> {
    vec![200]
}

impl WebServiceSpec {
    /// The host the service is called at: its own base URL, else its web application's.
    pub fn base_url<'a>(&'a self, web_application_base_url: &'a str) -> &'a str {
        self.base_url.as_deref().unwrap_or(web_application_base_url)
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// How field values are escaped in a body, by its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEscaping {
    /// `application/json`, `…+json`: JSON string contents.
    Json,
    /// `application/xml`, `text/xml`, `…+xml`: XML text.
    Xml,
    /// `application/x-www-form-urlencoded`: each value form-encoded.
    Form,
}

impl BodyEscaping {
    /// The escaping for a content type; `None` when there is none, and then no body template
    /// may be filled with field values (they would go in raw).
    pub fn of(content_type: Option<&str>) -> Option<Self> {
        let media = content_type?
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let (kind, subtype) = media.split_once('/')?;
        if subtype == "json" || subtype.ends_with("+json") {
            Some(Self::Json)
        } else if subtype == "xml" || subtype.ends_with("+xml") {
            Some(Self::Xml)
        } else if kind == "application" && subtype == "x-www-form-urlencoded" {
            Some(Self::Form)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the response body is read for display and for error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseType {
    #[default]
    Json,
    Xml,
    Text,
}

impl ResponseType {
    pub const ALL: [ResponseType; 3] = [ResponseType::Json, ResponseType::Xml, ResponseType::Text];

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseType::Json => "json",
            ResponseType::Xml => "xml",
            ResponseType::Text => "text",
        }
    }
}

/// Which set of fraud-prevention headers a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FraudPrevention {
    /// HMRC's Gov-Client-* / Gov-Vendor-* headers: `WEB_APP_VIA_SERVER` from the admin page,
    /// `BATCH_PROCESS_DIRECT` from the scheduler and the command line.
    Hmrc,
}

impl FraudPrevention {
    pub const ALL: [FraudPrevention; 1] = [FraudPrevention::Hmrc];

    pub fn as_str(self) -> &'static str {
        match self {
            FraudPrevention::Hmrc => "hmrc",
        }
    }
}

/// One input of a message, typed so that it is checked before anything is sent.
/// (No `deny_unknown_fields` here: serde cannot combine it with `flatten`; the file's reader
/// checks the keys itself.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    /// What the admin page shows beside the input.
    #[serde(default)]
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

/// The kinds of message fields and their rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text of at most `max_chars` characters (default 200), no control characters.
    Text {
        #[serde(default = "default_max_chars")]
        max_chars: usize,
    },
    /// One of the listed words.
    OneOf { values: Vec<String> },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A UK VAT registration number: 9 digits (`GB` and spaces are dropped on input).
    Vrn,
    /// A UK National Insurance number (two letters, six digits, suffix A–D).
    Nino,
    /// A Norwegian organisation number: 9 digits with a mod-11 check digit.
    OrganisationNumber,
    /// An HMRC VAT period key: four letters, digits or `#`.
    PeriodKey,
    /// A money amount with at most two decimals, between `min` and `max`; `whole_pounds`
    /// refuses pence.
    Amount {
        min: Amount,
        max: Amount,
        #[serde(default)]
        whole_pounds: bool,
    },
    /// `true` or `false`; `must_be` requires one of them (a return must be `finalised`).
    Boolean {
        #[serde(default)]
        must_be: Option<bool>,
    },
}

fn default_max_chars() -> usize {
    200
}

impl FieldKind {
    pub const NAMES: [&'static str; 9] = [
        "text",
        "one_of",
        "date",
        "vrn",
        "nino",
        "organisation_number",
        "period_key",
        "amount",
        "boolean",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::OneOf { .. } => "one_of",
            FieldKind::Date => "date",
            FieldKind::Vrn => "vrn",
            FieldKind::Nino => "nino",
            FieldKind::OrganisationNumber => "organisation_number",
            FieldKind::PeriodKey => "period_key",
            FieldKind::Amount { .. } => "amount",
            FieldKind::Boolean { .. } => "boolean",
        }
    }
}

/// A rule between amount fields, checked before sending (HMRC refuses a return whose boxes do
/// not add up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub field: String,
    pub equals: CheckRule,
    pub of: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckRule {
    /// `field` = the sum of `of`.
    Sum,
    /// `field` = |of[0] − of[1]|.
    AbsoluteDifference,
}

impl CheckRule {
    pub const ALL: [CheckRule; 2] = [CheckRule::Sum, CheckRule::AbsoluteDifference];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckRule::Sum => "sum",
            CheckRule::AbsoluteDifference => "absolute_difference",
        }
    }
}
