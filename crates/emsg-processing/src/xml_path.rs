//! Element paths into XML answers: `/valideringsresultat/avvik/avvikKode`, with `*` for any
//! element and a last `@name` for an attribute. Names are matched without their namespace, as
//! Skatteetaten's documents are read by their element names whatever prefix a sender chose.

use std::fmt;

/// A parsed element path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlPath {
    steps: Vec<Step>,
    attribute: Option<String>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Name(String),
    Any,
}

/// A path that is not of the form `/a/b/c`, `/a/*/c` or `/a/b/@c`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlPathError {
    #[error(
        "an element path starts with `/` and names the root element, e.g. `/valideringsresultat/avvikVedMeldingslevering`; got `{0}`"
    )]
    NotAbsolute(String),
    #[error(
        "`{step}` in the element path `{path}` is not an XML name (letters, digits, `-`, `_`, `.`, not starting with a digit, `-` or `.`), `*` or a last `@attribute`"
    )]
    BadStep { path: String, step: String },
}

impl XmlPath {
    pub fn parse(text: &str) -> Result<Self, XmlPathError> {
        let rest = text
            .strip_prefix('/')
            .filter(|r| !r.is_empty())
            .ok_or_else(|| XmlPathError::NotAbsolute(text.to_owned()))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let mut steps = Vec::new();
        let mut attribute = None;
        for (i, part) in parts.iter().enumerate() {
            let bad = || XmlPathError::BadStep {
                path: text.to_owned(),
                step: (*part).to_owned(),
            };
            if let Some(name) = part.strip_prefix('@') {
                if i + 1 != parts.len() || i == 0 || !is_name(name) {
                    return Err(bad());
                }
                attribute = Some(name.to_owned());
            } else if *part == "*" {
                steps.push(Step::Any);
            } else if is_name(part) {
                steps.push(Step::Name((*part).to_owned()));
            } else {
                return Err(bad());
            }
        }
        Ok(Self {
            steps,
            attribute,
            text: text.to_owned(),
        })
    }

    /// The trimmed text (or attribute value) of every match, in document order.
    pub fn select(&self, document: &roxmltree::Document<'_>) -> Vec<String> {
        let mut current = vec![document.root_element()];
        let mut steps = self.steps.iter();
        match steps.next() {
            Some(first) if first.matches(document.root_element()) => {}
            _ => return Vec::new(),
        }
        for step in steps {
            current = current
                .iter()
                .flat_map(|node| node.children().filter(|c| c.is_element()))
                .filter(|child| step.matches(*child))
                .collect();
        }
        current
            .iter()
            .filter_map(|node| match &self.attribute {
                Some(name) => node
                    .attributes()
                    .find(|a| a.name() == name)
                    .map(|a| a.value().trim().to_owned()),
                None => Some(text_of(*node)),
            })
            .collect()
    }
}

impl fmt::Display for XmlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Step {
    fn matches(&self, node: roxmltree::Node<'_, '_>) -> bool {
        match self {
            Self::Any => node.is_element(),
            Self::Name(name) => node.is_element() && node.tag_name().name() == name,
        }
    }
}

fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<v:valideringsresultat xmlns:v="no:skatteetaten:fastsetting:avgift:mva:valideringsresultat:v1">
  <v:avvikVedMeldingslevering>ugyldig skattemelding</v:avvikVedMeldingslevering>
  <v:avvik kind="a"><v:avvikKode>R077</v:avvikKode></v:avvik>
  <v:avvik kind="b"><v:avvikKode>R079</v:avvikKode></v:avvik>
</v:valideringsresultat>"#;

    fn select(path: &str) -> Vec<String> {
        let document = roxmltree::Document::parse(DOC).unwrap();
        XmlPath::parse(path).unwrap().select(&document)
    }

    #[test]
    fn a_path_finds_elements_by_local_name_whatever_their_namespace_prefix() {
        assert_eq!(
            select("/valideringsresultat/avvikVedMeldingslevering"),
            ["ugyldig skattemelding"]
        );
        assert_eq!(
            select("/valideringsresultat/avvik/avvikKode"),
            ["R077", "R079"]
        );
        assert_eq!(select("/valideringsresultat/*/avvikKode"), ["R077", "R079"]);
        assert_eq!(select("/valideringsresultat/avvik/@kind"), ["a", "b"]);
    }

    #[test]
    fn a_path_whose_root_is_another_element_finds_nothing() {
        assert!(select("/kvittering/avvik").is_empty());
        assert!(select("/valideringsresultat/nothing").is_empty());
    }

    #[test]
    fn malformed_paths_are_refused_naming_the_step() {
        assert!(matches!(
            XmlPath::parse("valideringsresultat"),
            Err(XmlPathError::NotAbsolute(_))
        ));
        assert!(matches!(
            XmlPath::parse("/"),
            Err(XmlPathError::NotAbsolute(_))
        ));
        let error = XmlPath::parse("/a/1b/c").unwrap_err();
        assert!(error.to_string().contains("`1b`"), "{error}");
        assert!(
            XmlPath::parse("/a/@b/c").is_err(),
            "an attribute only at the end"
        );
        assert!(XmlPath::parse("/@b").is_err(), "an attribute of an element");
        assert!(XmlPath::parse("/a//b").is_err());
    }
}
