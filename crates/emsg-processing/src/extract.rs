//! Where a step finds a value in an answer, and reading it out.

use serde::Deserialize;
use serde_json::Value;

use crate::error::ExtractError;
use crate::response::Response;
use crate::xml_path::XmlPath;

/// Where a value comes from, as written in web-apps.yaml (`{json: /id}`, `{xml: /a/b}`,
/// `{header: Receipt-ID}`, `location`, `{json_item: {…}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Written")]
pub enum Source {
    /// A JSON Pointer (RFC 6901) into a JSON answer: `/id`, `/obligations/0/periodKey`.
    Json(String),
    /// An element path into an XML answer (see [`XmlPath`]).
    Xml(String),
    /// A response header, by name in any case.
    Header(String),
    /// The `Location` header.
    Location,
    /// A member of the element of a JSON list chosen by another member's prefix: Altinn's data
    /// element whose `dataType` starts with the envelope's name, whatever its version.
    JsonItem(JsonItem),
}

/// A source as written: one key of a mapping, or the word `location`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Word(String),
    Map(WrittenMap),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenMap {
    json: Option<String>,
    xml: Option<String>,
    header: Option<String>,
    json_item: Option<JsonItem>,
}

impl TryFrom<Written> for Source {
    type Error = String;

    fn try_from(written: Written) -> Result<Self, String> {
        const EXPECTED: &str = "a source is one of `{json: /pointer}`, `{xml: /element/path}`, `{header: Name}`, `location` or `{json_item: {list, member, starts_with, take}}`";
        match written {
            Written::Word(word) if word == "location" => Ok(Self::Location),
            Written::Word(word) => Err(format!("`{word}`: {EXPECTED}")),
            Written::Map(map) => {
                let mut given = [
                    map.json.map(Self::Json),
                    map.xml.map(Self::Xml),
                    map.header.map(Self::Header),
                    map.json_item.map(Self::JsonItem),
                ]
                .into_iter()
                .flatten();
                match (given.next(), given.next()) {
                    (Some(source), None) => Ok(source),
                    _ => Err(EXPECTED.to_owned()),
                }
            }
        }
    }
}

/// The element of the list at `list` whose `member` starts with `starts_with`; the value at
/// `take` inside it. All three are JSON Pointers; `member` and `take` are relative to the element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonItem {
    pub list: String,
    pub member: String,
    pub starts_with: String,
    pub take: String,
}

impl Source {
    /// Whether the source is well formed; the error says what is wrong, for import messages.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Json(pointer) => check_pointer(pointer),
            Self::Xml(path) => XmlPath::parse(path).map(|_| ()).map_err(|e| e.to_string()),
            Self::Header(name) => {
                if !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                {
                    Ok(())
                } else {
                    Err(format!("`{name}` is not an HTTP header name"))
                }
            }
            Self::Location => Ok(()),
            Self::JsonItem(item) => {
                check_pointer(&item.list)?;
                check_pointer(&item.member)?;
                check_pointer(&item.take)?;
                if item.starts_with.is_empty() {
                    return Err("`starts_with` must not be empty".to_owned());
                }
                Ok(())
            }
        }
    }

    /// The place in words, for errors: `` JSON `/id` ``, `` header `Receipt-ID` ``.
    pub fn place(&self) -> String {
        match self {
            Self::Json(pointer) => format!("JSON `{pointer}`"),
            Self::Xml(path) => format!("XML `{path}`"),
            Self::Header(name) => format!("header `{name}`"),
            Self::Location => "header `Location`".to_owned(),
            Self::JsonItem(item) => format!(
                "JSON `{}` of the element of `{}` whose `{}` starts with `{}`",
                item.take, item.list, item.member, item.starts_with
            ),
        }
    }
}

fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        // `~` must be followed by 0 or 1 (RFC 6901 §3).
        let bytes = pointer.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')) {
                return Err(format!(
                    "`{pointer}` is not a JSON Pointer: `~` must be followed by 0 or 1"
                ));
            }
        }
        Ok(())
    } else {
        Err(format!(
            "`{pointer}` is not a JSON Pointer: it starts with `/` (e.g. `/id`), or is empty for the whole answer"
        ))
    }
}

/// The one value at `source` (the first, where several match).
pub fn extract(source: &Source, response: &Response<'_>) -> Result<String, ExtractError> {
    let mut all = extract_all(source, response)?;
    if all.is_empty() {
        return Err(ExtractError::Missing {
            place: source.place(),
        });
    }
    Ok(all.swap_remove(0))
}

/// Every value at `source`: the elements of a JSON list of values, every matching XML element.
pub fn extract_all(source: &Source, response: &Response<'_>) -> Result<Vec<String>, ExtractError> {
    match source {
        Source::Json(pointer) => {
            let document = json(response, pointer)?;
            let found = document
                .pointer(pointer)
                .ok_or_else(|| ExtractError::Missing {
                    place: source.place(),
                })?;
            match found {
                Value::Array(items) => items
                    .iter()
                    .map(|item| scalar(item, &source.place()))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| v.into_iter().flatten().collect()),
                other => Ok(scalar(other, &source.place())?.into_iter().collect()),
            }
        }
        Source::Xml(path) => {
            let parsed = XmlPath::parse(path).map_err(|e| ExtractError::NotXml {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let text = std::str::from_utf8(response.body).map_err(|_| ExtractError::NotXml {
                path: path.clone(),
                reason: "not UTF-8".to_owned(),
            })?;
            let document = roxmltree::Document::parse(text).map_err(|e| ExtractError::NotXml {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            Ok(parsed.select(&document))
        }
        Source::Header(name) => response
            .header(name)
            .map(|v| vec![v.trim().to_owned()])
            .ok_or_else(|| ExtractError::NoHeader { name: name.clone() }),
        Source::Location => response
            .header("location")
            .map(|v| vec![v.trim().to_owned()])
            .ok_or_else(|| ExtractError::NoHeader {
                name: "Location".to_owned(),
            }),
        Source::JsonItem(item) => {
            let document = json(response, &item.list)?;
            let list = document
                .pointer(&item.list)
                .and_then(Value::as_array)
                .ok_or_else(|| ExtractError::Missing {
                    place: format!("JSON list `{}`", item.list),
                })?;
            let chosen = list.iter().find(|element| {
                element
                    .pointer(&item.member)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with(&item.starts_with))
            });
            let Some(chosen) = chosen else {
                let found: Vec<&str> = list
                    .iter()
                    .filter_map(|e| e.pointer(&item.member).and_then(Value::as_str))
                    .collect();
                return Err(ExtractError::NoListItem {
                    list: item.list.clone(),
                    member: item.member.clone(),
                    prefix: item.starts_with.clone(),
                    found: if found.is_empty() {
                        "none".to_owned()
                    } else {
                        found.join(", ")
                    },
                });
            };
            let value = chosen
                .pointer(&item.take)
                .ok_or_else(|| ExtractError::Missing {
                    place: source.place(),
                })?;
            Ok(scalar(value, &source.place())?.into_iter().collect())
        }
    }
}

fn json(response: &Response<'_>, pointer: &str) -> Result<Value, ExtractError> {
    serde_json::from_slice(response.body).map_err(|e| ExtractError::NotJson {
        pointer: pointer.to_owned(),
        reason: e.to_string(),
    })
}

/// A JSON value as text: strings as they are, numbers and booleans as written, null as absent.
fn scalar(value: &Value, place: &str) -> Result<Option<String>, ExtractError> {
    match value {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Null => Ok(None),
        Value::Array(_) => Err(ExtractError::NotAValue {
            place: place.to_owned(),
            found: "a list",
        }),
        Value::Object(_) => Err(ExtractError::NotAValue {
            place: place.to_owned(),
            found: "an object",
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn answer<'a>(headers: &'a [(String, String)], body: &'a str) -> Response<'a> {
        Response {
            status: 201,
            headers,
            body: body.as_bytes(),
        }
    }

    #[test]
    fn json_pointers_read_strings_numbers_and_lists_of_values() {
        let body = r#"{"obligations":[{"periodKey":"18A1","status":"O"},{"periodKey":"18A2","status":"F"}],"n":3,"keys":["a","b"],"none":null}"#;
        let r = answer(&[], body);
        let key = |p: &str| extract(&Source::Json(p.to_owned()), &r);
        assert_eq!(key("/obligations/0/periodKey").unwrap(), "18A1");
        assert_eq!(key("/n").unwrap(), "3");
        assert_eq!(
            extract_all(&Source::Json("/keys".into()), &r).unwrap(),
            ["a", "b"]
        );
        assert!(matches!(key("/none"), Err(ExtractError::Missing { .. })));
        assert!(matches!(
            key("/obligations"),
            Err(ExtractError::NotAValue {
                found: "an object",
                ..
            })
        ));
        assert!(matches!(key("/missing"), Err(ExtractError::Missing { .. })));
        assert!(matches!(
            extract(&Source::Json("/id".into()), &answer(&[], "<xml/>")),
            Err(ExtractError::NotJson { .. })
        ));
    }

    #[test]
    fn headers_and_location_are_read_by_name_in_any_case() {
        let headers = vec![
            ("receipt-id".to_owned(), " 2a2d5e8b ".to_owned()),
            ("Location".to_owned(), "/instances/1/2".to_owned()),
        ];
        let r = answer(&headers, "");
        assert_eq!(
            extract(&Source::Header("Receipt-ID".into()), &r).unwrap(),
            "2a2d5e8b"
        );
        assert_eq!(extract(&Source::Location, &r).unwrap(), "/instances/1/2");
        let error = extract(&Source::Header("X-CorrelationId".into()), &r).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the answer has no header `X-CorrelationId`"
        );
    }

    #[test]
    fn a_list_element_is_chosen_by_a_members_prefix_and_a_miss_lists_what_was_there() {
        let body = r#"{"data":[{"id":"a","dataType":"ref-data-as-pdf"},{"id":"b","dataType":"no.skatteetaten.fastsetting.avgift.mva.mvameldinginnsending.v1.0"}]}"#;
        let item = |prefix: &str| {
            Source::JsonItem(JsonItem {
                list: "/data".into(),
                member: "/dataType".into(),
                starts_with: prefix.into(),
                take: "/id".into(),
            })
        };
        let r = answer(&[], body);
        assert_eq!(
            extract(
                &item("no.skatteetaten.fastsetting.avgift.mva.mvameldinginnsending"),
                &r
            )
            .unwrap(),
            "b"
        );
        let miss = extract(&item("mvamelding"), &r).unwrap_err().to_string();
        assert!(miss.contains("ref-data-as-pdf, no.skatteetaten"), "{miss}");
    }

    #[test]
    fn sources_are_checked_before_use_with_what_is_wrong() {
        assert!(Source::Json("/a/b".into()).check().is_ok());
        assert!(Source::Json("".into()).check().is_ok());
        assert!(
            Source::Json("a/b".into())
                .check()
                .unwrap_err()
                .contains("starts with `/`")
        );
        assert!(Source::Json("/a~2".into()).check().is_err());
        assert!(Source::Header("Receipt ID".into()).check().is_err());
        assert!(Source::Xml("/a/1".into()).check().is_err());
    }

    #[test]
    fn sources_read_from_yaml_in_the_format_of_web_apps_yaml() {
        let parsed: Vec<Source> = serde_yaml::from_str(
            "- {json: /id}\n- {xml: /valideringsresultat/avvikVedMeldingslevering}\n- {header: Receipt-ID}\n- location\n- {json_item: {list: /data, member: /dataType, starts_with: no.skatteetaten, take: /id}}\n",
        )
        .unwrap();
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed[3], Source::Location);
        assert!(serde_yaml::from_str::<Source>("{json: /id, extra: 1}").is_err());
    }
}
