//! Loading a schema: global elements, complex types (sequence, choice, occurrences) and simple
//! types (a base and facets). Anything outside this subset is refused by name.

use std::collections::HashMap;

use roxmltree::{Document, Node};

use crate::builtin::Builtin;
use crate::error::SchemaError;
use crate::pattern::Pattern;

const XSD: &str = "http://www.w3.org/2001/XMLSchema";

/// A loaded schema, ready to check documents with `Schema::validate`.
#[derive(Debug, Clone)]
pub struct Schema {
    pub(crate) target_namespace: Option<String>,
    /// `elementFormDefault="qualified"`: local elements are in the target namespace too.
    pub(crate) qualified: bool,
    pub(crate) elements: HashMap<String, TypeRef>,
    pub(crate) complex: HashMap<String, Particle>,
    pub(crate) simple: HashMap<String, Simple>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeRef {
    Builtin(Builtin),
    Named(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occurs {
    pub(crate) min: u32,
    /// `None`: unbounded.
    pub(crate) max: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) enum Particle {
    Element {
        name: String,
        type_ref: TypeRef,
        occurs: Occurs,
    },
    Sequence(Vec<Particle>, Occurs),
    Choice(Vec<Particle>, Occurs),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Facets {
    pub(crate) enumeration: Vec<String>,
    pub(crate) length: Option<usize>,
    pub(crate) min_length: Option<usize>,
    pub(crate) max_length: Option<usize>,
    pub(crate) patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
pub(crate) struct Simple {
    pub(crate) base: TypeRef,
    pub(crate) facets: Facets,
}

impl Schema {
    /// Loads `text`, refusing what this checker would not check.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let document = Document::parse(text).map_err(|e| SchemaError::NotXml(e.to_string()))?;
        let root = document.root_element();
        if !is_xsd(root, "schema") {
            return Err(SchemaError::NotASchema(root.tag_name().name().to_owned()));
        }
        let mut loader = Loader {
            document: &document,
            anonymous: 0,
            schema: Schema {
                target_namespace: root.attribute("targetNamespace").map(str::to_owned),
                qualified: root.attribute("elementFormDefault") == Some("qualified"),
                elements: HashMap::new(),
                complex: HashMap::new(),
                simple: HashMap::new(),
            },
        };
        for child in root.children().filter(Node::is_element) {
            match child.tag_name().name() {
                "annotation" if is_xsd(child, "annotation") => {}
                "element" => {
                    let name = loader.required(child, "name")?;
                    let type_ref = loader.element_type(child)?;
                    loader.schema.elements.insert(name, type_ref);
                }
                "complexType" => {
                    let name = loader.required(child, "name")?;
                    let content = loader.complex_type(child)?;
                    loader.schema.complex.insert(name, content);
                }
                "simpleType" => {
                    let name = loader.required(child, "name")?;
                    let simple = loader.simple_type(child)?;
                    loader.schema.simple.insert(name, simple);
                }
                _ => return Err(loader.unsupported(child)),
            }
        }
        loader.schema.check_references()?;
        Ok(loader.schema)
    }

    pub(crate) fn simple_type(&self, name: &str) -> Option<&Simple> {
        self.simple.get(name)
    }

    fn check_references(&self) -> Result<(), SchemaError> {
        let mut named: Vec<&str> = self
            .elements
            .values()
            .filter_map(|t| match t {
                TypeRef::Named(n) => Some(n.as_str()),
                TypeRef::Builtin(_) => None,
            })
            .collect();
        for particle in self.complex.values() {
            particle.type_names(&mut named);
        }
        for simple in self.simple.values() {
            if let TypeRef::Named(n) = &simple.base
                && !self.simple.contains_key(n)
            {
                return Err(SchemaError::UnknownType(n.clone()));
            }
        }
        for name in named {
            if !self.complex.contains_key(name) && !self.simple.contains_key(name) {
                return Err(SchemaError::UnknownType(name.to_owned()));
            }
        }
        Ok(())
    }
}

impl Particle {
    fn type_names<'a>(&'a self, into: &mut Vec<&'a str>) {
        match self {
            Self::Element {
                type_ref: TypeRef::Named(n),
                ..
            } => into.push(n),
            Self::Element { .. } => {}
            Self::Sequence(items, _) | Self::Choice(items, _) => {
                for item in items {
                    item.type_names(into);
                }
            }
        }
    }
}

struct Loader<'a, 'input> {
    document: &'a Document<'input>,
    anonymous: usize,
    schema: Schema,
}

impl Loader<'_, '_> {
    fn line(&self, node: Node<'_, '_>) -> u32 {
        self.document.text_pos_at(node.range().start).row
    }

    fn unsupported(&self, node: Node<'_, '_>) -> SchemaError {
        SchemaError::Unsupported {
            line: self.line(node),
            construct: format!("xsd:{}", node.tag_name().name()),
        }
    }

    fn invalid(&self, node: Node<'_, '_>, message: String) -> SchemaError {
        SchemaError::Invalid {
            line: self.line(node),
            message,
        }
    }

    fn required(&self, node: Node<'_, '_>, attribute: &str) -> Result<String, SchemaError> {
        node.attribute(attribute).map(str::to_owned).ok_or_else(|| {
            self.invalid(
                node,
                format!("xsd:{} has no `{attribute}`", node.tag_name().name()),
            )
        })
    }

    /// A `type="…"` reference: `xsd:string` (any prefix bound to XML Schema) or a named type.
    fn type_ref(&self, node: Node<'_, '_>, value: &str) -> Result<TypeRef, SchemaError> {
        let (prefix, local) = match value.split_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, value),
        };
        let namespace = node.lookup_namespace_uri(prefix);
        if namespace == Some(XSD) {
            Builtin::named(local)
                .map(TypeRef::Builtin)
                .ok_or_else(|| SchemaError::Unsupported {
                    line: self.line(node),
                    construct: format!("the built-in type xsd:{local}"),
                })
        } else {
            Ok(TypeRef::Named(local.to_owned()))
        }
    }

    fn element_type(&mut self, node: Node<'_, '_>) -> Result<TypeRef, SchemaError> {
        for attribute in node.attributes() {
            if attribute.namespace().is_none()
                && !matches!(
                    attribute.name(),
                    "name" | "type" | "minOccurs" | "maxOccurs"
                )
            {
                return Err(SchemaError::Unsupported {
                    line: self.line(node),
                    construct: format!("xsd:element's `{}`", attribute.name()),
                });
            }
        }
        if let Some(value) = node.attribute("type") {
            return self.type_ref(node, value);
        }
        for child in node.children().filter(Node::is_element) {
            match child.tag_name().name() {
                "annotation" => {}
                "complexType" => {
                    let name = self.anonymous_name();
                    let content = self.complex_type(child)?;
                    self.schema.complex.insert(name.clone(), content);
                    return Ok(TypeRef::Named(name));
                }
                "simpleType" => {
                    let name = self.anonymous_name();
                    let simple = self.simple_type(child)?;
                    self.schema.simple.insert(name.clone(), simple);
                    return Ok(TypeRef::Named(name));
                }
                _ => return Err(self.unsupported(child)),
            }
        }
        Err(self.invalid(node, "an xsd:element without a type".to_owned()))
    }

    fn anonymous_name(&mut self) -> String {
        self.anonymous += 1;
        // Not a valid XML name, so it never collides with a declared type.
        format!("#anonymous{}", self.anonymous)
    }

    fn complex_type(&mut self, node: Node<'_, '_>) -> Result<Particle, SchemaError> {
        for attribute in node.attributes() {
            if attribute.namespace().is_none() && attribute.name() != "name" {
                return Err(SchemaError::Unsupported {
                    line: self.line(node),
                    construct: format!("xsd:complexType's `{}`", attribute.name()),
                });
            }
        }
        let mut content = None;
        for child in node.children().filter(Node::is_element) {
            match child.tag_name().name() {
                "annotation" => {}
                "sequence" | "choice" if content.is_none() => content = Some(self.group(child)?),
                _ => return Err(self.unsupported(child)),
            }
        }
        Ok(content.unwrap_or(Particle::Sequence(
            Vec::new(),
            Occurs {
                min: 1,
                max: Some(1),
            },
        )))
    }

    fn group(&mut self, node: Node<'_, '_>) -> Result<Particle, SchemaError> {
        let occurs = self.occurs(node)?;
        let mut items = Vec::new();
        for child in node.children().filter(Node::is_element) {
            match child.tag_name().name() {
                "annotation" => {}
                "sequence" | "choice" => items.push(self.group(child)?),
                "element" => {
                    if child.attribute("ref").is_some() {
                        return Err(SchemaError::Unsupported {
                            line: self.line(child),
                            construct: "xsd:element ref=".to_owned(),
                        });
                    }
                    items.push(Particle::Element {
                        name: self.required(child, "name")?,
                        occurs: self.occurs(child)?,
                        type_ref: self.element_type(child)?,
                    });
                }
                _ => return Err(self.unsupported(child)),
            }
        }
        Ok(if node.tag_name().name() == "choice" {
            Particle::Choice(items, occurs)
        } else {
            Particle::Sequence(items, occurs)
        })
    }

    fn occurs(&self, node: Node<'_, '_>) -> Result<Occurs, SchemaError> {
        let number = |name: &str, default: u32| -> Result<Option<u32>, SchemaError> {
            match node.attribute(name) {
                None => Ok(Some(default)),
                Some("unbounded") if name == "maxOccurs" => Ok(None),
                Some(text) => text
                    .parse()
                    .map(Some)
                    .map_err(|_| self.invalid(node, format!("{name}=\"{text}\" is not a count"))),
            }
        };
        Ok(Occurs {
            min: number("minOccurs", 1)?.unwrap_or(1),
            max: number("maxOccurs", 1)?,
        })
    }

    fn simple_type(&mut self, node: Node<'_, '_>) -> Result<Simple, SchemaError> {
        let mut found = None;
        for child in node.children().filter(Node::is_element) {
            match child.tag_name().name() {
                "annotation" => {}
                "restriction" => found = Some(self.restriction(child)?),
                _ => return Err(self.unsupported(child)),
            }
        }
        found.ok_or_else(|| {
            self.invalid(node, "an xsd:simpleType without xsd:restriction".to_owned())
        })
    }

    fn restriction(&mut self, node: Node<'_, '_>) -> Result<Simple, SchemaError> {
        let base = self.required(node, "base")?;
        let base = self.type_ref(node, &base)?;
        let mut facets = Facets::default();
        for child in node.children().filter(Node::is_element) {
            let value = || self.required(child, "value");
            let count = |text: String| {
                text.parse::<usize>()
                    .map_err(|_| self.invalid(child, format!("`{text}` is not a length")))
            };
            match child.tag_name().name() {
                "annotation" => {}
                "enumeration" => facets.enumeration.push(value()?),
                "length" => facets.length = Some(count(value()?)?),
                "minLength" => facets.min_length = Some(count(value()?)?),
                "maxLength" => facets.max_length = Some(count(value()?)?),
                "pattern" => {
                    let text = value()?;
                    let pattern =
                        Pattern::parse(&text).map_err(|reason| SchemaError::Unsupported {
                            line: self.line(child),
                            construct: format!("the pattern `{text}` ({reason})"),
                        })?;
                    facets.patterns.push(pattern);
                }
                _ => return Err(self.unsupported(child)),
            }
        }
        Ok(Simple { base, facets })
    }
}

fn is_xsd(node: Node<'_, '_>, name: &str) -> bool {
    node.tag_name().namespace() == Some(XSD) && node.tag_name().name() == name
}
