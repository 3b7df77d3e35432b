//! The context one header is checked in, and the structures the specification's getting-it-right
//! page defines for every header: lists, key-value structures, percent encoding, and the ban on
//! placeholder values.

use crate::GETTING_IT_RIGHT_PAGE;
use crate::encoding::{EncodingError, percent_decode};
use crate::finding::Findings;
use crate::header::Header;
use crate::method::ConnectionMethod;
use crate::rules::{self, Rule};

/// One key-value pair, key and value percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    pub key: String,
    pub value: String,
}

/// The pairs of one key-value structure.
pub(crate) type KeyValues = Vec<Pair>;

pub(crate) fn get<'p>(pairs: &'p [Pair], key: &str) -> Option<&'p str> {
    pairs
        .iter()
        .find(|pair| pair.key == key)
        .map(|pair| pair.value.as_str())
}

/// Values that stand in for data the application did not collect. The specification names
/// `null` and `undefined`; the others are their usual siblings.
const PLACEHOLDERS: &[&str] = &[
    "null",
    "undefined",
    "unknown",
    "none",
    "nil",
    "nan",
    "n/a",
    "na",
    "not available",
    "not-available",
    "unavailable",
    "not applicable",
    "placeholder",
    "tbc",
    "todo",
    "-",
    "?",
    "[object object]",
];

pub(crate) fn is_placeholder(value: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    PLACEHOLDERS.contains(&value.as_str())
}

/// Checking one header of one request.
pub(crate) struct Check<'a> {
    pub header: Header,
    pub method: Option<ConnectionMethod>,
    out: &'a mut Findings,
}

impl<'a> Check<'a> {
    pub(crate) fn new(
        header: Header,
        method: Option<ConnectionMethod>,
        out: &'a mut Findings,
    ) -> Self {
        Check {
            header,
            method,
            out,
        }
    }

    /// Reports a rule stated in the header's own partial.
    pub(crate) fn report(&mut self, rule: &Rule, message: impl Into<String>) {
        self.out
            .add(self.header, rule, self.header.partial(), message);
    }

    /// Reports a rule stated on another page of the specification.
    pub(crate) fn report_from(
        &mut self,
        rule: &Rule,
        source: &'static str,
        message: impl Into<String>,
    ) {
        self.out.add(self.header, rule, source, message);
    }

    /// Where the header's percent-encoding rule is written: its partial, or for the screen and
    /// window structures, whose partials do not repeat it, the key-value encoding section.
    fn encoding_source(&self) -> &'static str {
        match self.header {
            Header::Screens | Header::WindowSize => GETTING_IT_RIGHT_PAGE,
            header => header.partial(),
        }
    }

    /// Reports `value` and returns true if it is a placeholder.
    pub(crate) fn placeholder(&mut self, what: &str, value: &str) -> bool {
        if !is_placeholder(value) {
            return false;
        }
        self.report_placeholder(what, value);
        true
    }

    /// Reports `value` as a placeholder: a value a program prints when it has none, such as the
    /// nil UUID or the address 0.0.0.0.
    pub(crate) fn report_placeholder(&mut self, what: &str, value: &str) {
        self.report_from(
            &rules::PLACEHOLDER_VALUE,
            GETTING_IT_RIGHT_PAGE,
            format!(
                "{what} is the placeholder `{value}`; send the real value, or, after explaining \
                 to HMRC why it cannot be collected, an empty one"
            ),
        );
    }

    /// `raw` percent-decoded, or `None` after reporting why it is not percent encoded.
    pub(crate) fn decoded(&mut self, what: &str, raw: &str) -> Option<String> {
        match percent_decode(raw) {
            Ok(decoded) => Some(decoded),
            Err(EncodingError::Raw(c @ ('=' | '&' | ','))) => {
                let source = self.encoding_source();
                self.report_from(
                    &rules::NOT_PERCENT_ENCODED,
                    source,
                    format!(
                        "{what} `{raw}` holds a `{c}` that is not a separator; write it as %{:02X}",
                        c as u32
                    ),
                );
                None
            }
            Err(error) => {
                let source = self.encoding_source();
                self.report_from(
                    &rules::NOT_PERCENT_ENCODED,
                    source,
                    format!("{what} `{raw}` is not percent encoded: {error}"),
                );
                None
            }
        }
    }

    /// The items of a list `<value-1>,<value-2>,…`, or `None` after reporting an empty item.
    pub(crate) fn list<'r>(&mut self, raw: &'r str) -> Option<Vec<&'r str>> {
        let items: Vec<&str> = raw.split(',').collect();
        let empty = items.iter().filter(|item| item.is_empty()).count();
        if empty > 0 {
            self.report_from(
                &rules::LIST_VALUE_EMPTY,
                GETTING_IT_RIGHT_PAGE,
                format!("the list `{raw}` has {empty} empty item(s); drop the extra commas"),
            );
            return None;
        }
        Some(items)
    }

    /// A list item whose separators were percent encoded along with it shows up as one item
    /// that decodes to several.
    pub(crate) fn encoded_list_separator(&mut self, raw: &str, decoded: &str) -> bool {
        if !decoded.contains(',') {
            return false;
        }
        let source = self.encoding_source();
        self.report_from(
            &rules::SEPARATOR_PERCENT_ENCODED,
            source,
            format!(
                "the item `{raw}` decodes to `{decoded}`: the commas between items were percent \
                 encoded; write them as `,`"
            ),
        );
        true
    }

    /// The pairs of a key-value structure `<key-1>=<value-1>&<key-2>=<value-2>&…`, decoded, or
    /// `None` after reporting what is wrong with it.
    pub(crate) fn key_values(&mut self, raw: &str) -> Option<KeyValues> {
        let mut pairs = Vec::new();
        let mut sound = true;
        for pair in raw.split('&') {
            match self.pair(raw, pair) {
                Some(pair) => pairs.push(pair),
                None => sound = false,
            }
        }
        sound.then_some(pairs)
    }

    fn pair(&mut self, structure: &str, pair: &str) -> Option<Pair> {
        let Some((key, value)) = pair.split_once('=') else {
            let lower = pair.to_ascii_lowercase();
            if lower.contains("%3d") || lower.contains("%26") {
                let source = self.encoding_source();
                self.report_from(
                    &rules::SEPARATOR_PERCENT_ENCODED,
                    source,
                    format!(
                        "`{pair}` has no `=`: the separators were percent encoded (%3D, %26); \
                         write them as `=` and `&`"
                    ),
                );
            } else {
                let what = if pair.is_empty() {
                    format!("`{structure}` has an empty pair (a doubled or trailing `&`)")
                } else {
                    format!("`{pair}` in `{structure}` has no `=`")
                };
                self.report_from(
                    &rules::KEY_VALUE_MALFORMED,
                    GETTING_IT_RIGHT_PAGE,
                    format!("{what}; write pairs as <key>=<value> joined by `&`"),
                );
            }
            return None;
        };
        if key.is_empty() {
            self.report_from(
                &rules::KEY_VALUE_MALFORMED,
                GETTING_IT_RIGHT_PAGE,
                format!("`{pair}` in `{structure}` has an empty key"),
            );
            return None;
        }
        let key = self.decoded("the key", key)?;
        let value = self.decoded(&format!("the value of `{key}`"), value)?;
        Some(Pair { key, value })
    }

    /// A list of key-value structures, or `None` after reporting what is wrong with it.
    pub(crate) fn list_of_key_values(&mut self, raw: &str) -> Option<Vec<KeyValues>> {
        let items = self.list(raw)?;
        let mut structures = Vec::new();
        let mut sound = true;
        for item in items {
            match self.key_values(item) {
                Some(pairs) => structures.push(pairs),
                None => sound = false,
            }
        }
        sound.then_some(structures)
    }

    /// Reports every value of `pairs` that is a placeholder; true if any was.
    pub(crate) fn placeholder_values(&mut self, pairs: &[Pair]) -> bool {
        let mut any = false;
        for pair in pairs {
            any |= self.placeholder(&format!("the value of `{}`", pair.key), &pair.value);
        }
        any
    }

    /// Warns about keys outside `known`, which are usually misspellings (`color-depth`).
    pub(crate) fn unknown_fields(&mut self, pairs: &[Pair], known: &[&str]) {
        for pair in pairs {
            if !known.contains(&pair.key.as_str()) {
                self.report(
                    &rules::FIELD_UNKNOWN,
                    format!(
                        "`{}` is not one of the fields {}: check its spelling",
                        pair.key,
                        known.join(", ")
                    ),
                );
            }
        }
    }

    /// The fields of `known` that `pairs` leaves out.
    pub(crate) fn missing_fields<'k>(pairs: &[Pair], known: &[&'k str]) -> Vec<&'k str> {
        known
            .iter()
            .copied()
            .filter(|key| get(pairs, key).is_none())
            .collect()
    }
}
