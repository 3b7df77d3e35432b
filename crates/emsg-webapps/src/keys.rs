//! The keys of a web-application record, declared once. Each entry says what the key is called
//! in the file, its words on the pages, which kinds of record have it and need it, how it is
//! read from the file, its value (for the export, the comparison and the pages) and how the
//! edit form shows it. The parser, the export, the comparison, the edit form and the record's
//! views all walk [`KEYS`]: a new key is one entry here, its field in [`WebApplicationSpec`],
//! its column in the store, and the code that uses it.

use crate::model::{ClientAuth, EXCHANGE, Kind, WebApplicationSpec};
use crate::record::Record;
use crate::source::{SecretSource, ValueSource};

/// One key of a record.
pub struct Key {
    /// The key as written in the file (`token_url`).
    pub name: &'static str,
    /// Its words on the pages (`Token URL`).
    pub label: &'static str,
    /// One sentence for the edit form: what to write.
    pub help: &'static str,
    /// The kinds of record that may have the key; the others refuse it.
    pub kinds: Kinds,
    /// The kinds of record that must have it.
    pub required: Kinds,
    /// How the edit form shows it.
    pub widget: Widget,
    /// Where an export writes it.
    pub(crate) section: Section,
    /// Reads the key from the record into the spec, reporting what is wrong. Called only for
    /// records of a kind that has the key; the spec holds the defaults before.
    pub(crate) read: fn(&mut Record<'_>, &'static str, &mut WebApplicationSpec),
    /// The value as the file would say it (secrets hidden).
    pub(crate) value: fn(&WebApplicationSpec) -> FieldValue,
    /// For keys that name a host emsg sends requests to (with secrets or tokens): the place
    /// of the URL (`exchange.url`) and the URL when set.
    pub(crate) outbound: Option<Outbound>,
}

impl Key {
    /// The key's value in `spec`, as the file would say it; an inline client secret is
    /// [`FieldValue::Hidden`].
    pub fn value(&self, spec: &WebApplicationSpec) -> FieldValue {
        (self.value)(spec)
    }

    pub fn is_for(&self, kind: Kind) -> bool {
        self.kinds.has(kind)
    }
}

/// The key named `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

/// A set of record kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds {
    oauth: bool,
    exchange: bool,
}

impl Kinds {
    pub const NONE: Kinds = Kinds {
        oauth: false,
        exchange: false,
    };
    pub const EVERY: Kinds = Kinds {
        oauth: true,
        exchange: true,
    };
    pub const OAUTH: Kinds = Kinds {
        oauth: true,
        exchange: false,
    };
    pub const EXCHANGE: Kinds = Kinds {
        oauth: false,
        exchange: true,
    };

    pub fn has(self, kind: Kind) -> bool {
        match kind {
            Kind::OAuth => self.oauth,
            Kind::Exchange => self.exchange,
        }
    }
}

/// How the edit form shows a key, and how its typed text becomes the file's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Widget {
    /// One line of text; blank means the key is left out.
    Line,
    /// Several lines of text.
    Text,
    /// A check box.
    Flag,
    /// One of a few values: each value and its words.
    Choice(&'static [(&'static str, &'static str)]),
    /// A value typed on the page, or the name of the environment variable it comes from.
    Source,
    /// Write-only: a new value typed on the page, or the environment variable it comes from.
    Secret,
    /// `name=value`, one per line (a mapping of strings).
    Pairs,
    /// `name=choice choice …`, one per line (a mapping of lists).
    Lists,
    /// Words separated by spaces (a list).
    Words,
    /// The exchange's source record and URL.
    Exchange,
}

/// Where an export writes a key: what the record is first, then the key that makes it an
/// exchange record, then the rest; each in the order of [`KEYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    Identity,
    Kind,
    Setup,
}

/// An outbound URL of a record.
#[derive(Clone, Copy)]
pub(crate) struct Outbound {
    pub(crate) place: &'static str,
    pub(crate) url: fn(&WebApplicationSpec) -> Option<&str>,
}

/// A key's value as the file says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Null,
    Text(String),
    /// A whole number (`rate_limit: 3`).
    Number(u64),
    Flag(bool),
    /// `{env: VARIABLE}`: read from the environment when imported.
    Env(String),
    /// An inline secret: never written, and two of them compare equal whatever their values.
    Hidden,
    List(Vec<String>),
    /// A mapping, in the order written.
    Map(Vec<(String, FieldValue)>),
}

impl FieldValue {
    fn text(text: &str) -> Self {
        FieldValue::Text(text.to_owned())
    }

    fn optional(text: Option<&str>) -> Self {
        text.map_or(FieldValue::Null, FieldValue::text)
    }

    fn display(value: Option<impl ToString>) -> Self {
        value.map_or(FieldValue::Null, |v| FieldValue::Text(v.to_string()))
    }

    /// The text of a `Text` value, else none.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

const CLIENT_AUTH_CHOICES: [(&str, &str); 2] = [
    (
        ClientAuth::ClientSecretPost.as_str(),
        ClientAuth::ClientSecretPost.words(),
    ),
    (
        ClientAuth::ClientSecretBasic.as_str(),
        ClientAuth::ClientSecretBasic.words(),
    ),
];

/// Every key of a record, in the order of the format: the order of the comparison's report,
/// of the edit form and of the pages (an export moves `exchange` up, see [`Section`]).
pub static KEYS: [Key; 24] = [
    Key {
        name: "name",
        label: "Name",
        help: "Unique, at most 100 characters. Renaming keeps the record's connections.",
        kinds: Kinds::EVERY,
        required: Kinds::EVERY,
        widget: Widget::Line,
        section: Section::Identity,
        read: |r, _, s| s.name = r.name(),
        value: |s| FieldValue::text(&s.name),
        outbound: None,
    },
    Key {
        name: "description",
        label: "Description",
        help: "Optional, at most 1000 characters.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Text,
        section: Section::Identity,
        read: |r, _, s| s.description = r.description(),
        value: |s| FieldValue::text(&s.description),
        outbound: None,
    },
    Key {
        name: "base_url",
        label: "Base URL",
        help: "Root of the provider's API, e.g. https://api.service.hmrc.gov.uk.",
        kinds: Kinds::EVERY,
        required: Kinds::EVERY,
        widget: Widget::Line,
        section: Section::Identity,
        read: |r, k, s| s.base_url = r.required_url(k).unwrap_or_default(),
        value: |s| FieldValue::text(&s.base_url),
        outbound: Some(Outbound {
            place: "base_url",
            url: |s| Some(s.base_url.as_str()),
        }),
    },
    Key {
        name: "authorization_url",
        label: "Authorization URL",
        help: "Where the user's browser is sent to authorize.",
        kinds: Kinds::OAUTH,
        required: Kinds::OAUTH,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.authorization_url = r.required_url(k),
        value: |s| FieldValue::optional(s.authorization_url.as_deref()),
        outbound: Some(Outbound {
            place: "authorization_url",
            url: |s| s.authorization_url.as_deref(),
        }),
    },
    Key {
        name: "token_url",
        label: "Token URL",
        help: "Where codes and refresh tokens are exchanged for tokens.",
        kinds: Kinds::OAUTH,
        required: Kinds::OAUTH,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.token_url = r.required_url(k),
        value: |s| FieldValue::optional(s.token_url.as_deref()),
        outbound: Some(Outbound {
            place: "token_url",
            url: |s| s.token_url.as_deref(),
        }),
    },
    Key {
        name: "revocation_url",
        label: "Revocation URL",
        help: "Optional: leave empty when the provider has none.",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.revocation_url = r.optional_url(k),
        value: |s| FieldValue::optional(s.revocation_url.as_deref()),
        outbound: Some(Outbound {
            place: "revocation_url",
            url: |s| s.revocation_url.as_deref(),
        }),
    },
    Key {
        name: "redirect_url",
        label: "Redirect URL",
        help: "Exactly as registered at the provider.",
        kinds: Kinds::OAUTH,
        required: Kinds::OAUTH,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.redirect_url = r.redirect_url(k),
        value: |s| FieldValue::optional(s.redirect_url.as_deref()),
        outbound: None,
    },
    Key {
        name: "client_id",
        label: "Client ID",
        help: "Blank keeps the stored one.",
        kinds: Kinds::OAUTH,
        required: Kinds::OAUTH,
        widget: Widget::Source,
        section: Section::Setup,
        read: |r, k, s| s.client_id = r.client_id(k),
        value: |s| match &s.client_id {
            ValueSource::Unset => FieldValue::Null,
            ValueSource::Inline(value) => FieldValue::text(value),
            ValueSource::Env { var } => FieldValue::Env(var.clone()),
        },
        outbound: None,
    },
    Key {
        name: "client_secret",
        label: "Client secret",
        help: "Blank keeps the stored secret. It is never shown again.",
        kinds: Kinds::OAUTH,
        required: Kinds::OAUTH,
        widget: Widget::Secret,
        section: Section::Setup,
        read: |r, k, s| s.client_secret = r.client_secret(k),
        value: |s| match &s.client_secret {
            SecretSource::Unset => FieldValue::Null,
            SecretSource::Inline(_) => FieldValue::Hidden,
            SecretSource::Env { var } => FieldValue::Env(var.clone()),
        },
        outbound: None,
    },
    Key {
        name: "scope",
        label: "Scope",
        help: "Scopes separated by spaces.",
        kinds: Kinds::EVERY,
        required: Kinds::OAUTH,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.scope = r.scope(k),
        value: |s| FieldValue::text(&s.scope),
        outbound: None,
    },
    Key {
        name: "authorization_params",
        label: "Authorization parameters",
        help: "One name=value per line, e.g. ui_locales=en.",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Pairs,
        section: Section::Setup,
        read: |r, k, s| s.authorization_params = r.authorization_params(k),
        value: |s| {
            FieldValue::Map(
                s.authorization_params
                    .iter()
                    .map(|(name, value)| (name.clone(), FieldValue::text(value)))
                    .collect(),
            )
        },
        outbound: None,
    },
    Key {
        name: "parameter_choices",
        label: "Parameter choices",
        help: "The values Get authorization code offers for a parameter: one \
               name=choice choice … per line, e.g. ui_locales=nb nn en se.",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Lists,
        section: Section::Setup,
        read: |r, k, s| s.parameter_choices = r.parameter_choices(k),
        value: |s| {
            FieldValue::Map(
                s.parameter_choices
                    .iter()
                    .map(|(name, choices)| (name.clone(), FieldValue::List(choices.clone())))
                    .collect(),
            )
        },
        outbound: None,
    },
    Key {
        name: "client_auth",
        label: "Client authentication",
        help: "How the client authenticates at the token URL.",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Choice(&CLIENT_AUTH_CHOICES),
        section: Section::Setup,
        read: |r, k, s| s.client_auth = r.client_auth(k),
        value: |s| FieldValue::text(s.client_auth.as_str()),
        outbound: None,
    },
    Key {
        name: "pkce",
        label: "PKCE",
        help: "Send a PKCE challenge (S256).",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Flag,
        section: Section::Setup,
        read: |r, k, s| r.flag(k, &mut s.pkce),
        value: |s| FieldValue::Flag(s.pkce),
        outbound: None,
    },
    Key {
        name: "accept",
        label: "Accept",
        help: "The Accept header of API calls, e.g. application/json.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.accept = r.header_value(k),
        value: |s| FieldValue::optional(s.accept.as_deref()),
        outbound: None,
    },
    Key {
        name: "content_type",
        label: "Content type",
        help: "The Content-Type header of API calls.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.content_type = r.header_value(k),
        value: |s| FieldValue::optional(s.content_type.as_deref()),
        outbound: None,
    },
    Key {
        name: "code_lifetime",
        label: "Code lifetime",
        help: "1m to 1h, e.g. 10m.",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| r.code_lifetime(k, &mut s.code_lifetime),
        value: |s| FieldValue::Text(s.code_lifetime.to_string()),
        outbound: None,
    },
    Key {
        name: "authorization_lifetime",
        label: "Authorization lifetime",
        help: "Optional, e.g. 548d or 365d.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.authorization_lifetime = r.lifetime(k),
        value: |s| FieldValue::display(s.authorization_lifetime),
        outbound: None,
    },
    Key {
        name: "user_specific",
        label: "User-specific",
        help: "Each user authorizes for themselves.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Flag,
        section: Section::Setup,
        read: |r, k, s| r.flag(k, &mut s.user_specific),
        value: |s| FieldValue::Flag(s.user_specific),
        outbound: None,
    },
    Key {
        name: "obtain_token_on_callback",
        label: "Obtain token on callback",
        help: "Obtain the token as soon as the code arrives.",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Flag,
        section: Section::Setup,
        read: |r, k, s| r.flag(k, &mut s.obtain_token_on_callback),
        value: |s| FieldValue::Flag(s.obtain_token_on_callback),
        outbound: None,
    },
    Key {
        name: "captures",
        label: "Captures",
        help: "Identifiers a user gives when connecting, separated by spaces: \
               nino (National Insurance number).",
        kinds: Kinds::OAUTH,
        required: Kinds::NONE,
        widget: Widget::Words,
        section: Section::Setup,
        read: |r, k, s| s.captures = r.captures(k),
        value: |s| FieldValue::List(s.captures.iter().map(|c| c.as_str().to_owned()).collect()),
        outbound: None,
    },
    Key {
        name: "rate_limit",
        label: "Rate limit",
        help: "Requests a second the provider allows this application, e.g. 3 for HMRC; \
               records with the same token host and client ID share it.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.rate_limit = r.rate_limit(k),
        value: |s| {
            s.rate_limit
                .map_or(FieldValue::Null, |n| FieldValue::Number(n.into()))
        },
        outbound: None,
    },
    Key {
        name: "issuer",
        label: "Issuer",
        help: "OpenID Connect issuer, optional.",
        kinds: Kinds::EVERY,
        required: Kinds::NONE,
        widget: Widget::Line,
        section: Section::Setup,
        read: |r, k, s| s.issuer = r.optional_url(k),
        value: |s| FieldValue::optional(s.issuer.as_deref()),
        outbound: Some(Outbound {
            place: "issuer",
            url: |s| s.issuer.as_deref(),
        }),
    },
    Key {
        name: EXCHANGE,
        label: "Exchange",
        help: "The OAuth record whose token is exchanged, and the URL that exchanges it.",
        kinds: Kinds::EXCHANGE,
        required: Kinds::EXCHANGE,
        widget: Widget::Exchange,
        section: Section::Kind,
        read: |r, _, s| s.exchange = r.exchange(),
        value: |s| match &s.exchange {
            None => FieldValue::Null,
            Some(exchange) => FieldValue::Map(vec![
                ("source".to_owned(), FieldValue::text(&exchange.source)),
                ("url".to_owned(), FieldValue::text(&exchange.url)),
            ]),
        },
        outbound: Some(Outbound {
            place: "exchange.url",
            url: |s| s.exchange.as_ref().map(|e| e.url.as_str()),
        }),
    },
];

/// The names of the keys, in the order of [`KEYS`].
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|key| key.name)
}

/// The places of the outbound URLs (`token_url`, `exchange.url`), in the order of [`KEYS`].
pub(crate) fn outbound_places() -> impl Iterator<Item = &'static str> {
    KEYS.iter().filter_map(|key| key.outbound.map(|o| o.place))
}

pub(crate) fn outbound_urls(spec: &WebApplicationSpec) -> Vec<(&'static str, &str)> {
    KEYS.iter()
        .filter_map(|key| key.outbound)
        .filter_map(|outbound| (outbound.url)(spec).map(|url| (outbound.place, url)))
        .collect()
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn listed(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl WebApplicationSpec {
    /// The outbound URLs of the record that are set, with their place in the record
    /// (`token_url`, `exchange.url`): every URL emsg sends requests to, with secrets or tokens.
    pub fn outbound_urls(&self) -> Vec<(&'static str, &str)> {
        outbound_urls(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_declared_once() {
        let mut names: Vec<&str> = names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
    }

    #[test]
    fn a_required_key_is_one_its_kinds_may_have() {
        for key in &KEYS {
            for kind in [Kind::OAuth, Kind::Exchange] {
                assert!(
                    !key.required.has(kind) || key.kinds.has(kind),
                    "{}",
                    key.name
                );
            }
        }
    }

    #[test]
    fn outbound_urls_exclude_the_redirect_url() {
        let places: Vec<&str> = outbound_places().collect();
        assert_eq!(
            places,
            [
                "base_url",
                "authorization_url",
                "token_url",
                "revocation_url",
                "issuer",
                "exchange.url"
            ]
        );
    }

    #[test]
    fn lists_read_as_a_sentence() {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(listed(&words(&["a"])), "a");
        assert_eq!(listed(&words(&["a", "b"])), "a and b");
        assert_eq!(listed(&words(&["a", "b", "c"])), "a, b and c");
    }
}
